"""After ``pulumi up`` of a regional stack: release each app function's newest published
version on its ``live`` alias through CodeDeploy (R-OPS-1, docs/logic.md "Releases").

``pulumi up`` publishes a version but leaves the alias alone (CodeDeploy owns it,
``components/app_functions.RELEASES_OWN_THE_LIVE_ALIAS``). For each app function whose alias
is behind its newest version, this starts a deployment in the function's own deployment group
(the stack's ``releaseConfig``: a canary in prod, all at once in dev, automatic rollback on the
function's alarms) and waits for it. One function at a time, so a rollback stops the release
before the next function moves. Exit status 1 names the function whose release failed or
rolled back; the ones before it stay released, the ones after it keep their old version.

    python scripts/release.py --region eu-west-1 --environment prod
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contract import names
from contract.functions import APP_FUNCTIONS

DONE = {"Succeeded", "Failed", "Stopped"}
POLL_SECONDS = 15.0
# A prod canary shifts 10 % for 5 minutes; a deployment stuck far beyond that is a failure.
DEADLINE_SECONDS = 30 * 60


class ReleaseError(RuntimeError):
    pass


def newest_version(client: Any, function: str) -> str:
    versions = [
        v["Version"]
        for page in client.get_paginator("list_versions_by_function").paginate(
            FunctionName=function
        )
        for v in page["Versions"]
        if v["Version"] != "$LATEST"
    ]
    if not versions:
        raise ReleaseError(f"{function} has no published version: run pulumi up first")
    return max(versions, key=int)


def app_spec(function: str, current: str, target: str) -> str:
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    names.LIVE_ALIAS: {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": function,
                            "Alias": names.LIVE_ALIAS,
                            "CurrentVersion": current,
                            "TargetVersion": target,
                        },
                    }
                }
            ],
        }
    )


def release(
    lambda_client: Any,
    codedeploy: Any,
    environment: str,
    *,
    functions: Sequence[str] = APP_FUNCTIONS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    out: Callable[[str], None] = print,
) -> list[str]:
    """Release every function whose alias is behind; returns the functions released."""
    released = []
    for fn in functions:
        function = names.function_name(environment, fn)
        current = lambda_client.get_alias(FunctionName=function, Name=names.LIVE_ALIAS)[
            "FunctionVersion"
        ]
        target = newest_version(lambda_client, function)
        if current == target:
            out(f"{function}: version {current} already live")
            continue
        deployment = codedeploy.create_deployment(
            applicationName=names.codedeploy_application_name(environment),
            deploymentGroupName=function,
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": app_spec(function, current, target)},
            },
            description=f"release {function} {current} -> {target}",
        )["deploymentId"]
        out(f"{function}: releasing {current} -> {target} ({deployment})")
        started = clock()
        while True:
            info = codedeploy.get_deployment(deploymentId=deployment)["deploymentInfo"]
            status = info["status"]
            if status in DONE:
                break
            if clock() - started > DEADLINE_SECONDS:
                raise ReleaseError(
                    f"{function}: deployment {deployment} still {status} after "
                    f"{DEADLINE_SECONDS} s; stop it with `aws deploy stop-deployment "
                    f"--deployment-id {deployment} --auto-rollback-enabled`"
                )
            sleep(POLL_SECONDS)
        if status != "Succeeded":
            reason = (info.get("errorInformation") or {}).get("message", "no reason given")
            rolled_back = "rolled back" if info.get("rollbackInfo") else "not rolled back"
            raise ReleaseError(
                f"{function}: deployment {deployment} {status} ({rolled_back}): {reason}"
            )
        out(f"{function}: version {target} live")
        released.append(function)
    return released


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--environment", required=True)
    args = parser.parse_args(argv)
    try:
        release(
            boto3.client("lambda", region_name=args.region),
            boto3.client("codedeploy", region_name=args.region),
            args.environment,
        )
    except ReleaseError as exc:
        print(f"release failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
