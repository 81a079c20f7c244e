"""Aurora Enhanced Monitoring for one region (R-SEC-3; AWS FSBP RDS.6).

Enhanced Monitoring publishes each instance's OS metrics (CPU steal, memory, file system,
process list) through an agent on the host that writes to the region's ``RDSOSMetrics`` log
group with a role RDS assumes. The group is declared here, before any instance reports, so it
is encrypted with the region's logs key and kept for the stack's retention instead of the
unencrypted 30-day group RDS would create. It carries OS metrics and process names, never
query text: the reason that kept it off with Performance Insights (sampled statement text may
carry PHI) concerns Performance Insights only, which stays off (docs/data.md).

``RDSOSMetrics`` is one group per account and region, shared by every RDS instance there: an
account that already has it must import it (docs/data.md, "Monitoring").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.log_group import LogStorage, encrypted_log_group
from components.policy_documents import assume_role_policy

# The group and the AWS managed policy RDS documents for Enhanced Monitoring.
LOG_GROUP = "RDSOSMetrics"
MANAGED_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
# Seconds between OS metric samples (1, 5, 10, 15, 30 or 60): a minute matches the alarms'
# period; finer sampling multiplies the log volume for a tool used during investigations.
INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class EnhancedMonitoringArgs:
    account_id: pulumi.Input[str]
    logs: LogStorage


class EnhancedMonitoring(pulumi.ComponentResource):
    """Creates the ``RDSOSMetrics`` ``aws.cloudwatch.LogGroup`` (KMS, retention), an
    ``aws.iam.Role`` trusted by ``monitoring.rds.amazonaws.com`` of this account and its
    ``RolePolicyAttachment`` of AWS's Enhanced Monitoring policy.

    Attributes: ``role_arn`` (resolves once the group exists, so instances that use it report
    into the declared group), ``interval_seconds``.
    """

    def __init__(
        self, name: str, args: EnhancedMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:data:EnhancedMonitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = encrypted_log_group(
            f"{name}-logs", log_group_name=LOG_GROUP, storage=args.logs, opts=child
        )
        role = aws.iam.Role(
            f"{name}-role",
            description="RDS Enhanced Monitoring publishes OS metrics to RDSOSMetrics",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(
                    assume_role_policy("monitoring.rds.amazonaws.com", account)
                )
            ),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-policy", role=role.name, policy_arn=MANAGED_POLICY_ARN, opts=child
        )
        self.role_arn = pulumi.Output.all(role.arn, group.arn, attachment.id).apply(
            lambda values: values[0]
        )
        self.interval_seconds = INTERVAL_SECONDS
        self.register_outputs({"role_arn": self.role_arn})
