"""The two places the local run enforces what the deployed stack would: one call each.

``install_iam`` runs in every function process before its handler is imported: every AWS call
the process makes (botocore clients, presigned URLs, RDS auth tokens, the event source
mapping's SQS calls in the subscriber's process) is checked against that function's own
synthesized policy statements (``local.iam``) and refused with ``AccessDenied`` naming the
action and resource, as on AWS. ``install_cognito_rules`` runs where moto runs (the
orchestrator) and makes its Cognito refuse the attribute writes the synthesized pool and app
clients forbid (``local.cognito_rules``): ``custom:uid`` is immutable and no app client may
write it, at sign-up or later.

What neither models is listed in those modules' docstrings and in docs/local.md (condition
keys beyond a few, resource policies, KMS key policies, SCPs, ...).
"""

from __future__ import annotations

import sys
from typing import Any

from local.region import LocalFunction, LocalRegion


def role_name(role_arn: str) -> str:
    """``arn:aws:iam::<account>:role/<name>`` → ``<name>`` (mock ARNs end in the name too)."""
    return role_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def install_iam(function: LocalFunction, region: LocalRegion) -> Any:
    """Enforce ``function``'s policy on every AWS call of this process; returns the handle.
    Each refusal is also written to the process's stderr (the backend log) in AWS's words:
    handlers log an error's type only (no PHI), so the log would not say what was refused."""
    from local import iam

    principal = f"{role_name(function.role_arn)}/{function.function_name}"

    def audit(request: Any, decision: Any) -> None:
        if not decision.allowed:
            print(
                f"AccessDenied (local IAM check of {function.function_name}): "
                f"{decision.message(principal)}",
                file=sys.stderr,
                flush=True,
            )

    return iam.enforce(
        iam.PolicyEvaluator(function.statements),
        region=region.region,
        account=region.account,
        role_name=role_name(function.role_arn),
        function_name=function.function_name,
        db_resource_ids=region.database.db_resource_ids,
        encryption_keys=region.encryption_keys,
        audit=audit,
    )


def install_cognito_rules() -> Any:
    """Make the in-process moto Cognito honour pool schemas and client write attributes."""
    from local.cognito_rules import enforce_pool_rules

    return enforce_pool_rules()
