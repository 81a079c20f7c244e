"""Bucket naming, bucket and key policies, lifecycle and replication rules for the edge and
storage tiers, as pure functions of plain values (tested without mocks).

Components call these inside ``Output.apply`` once ARNs and account ids are known.
"""

from __future__ import annotations

from typing import Any

from components.policy_documents import PARTITION, account_administers_key, document
from contract import names

# R-S3-3: Standard → Standard-IA → Glacier Instant Retrieval → Glacier Deep Archive, counted
# in days since the object was created (S3 lifecycle never looks at last access).
LIFECYCLE_TRANSITIONS: tuple[tuple[int, str], ...] = (
    (30, "STANDARD_IA"),
    (90, "GLACIER_IR"),
    (180, "DEEP_ARCHIVE"),
)
# S3 Replication Time Control: the only value AWS offers (99.99 % of objects in 15 minutes).
REPLICATION_TIME_MINUTES = 15
# The canonical user of CloudFront's standard-logging delivery (awslogsdelivery), documented
# by AWS for every commercial-partition account.
AWSLOGSDELIVERY_CANONICAL_ID = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"


def bucket_name(environment: str, purpose: str, region: str, account_id: str) -> str:
    """Deterministic, globally unique bucket name (S3 names are global; the account id makes
    them unique). Shortened to the ``mb-`` prefix when the long form exceeds 63 chars."""
    return names.bucket_name(environment, purpose, region, account_id)


def bucket_arn(name: str) -> str:
    return f"arn:{PARTITION}:s3:::{name}"


def deny_insecure_transport(bucket: str) -> dict[str, Any]:
    """Refuse every request that does not use TLS (R-S3-1)."""
    arn = bucket_arn(bucket)
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def tls_only_policy(bucket: str) -> dict[str, Any]:
    return document(deny_insecure_transport(bucket))


def access_log_bucket_policy(bucket: str, account_id: str) -> dict[str, Any]:
    """Server access log delivery (the S3 logging service principal, not ACLs) from buckets
    of this account only, plus TLS-only."""
    return document(
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn(bucket)}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        deny_insecure_transport(bucket),
    )


def web_bucket_policy(bucket: str, distribution_arn: str) -> dict[str, Any]:
    """Only this CloudFront distribution (through Origin Access Control) may read; TLS only."""
    return document(
        {
            "Sid": "CloudFrontOriginAccessControlReadOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn(bucket)}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        },
        deny_insecure_transport(bucket),
    )


def web_key_policy(account_id: str, distribution_arn: str) -> dict[str, Any]:
    """KMS key of a web bucket: OAC fetches SSE-KMS objects as cloudfront.amazonaws.com, so
    the key policy (IAM cannot) must admit it, for this distribution only."""
    return document(
        account_administers_key(account_id),
        {
            "Sid": "CloudFrontDistributionDecryptsWebObjects",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        },
    )


def log_delivery_key_policy(
    account_id: str, service: str, *, source_account_condition: bool = True
) -> dict[str, Any]:
    """KMS key of a log bucket: the delivering AWS service encrypts new log objects as itself
    (``logging.s3.amazonaws.com`` for S3 server access logs, ``delivery.logs.amazonaws.com``
    for CloudFront standard logs), so the key policy must admit it. Pinned to this account
    where the service sends ``aws:SourceAccount``; CloudFront's legacy standard logging is
    documented with the bare service statement, so it gets exactly that."""
    delivery: dict[str, Any] = {
        "Sid": "LogDeliveryEncryptsLogObjects",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
    }
    if source_account_condition:
        delivery["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return document(
        account_administers_key(account_id),
        delivery,
    )


def lifecycle_rules(noncurrent_days: int) -> list[dict[str, Any]]:
    """R-S3-3 lifecycle for an assets bucket (snake_case keys: Pulumi input dicts)."""
    return [
        {
            "id": "tiering-by-age",
            "status": "Enabled",
            "filter": {},
            "transitions": [
                {"days": days, "storage_class": storage_class}
                for days, storage_class in LIFECYCLE_TRANSITIONS
            ],
            # Old versions (overwrites, deletes, GDPR erasure) disappear for good; delete
            # markers left without versions are cleaned up by the rule below.
            "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        },
        {
            "id": "remove-expired-delete-markers",
            "status": "Enabled",
            "filter": {},
            "expiration": {"expired_object_delete_marker": True},
        },
    ]


def replication_rule(
    destination_region: str,
    destination_bucket_arn: str,
    destination_key_arn: str,
    priority: int,
) -> dict[str, Any]:
    """One R-S3-2 rule: everything, delete markers, replica modifications, KMS objects
    re-encrypted with the destination's key, Replication Time Control with metrics."""
    return {
        "id": f"to-{destination_region}",
        "status": "Enabled",
        "priority": priority,
        "filter": {},
        "delete_marker_replication": {"status": "Enabled"},
        "source_selection_criteria": {
            "replica_modifications": {"status": "Enabled"},
            "sse_kms_encrypted_objects": {"status": "Enabled"},
        },
        "destination": {
            "bucket": destination_bucket_arn,
            "storage_class": "STANDARD",
            "encryption_configuration": {"replica_kms_key_id": destination_key_arn},
            "replication_time": {
                "status": "Enabled",
                "time": {"minutes": REPLICATION_TIME_MINUTES},
            },
            "metrics": {
                "status": "Enabled",
                "event_threshold": {"minutes": REPLICATION_TIME_MINUTES},
            },
        },
    }


def _s3_key_condition(region: str, bucket: str) -> dict[str, Any]:
    # With S3 Bucket Keys the encryption context is the bucket ARN, without them the object
    # ARN: admit both, for S3 in that region only.
    arn = bucket_arn(bucket)
    return {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [arn, f"{arn}/*"]},
    }


def replication_role_policy(
    source_region: str,
    source_bucket: str,
    source_key_arn: str,
    destinations: list[tuple[str, str, str]],
) -> dict[str, Any]:
    """Least privilege for S3 replicating ``source_bucket`` to each (region, bucket, key)."""
    source = bucket_arn(source_bucket)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadSourceReplicationConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": source,
        },
        {
            "Sid": "ReadSourceObjectVersions",
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            "Resource": f"{source}/*",
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": [f"{bucket_arn(bucket)}/*" for _, bucket, _ in destinations],
        },
        {
            "Sid": "DecryptSourceObjects",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": source_key_arn,
            "Condition": _s3_key_condition(source_region, source_bucket),
        },
    ]
    for region, bucket, key_arn in destinations:
        statements.append(
            {
                "Sid": f"EncryptReplicasIn{region.replace('-', '').title()}",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": _s3_key_condition(region, bucket),
            }
        )
    return document(*statements)
