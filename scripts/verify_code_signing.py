"""After ``pulumi up``: check that every function of an environment in a region runs code that
AWS Signer signed, under a code signing config that refuses unsigned code (R-SEC-3).

The deploy workflow runs it after each stack: ``pulumi up`` is what uploads and signs each
artifact (``components/code_signing.py``), and this is the evidence, read back from Lambda,
that what runs is what was signed. For each function named ``mobile-backend-<env>-*``:
the ``live`` alias's version carries a signing job and profile version, and the function's
code signing config allows publishers and enforces (``--allow-warn`` accepts ``Warn``, for
development environments). Exit status 1 and one line per problem otherwise.

    python scripts/verify_code_signing.py --region eu-west-1 --environment prod
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contract import names

ALIAS = names.LIVE_ALIAS


def function_names(client: Any, environment: str) -> list[str]:
    stem = f"{names.prefix(environment)}-"
    found = []
    for page in client.get_paginator("list_functions").paginate():
        found += [
            f["FunctionName"] for f in page["Functions"] if f["FunctionName"].startswith(stem)
        ]
    return sorted(found)


def problems(client: Any, environment: str, *, allow_warn: bool = False) -> list[str]:
    """Every way a function of ``environment`` in the client's region runs unverified code."""
    functions = function_names(client, environment)
    if not functions:
        return [f"no function named {names.prefix(environment)}-* in this region"]
    accepted = {"Enforce", "Warn"} if allow_warn else {"Enforce"}
    out = []
    for function in functions:
        configuration = client.get_function_configuration(FunctionName=function, Qualifier=ALIAS)
        if not configuration.get("SigningJobArn") or not configuration.get(
            "SigningProfileVersionArn"
        ):
            out.append(f"{function}:{ALIAS} runs code no signing job produced")
        arn = client.get_function_code_signing_config(FunctionName=function).get(
            "CodeSigningConfigArn"
        )
        if not arn:
            out.append(f"{function} has no code signing config")
            continue
        config = client.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"]
        if not config["AllowedPublishers"]["SigningProfileVersionArns"]:
            out.append(f"{function}: its code signing config allows no signing profile")
        policy = config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"]
        if policy not in accepted:
            out.append(f"{function}: its code signing config only warns about unsigned code")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--environment", required=True)
    parser.add_argument(
        "--allow-warn", action="store_true", help="accept Warn (development environments)"
    )
    args = parser.parse_args(argv)
    client = boto3.client("lambda", region_name=args.region)
    found = problems(client, args.environment, allow_warn=args.allow_warn)
    for problem in found:
        print(problem, file=sys.stderr)
    if not found:
        print(f"{args.region}: every {names.prefix(args.environment)}-* function runs signed code")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
