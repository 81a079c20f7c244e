"""What every stack gives its functions (R-SEC-3): one ``CodeSigning`` in the region and the
region's keys, as a ``FunctionSecurity``. Both the global stack (us-east-1) and each regional
stack build it the same way, here."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.code_signing import CodeSigning, CodeSigningArgs, FunctionSecurity
from settings import Settings


def function_security(
    settings: Settings,
    region: str,
    *,
    account_id: pulumi.Input[str],
    keys: Mapping[str, pulumi.Input[str]],
    access_log_bucket: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> FunctionSecurity:
    """Environments under the region's ``secrets`` key; code signed with the region's profile
    (artifacts under its ``data`` key, access logs into its log bucket), enforced or warned as
    ``codeSigningPolicy`` says."""
    code_signing = CodeSigning(
        "code-signing",
        CodeSigningArgs(
            account_id=account_id,
            environment=settings.environment,
            region=region,
            policy=settings.code_signing_policy,
            key_arn=keys["data"],
            access_log_bucket=access_log_bucket,
            bucket_purpose="artifacts" if settings.role == "regional" else "global-artifacts",
        ),
        opts=opts,
    )
    return FunctionSecurity(environment_key_arn=keys["secrets"], code_signing=code_signing)
