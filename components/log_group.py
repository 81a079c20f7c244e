"""The one recipe for a CloudWatch log group (HIPAA 164.312(b), GDPR Art. 5(1)(e)).

Every group a stack declares is encrypted with the region's logs key and keeps its events
for the stack's ``logRetentionDays``. A group is declared before the service that writes to it
(Lambda, API Gateway, WAF, RDS, Route 53, VPC Flow Logs) so the service never creates its own
unencrypted, never-expiring one. The logs key's policy admits CloudWatch Logs of its region
only, so the key must be in the group's region.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class LogStorage:
    """How a region keeps logs: its logs key and the stack's retention (days)."""

    key_arn: pulumi.Input[str]
    retention_days: int


def encrypted_log_group(
    name: str,
    *,
    storage: LogStorage,
    opts: pulumi.ResourceOptions,
    log_group_name: pulumi.Input[str] | None = None,
) -> aws.cloudwatch.LogGroup:
    """Declares ``aws.cloudwatch.LogGroup`` ``name`` (physical name ``log_group_name``, or one
    AWS generates) with the key and retention of ``storage``."""
    return aws.cloudwatch.LogGroup(
        name,
        name=log_group_name,
        retention_in_days=storage.retention_days,
        kms_key_id=storage.key_arn,
        opts=opts,
    )
