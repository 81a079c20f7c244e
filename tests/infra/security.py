"""The region's ``FunctionSecurity`` for tests that synthesize one component alone: a real
``CodeSigning`` in the provider's region and the region's environment key."""

from __future__ import annotations

import pulumi

from components.code_signing import CodeSigning, CodeSigningArgs, FunctionSecurity
from tests.infra.harness import ACCOUNT


def function_security(region: str, provider: pulumi.ProviderResource) -> FunctionSecurity:
    signing = CodeSigning(
        "code-signing",
        CodeSigningArgs(
            account_id=ACCOUNT,
            environment="prod",
            region=region,
            policy="Enforce",
            key_arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/data",
            access_log_bucket=f"access-logs-{region}",
        ),
        opts=pulumi.ResourceOptions(provider=provider),
    )
    return FunctionSecurity(f"arn:aws:kms:{region}:{ACCOUNT}:key/secrets", signing)
