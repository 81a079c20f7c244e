"""Audit trail and security-change alerts (R-OBS-3; HIPAA: audit logs are immutable).

``AuditTrail`` (global stack, us-east-1): one multi-region CloudTrail with log-file
validation, encrypted with a trail key whose policy admits CloudTrail only for this trail,
delivered to CloudWatch Logs and to a versioned, KMS-encrypted, public-access-blocked,
TLS-only bucket with S3 Object Lock in COMPLIANCE mode: for the retention period nobody, the
root user included, can delete or overwrite a log file. Management events everywhere plus
object-level (data) events on the assets buckets it is given.

``SecurityGroupWatch`` (regional): an EventBridge rule that sends any API call changing the
Aurora or RDS Proxy security groups (or the cluster/proxy network settings) to the region's
alarm topic. Such events reach EventBridge only because the trail above records them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alerts import alert_rule
from components.kms import customer_managed_key
from components.log_group import LogStorage, encrypted_log_group
from components.policy_documents import PARTITION, assume_role_policy, document
from components.private_bucket import AccessLogs, Grants, private_bucket
from contract import names

LOCK_MODE = "COMPLIANCE"
GLACIER_IR_AFTER_DAYS = 90
DEEP_ARCHIVE_AFTER_DAYS = 365


def trail_name(environment: str) -> str:
    return names.trail_name(environment)


def trail_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:{PARTITION}:cloudtrail:{region}:{account_id}:trail/{name}"


def trail_key_statements(account_id: str, trail: str) -> list[dict[str, Any]]:
    """CloudTrail may use the key only for our trail, and only with its encryption context."""
    return [
        {
            "Sid": "CloudTrailEncryptsThisTrailsLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:{PARTITION}:cloudtrail:*:{account_id}:trail/*"
                    )
                },
            },
        },
        {
            "Sid": "CloudTrailDescribesKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
    ]


def trail_delivery_statements(bucket_arn: str, account_id: str, trail: str) -> list[dict[str, Any]]:
    """CloudTrail (this trail only) checks the ACL and writes under AWSLogs/<account>/."""
    return [
        {
            "Sid": "CloudTrailChecksAcl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        {
            "Sid": "CloudTrailWritesLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail,
                }
            },
        },
    ]


def delivery_role_policy(log_group_arn: str) -> dict[str, Any]:
    """CloudTrail → CloudWatch Logs: write streams of one log group only."""
    return document(
        {
            "Sid": "DeliverTrailToOneLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:log-stream:*",
        }
    )


def lifecycle_plan(retention_days: int) -> dict[str, Any]:
    """Cheaper storage classes as logs age, deletion once the lock has expired. Transitions
    that would come after the expiry are dropped (S3 refuses them)."""
    transitions = [
        (days, storage)
        for days, storage in (
            (GLACIER_IR_AFTER_DAYS, "GLACIER_IR"),
            (DEEP_ARCHIVE_AFTER_DAYS, "DEEP_ARCHIVE"),
        )
        if days < retention_days
    ]
    # One day past the lock: S3 cannot delete a locked version, and expiring exactly at the
    # lock's end races it.
    return {"transitions": transitions, "expiration_days": retention_days + 1}


def data_event_selectors(bucket_arns: Sequence[str]) -> list[dict[str, Any]]:
    """Advanced selectors: all management events, plus object-level events on the buckets."""
    selectors: list[dict[str, Any]] = [
        {
            "name": "Management events",
            "field_selectors": [{"field": "eventCategory", "equals": ["Management"]}],
        }
    ]
    if bucket_arns:
        selectors.append(
            {
                "name": "Assets object-level events",
                "field_selectors": [
                    {"field": "eventCategory", "equals": ["Data"]},
                    {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                    {"field": "resources.ARN", "starts_withs": [f"{a}/" for a in bucket_arns]},
                ],
            }
        )
    return selectors


@dataclass(frozen=True)
class AuditTrailArgs:
    account_id: pulumi.Input[str]
    # The trail's home region (the global stack's us-east-1); the trail covers all regions.
    region: str
    environment: str
    # CMK admitting CloudWatch Logs in ``region`` (the global stack's edge logs key).
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    # Object Lock retention of every log file (COMPLIANCE mode: cannot be shortened).
    retention_days: int
    # The server-access-log bucket of ``region``, where the audit bucket's access logs go.
    access_log_bucket: pulumi.Input[str]
    # Assets buckets whose object-level reads and writes are audited (edge/storage tier).
    data_event_bucket_arns: Sequence[pulumi.Input[str]] = ()


class AuditTrail(pulumi.ComponentResource):
    """Creates ``aws.kms.Key`` + ``Alias`` (trail key); ``aws.s3.Bucket`` with Object Lock
    and its ``BucketVersioning``, ``BucketServerSideEncryptionConfiguration`` (SSE-KMS, bucket
    key), ``BucketPublicAccessBlock``, ``BucketOwnershipControls``,
    ``BucketObjectLockConfiguration`` (COMPLIANCE), ``BucketLifecycleConfiguration`` and
    ``BucketPolicy``; ``aws.cloudwatch.LogGroup`` + ``aws.iam.Role``/``RolePolicy`` for
    delivery; ``aws.cloudtrail.Trail`` (multi-region, validation, KMS, CloudWatch Logs).

    Attributes: ``trail_arn``, ``bucket_name``, ``key_arn``, ``log_group_name``.
    """

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:security:AuditTrail", name, None, opts)
        if args.retention_days < 1:
            raise ValueError("audit log retention must be at least one day")
        child = pulumi.ResourceOptions(parent=self)
        account = pulumi.Output.from_input(args.account_id)
        trail_physical = trail_name(args.environment)
        # Known before the trail exists, so key and bucket policies can name it (no cycle).
        arn_of_trail = account.apply(lambda a: trail_arn(args.region, a, trail_physical))

        key = customer_managed_key(
            f"{name}-key",
            description=f"mobile-backend {args.environment} CloudTrail log files",
            account_id=account,
            alias=f"alias/{names.alias_prefix(args.environment)}/audit",
            service_statements=lambda account_id: trail_key_statements(
                account_id, trail_arn(args.region, account_id, trail_physical)
            ),
            opts=child,
        )

        plan = lifecycle_plan(args.retention_days)
        audit_bucket = private_bucket(
            f"{name}-bucket",
            account.apply(lambda a: f"{names.prefix(args.environment)}-audit-{a}"),
            key_arn=key.arn,
            lifecycle_rules=[
                {
                    "id": "age-out-audit-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "transitions": [
                        {"days": days, "storage_class": storage}
                        for days, storage in plan["transitions"]
                    ],
                    "expiration": {"days": plan["expiration_days"]},
                    "noncurrent_version_expiration": {"noncurrent_days": plan["expiration_days"]},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            # Server access logs of the audit bucket (who read or tried to change the trail),
            # kept in the log bucket of its region.
            access_logs=AccessLogs(args.access_log_bucket, f"s3/{args.region}/audit/"),
            versioned=True,
            object_lock=True,
            policy=Grants(
                lambda bucket, arn, account_id, trail: trail_delivery_statements(
                    arn, account_id, trail
                ),
                [account, arn_of_trail],
            ),
            # Resource names from before the shared recipe (URNs kept through aliases).
            legacy_names={
                part: f"{name}-{part}"
                for part in ("versioning", "encryption", "public-access", "ownership", "lifecycle")
            },
            opts=child,
        )
        bucket = audit_bucket.bucket
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=LOCK_MODE, days=args.retention_days
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[audit_bucket.versioning]),
        )

        log_group = encrypted_log_group(
            f"{name}-logs",
            log_group_name=f"/aws/cloudtrail/{trail_physical}",
            storage=LogStorage(args.logs_key_arn, args.log_retention_days),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-delivery-role",
            description=f"CloudTrail {trail_physical} delivers to CloudWatch Logs",
            assume_role_policy=account.apply(
                lambda a: json.dumps(assume_role_policy("cloudtrail.amazonaws.com", a))
            ),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-delivery-policy",
            role=role.id,
            policy=log_group.arn.apply(lambda arn: json.dumps(delivery_role_policy(arn))),
            opts=child,
        )

        selectors = pulumi.Output.all(*args.data_event_bucket_arns).apply(
            lambda arns: data_event_selectors(list(arns))
        )
        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_physical,
            s3_bucket_name=bucket.id,
            kms_key_id=key.arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            cloud_watch_logs_group_arn=log_group.arn.apply(lambda arn: f"{arn}:*"),
            cloud_watch_logs_role_arn=role.arn,
            advanced_event_selectors=selectors.apply(
                lambda items: [
                    aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                        name=item["name"],
                        field_selectors=[
                            aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(**f)
                            for f in item["field_selectors"]
                        ],
                    )
                    for item in items
                ]
            ),
            # CloudTrail checks bucket policy, key policy and role when the trail is created.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[audit_bucket.policy, role_policy, key]
            ),
        )

        self.trail_arn = trail.arn
        self.bucket_name = bucket.id
        self.key_arn = key.arn
        self.log_group_name = log_group.name
        self.register_outputs(
            {"trail_arn": self.trail_arn, "bucket_name": self.bucket_name, "key_arn": self.key_arn}
        )


# EC2 calls that change a security group's rules, or remove the group.
SECURITY_GROUP_EVENTS = (
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "ModifySecurityGroupRules",
    "UpdateSecurityGroupRuleDescriptionsIngress",
    "UpdateSecurityGroupRuleDescriptionsEgress",
    "DeleteSecurityGroup",
)
# RDS calls that can swap the groups (or the network) of a cluster or proxy.
DATABASE_NETWORK_EVENTS = ("ModifyDBCluster", "ModifyDBProxy", "DeleteDBProxy")


def security_group_change_pattern(group_ids: Sequence[str]) -> dict[str, Any]:
    ids = list(group_ids)
    return {
        "source": ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["ec2.amazonaws.com"],
            "eventName": list(SECURITY_GROUP_EVENTS),
            # ModifySecurityGroupRules carries the group id in a nested request object.
            "$or": [
                {"requestParameters": {"groupId": ids}},
                {"requestParameters": {"ModifySecurityGroupRulesRequest": {"GroupId": ids}}},
            ],
        },
    }


def database_network_change_pattern(
    cluster_ids: Sequence[str], proxy_names: Sequence[str]
) -> dict[str, Any]:
    alternatives: list[dict[str, Any]] = []
    if cluster_ids:
        alternatives.append({"requestParameters": {"dBClusterIdentifier": list(cluster_ids)}})
    if proxy_names:
        alternatives.append({"requestParameters": {"dBProxyName": list(proxy_names)}})
    return {
        "source": ["aws.rds"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["rds.amazonaws.com"],
            "eventName": list(DATABASE_NETWORK_EVENTS),
            "$or": alternatives,
        },
    }


@dataclass(frozen=True)
class SecurityGroupWatchArgs:
    topic_arn: pulumi.Input[str]
    # The Aurora cluster's and the RDS Proxy's security groups (data tier).
    security_group_ids: Sequence[pulumi.Input[str]]
    cluster_ids: Sequence[pulumi.Input[str]] = ()
    proxy_names: Sequence[pulumi.Input[str]] = ()


class SecurityGroupWatch(pulumi.ComponentResource):
    """Creates ``aws.cloudwatch.EventRule`` (security-group changes) + ``EventTarget`` → alarm
    topic and, when clusters or proxies are named, a second rule for their network changes.

    Attributes: ``rule_arns``.
    """

    def __init__(
        self, name: str, args: SecurityGroupWatchArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:security:SecurityGroupWatch", name, None, opts)
        if not args.security_group_ids:
            raise ValueError("SecurityGroupWatch needs at least one security group id")
        child = pulumi.ResourceOptions(parent=self)
        patterns = {
            "security-groups": (
                "Rule changes on the Aurora / RDS Proxy security groups",
                pulumi.Output.all(*args.security_group_ids).apply(
                    lambda ids: json.dumps(security_group_change_pattern(ids))
                ),
            )
        }
        if args.cluster_ids or args.proxy_names:
            patterns["database-network"] = (
                "Network/security-group changes of the Aurora cluster or RDS Proxy",
                pulumi.Output.all(list(args.cluster_ids), list(args.proxy_names)).apply(
                    lambda v: json.dumps(database_network_change_pattern(v[0], v[1]))
                ),
            )
        self.rule_arns: dict[str, pulumi.Output[str]] = {}
        for key, (description, pattern) in patterns.items():
            rule = alert_rule(
                f"{name}-{key}",
                description=description,
                pattern=pattern,
                topic_arn=args.topic_arn,
                opts=child,
            )
            self.rule_arns[key] = rule.arn
        self.register_outputs({"rule_arns": self.rule_arns})
