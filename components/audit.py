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

from components.policy_documents import (
    PARTITION,
    account_administers_key,
    assume_role_policy,
    document,
)
from contract import names

LOCK_MODE = "COMPLIANCE"
GLACIER_IR_AFTER_DAYS = 90
DEEP_ARCHIVE_AFTER_DAYS = 365
TRAIL_KEY_DELETION_WINDOW_DAYS = 30


def trail_name(environment: str) -> str:
    return names.trail_name(environment)


def trail_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:{PARTITION}:cloudtrail:{region}:{account_id}:trail/{name}"


def trail_key_policy(account_id: str, trail: str) -> dict[str, Any]:
    """CloudTrail may use the key only for our trail, and only with its encryption context."""
    return document(
        account_administers_key(account_id),
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
    )


def audit_bucket_policy(bucket_arn: str, account_id: str, trail: str) -> dict[str, Any]:
    """CloudTrail (this trail only) checks the ACL and writes under AWSLogs/<account>/;
    nothing reaches the bucket without TLS."""
    return document(
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
        {
            "Sid": "DenyPlaintextTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


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

        key = aws.kms.Key(
            f"{name}-key",
            description=f"mobile-backend {args.environment} CloudTrail log files",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=TRAIL_KEY_DELETION_WINDOW_DAYS,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=pulumi.Output.all(account, arn_of_trail).apply(
                lambda v: json.dumps(trail_key_policy(v[0], v[1]))
            ),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{names.alias_prefix(args.environment)}/audit",
            target_key_id=key.key_id,
            opts=child,
        )

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=account.apply(lambda a: f"{names.prefix(args.environment)}-audit-{a}"),
            # Object Lock can only be switched on when the bucket is created.
            object_lock_enabled=True,
            force_destroy=False,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=LOCK_MODE, days=args.retention_days
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        plan = lifecycle_plan(args.retention_days)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="age-out-audit-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=days, storage_class=storage
                        )
                        for days, storage in plan["transitions"]
                    ],
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=plan["expiration_days"]
                    ),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=plan["expiration_days"]
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        bucket_policy = aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account, arn_of_trail).apply(
                lambda v: json.dumps(audit_bucket_policy(v[0], v[1], v[2]))
            ),
            # A policy applied before the public access block could be judged public.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/cloudtrail/{trail_physical}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket_policy, role_policy, key]),
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
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}",
                description=description,
                event_pattern=pattern,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{key}-target",
                rule=rule.name,
                arn=args.topic_arn,
                opts=child,
            )
            self.rule_arns[key] = rule.arn
        self.register_outputs({"rule_arns": self.rule_arns})
