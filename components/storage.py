"""Storage tier owned by the global stack: per-region access-log buckets and the assets
buckets replicated both ways between the serving regions (R-S3-1…3).

Both replication directions are declared here, in one stack, so neither regional stack
depends on the other (no cycle): regional stacks read bucket names, ARNs and key ARNs
through the contract. Assets keys are single-region CMKs, one per region, owned by this
stack; S3 would treat a multi-region key as single-region anyway, and replication
re-encrypts every replica with the destination region's key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import ReplicationTarget
from components.bucket_policies import (
    access_log_bucket_policy,
    bucket_name,
    lifecycle_rules,
    log_delivery_key_policy,
    replication_role_policy,
    replication_rule,
    tls_only_policy,
)
from components.keys import Keys, KeysArgs
from components.policy_documents import assume_role_policy
from contract import names


def log_delivery_key(
    name: str,
    *,
    account_id: pulumi.Input[str],
    service: str,
    alias: str,
    description: str,
    opts: pulumi.ResourceOptions,
    source_account_condition: bool = True,
) -> aws.kms.Key:
    """A CMK (yearly rotation, 30-day deletion window) a log-delivery service may encrypt with."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=30,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        policy=pulumi.Output.from_input(account_id).apply(
            lambda account: json.dumps(
                log_delivery_key_policy(
                    account, service, source_account_condition=source_account_condition
                )
            )
        ),
        opts=opts,
    )
    aws.kms.Alias(f"{name}-alias", name=alias, target_key_id=key.key_id, opts=opts)
    return key


def kms_encryption(
    name: str, bucket: aws.s3.Bucket, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.s3.BucketServerSideEncryptionConfiguration:
    """Default SSE-KMS with a customer-managed key and S3 Bucket Keys (one data key per bucket
    instead of one KMS call per object)."""
    return aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key_arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=opts,
    )


def expire_logs(
    name: str, bucket: aws.s3.Bucket, days: int, opts: pulumi.ResourceOptions
) -> aws.s3.BucketLifecycleConfiguration:
    """Log objects expire after ``days`` (the stack's log retention), like their log groups."""
    return aws.s3.BucketLifecycleConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {"id": "expire-logs", "status": "Enabled", "filter": {}, "expiration": {"days": days}}
        ],
        opts=opts,
    )


def private_bucket(
    name: str,
    physical_name: pulumi.Input[str],
    *,
    opts: pulumi.ResourceOptions,
    ownership: str = "BucketOwnerEnforced",
) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
    """A bucket with every public access path blocked and the given object ownership
    (``BucketOwnerEnforced`` = ACLs disabled). Returns the bucket and its guard resources
    (which later configuration should depend on)."""
    bucket = aws.s3.Bucket(name, bucket=physical_name, force_destroy=False, opts=opts)
    guards: list[pulumi.Resource] = [
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        ),
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": ownership},
            opts=opts,
        ),
    ]
    return bucket, guards


@dataclass(frozen=True)
class AccessLogBucketsArgs:
    account_id: pulumi.Input[str]
    environment: str
    log_retention_days: int


class AccessLogBuckets(pulumi.ComponentResource):
    """Per region: an S3 server-access-log bucket (``aws.s3.Bucket`` + public access block,
    ACLs disabled, SSE-KMS with its own CMK whose key policy admits the S3 logging service of
    this account, lifecycle expiring logs after ``log_retention_days``, a bucket policy
    admitting only that service, TLS only).

    Attributes: ``names`` (region → bucket name).
    """

    def __init__(
        self,
        name: str,
        args: AccessLogBucketsArgs,
        providers: Mapping[str, pulumi.ProviderResource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:storage:AccessLogBuckets", name, None, opts)
        self.names: dict[str, pulumi.Output[str]] = {}
        for region, provider in providers.items():
            in_region = pulumi.ResourceOptions(parent=self, provider=provider)
            physical = pulumi.Output.from_input(args.account_id).apply(
                lambda account, region=region: bucket_name(
                    args.environment, "access-logs", region, account
                )
            )
            bucket, guards = private_bucket(f"{name}-{region}", physical, opts=in_region)
            key = log_delivery_key(
                f"{name}-{region}-key",
                account_id=args.account_id,
                service="logging.s3.amazonaws.com",
                alias=f"alias/{names.alias_prefix(args.environment)}/access-logs",
                description=f"mobile-backend {args.environment} S3 access logs ({region})",
                opts=in_region,
            )
            kms_encryption(f"{name}-{region}-encryption", bucket, key.arn, in_region)
            expire_logs(f"{name}-{region}-retention", bucket, args.log_retention_days, in_region)
            aws.s3.BucketPolicy(
                f"{name}-{region}-policy",
                bucket=bucket.id,
                policy=pulumi.Output.all(bucket.bucket, args.account_id).apply(
                    lambda v: json.dumps(access_log_bucket_policy(v[0], v[1]))
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=guards),
            )
            self.names[region] = bucket.bucket
        self.register_outputs({"names": self.names})


@dataclass(frozen=True)
class ReplicatedAssetsArgs:
    account_id: pulumi.Input[str]
    environment: str
    # region → name of that region's access-log bucket.
    log_buckets: Mapping[str, pulumi.Input[str]]
    noncurrent_version_days: int
    # Browser origins of the web app, allowed to PUT/GET presigned URLs cross-origin (CORS).
    web_origins: tuple[str, ...] = ()


class ReplicatedAssets(pulumi.ComponentResource):
    """Per serving region: a ``Keys`` component (one ``data``-purpose CMK, alias
    ``alias/mobile-backend/<env>/assets/data``), an assets ``aws.s3.Bucket`` (public access
    block, ACLs disabled, versioning, SSE-KMS with bucket keys, TLS-only policy, access logs,
    R-S3-3 lifecycle, CORS for the web app's origins), and for each bucket an
    ``aws.iam.Role`` + ``RolePolicy`` for S3 replication and an
    ``aws.s3.BucketReplicationConfig`` with one rule per peer region.

    Attributes: ``buckets`` (region → {name, arn}), ``key_arns`` (region → assets key ARN),
    ``replications`` (one ``ReplicationTarget`` per direction: the buckets and rule id S3 puts
    in the replication metrics' dimensions).
    """

    def __init__(
        self,
        name: str,
        args: ReplicatedAssetsArgs,
        providers: Mapping[str, pulumi.ProviderResource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:storage:ReplicatedAssets", name, None, opts)
        regions = list(providers)
        buckets: dict[str, aws.s3.Bucket] = {}
        versioning: dict[str, aws.s3.BucketVersioning] = {}
        self.key_arns: dict[str, pulumi.Output[str]] = {}
        self.replications: list[ReplicationTarget] = []

        for region, provider in providers.items():
            in_region = pulumi.ResourceOptions(parent=self, provider=provider)
            keys = Keys(
                f"{name}-{region}-keys",
                KeysArgs(
                    account_id=args.account_id,
                    region=region,
                    environment=args.environment,
                    alias_prefix=f"{names.alias_prefix(args.environment)}/assets",
                    purposes=("data",),
                ),
                opts=in_region,
            )
            key_arn = keys.arns["data"]
            physical = pulumi.Output.from_input(args.account_id).apply(
                lambda account, region=region: bucket_name(
                    args.environment, "assets", region, account
                )
            )
            bucket, guards = private_bucket(f"{name}-{region}", physical, opts=in_region)
            if args.web_origins:
                aws.s3.BucketCorsConfigurationV2(
                    f"{name}-{region}-cors",
                    bucket=bucket.id,
                    cors_rules=[
                        {
                            "allowed_methods": ["PUT", "GET"],
                            "allowed_origins": list(args.web_origins),
                            "allowed_headers": ["Content-Type"],
                            "max_age_seconds": 300,
                        }
                    ],
                    opts=in_region,
                )
            versioning[region] = aws.s3.BucketVersioning(
                f"{name}-{region}-versioning",
                bucket=bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=in_region,
            )
            kms_encryption(f"{name}-{region}-encryption", bucket, key_arn, in_region)
            aws.s3.BucketPolicy(
                f"{name}-{region}-policy",
                bucket=bucket.id,
                policy=bucket.bucket.apply(lambda b: json.dumps(tls_only_policy(b))),
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=guards),
            )
            aws.s3.BucketLogging(
                f"{name}-{region}-access-logs",
                bucket=bucket.id,
                target_bucket=args.log_buckets[region],
                target_prefix=f"s3/{region}/assets/",
                opts=in_region,
            )
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-{region}-lifecycle",
                bucket=bucket.id,
                rules=lifecycle_rules(args.noncurrent_version_days),
                # Lifecycle rules on a versioned bucket need versioning in place first.
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, depends_on=[versioning[region]]
                ),
            )
            buckets[region] = bucket
            self.key_arns[region] = key_arn

        # Both directions live here; each depends only on the two buckets' versioning, which
        # S3 requires on source and destination before a replication configuration.
        for source in regions:
            peers = [region for region in regions if region != source]
            if not peers:
                continue
            provider = providers[source]
            role = aws.iam.Role(
                f"{name}-{source}-replication-role",
                description=f"S3 replication of the {source} assets bucket to its peers",
                assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                    lambda account: json.dumps(assume_role_policy("s3.amazonaws.com", account))
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
            policy = aws.iam.RolePolicy(
                f"{name}-{source}-replication-policy",
                role=role.id,
                policy=pulumi.Output.all(
                    buckets[source].bucket,
                    self.key_arns[source],
                    [buckets[peer].bucket for peer in peers],
                    [self.key_arns[peer] for peer in peers],
                ).apply(
                    lambda v, source=source, peers=peers: json.dumps(
                        replication_role_policy(
                            source, v[0], v[1], list(zip(peers, v[2], v[3], strict=True))
                        )
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
            rules = [
                replication_rule(peer, buckets[peer].arn, self.key_arns[peer], priority)
                for priority, peer in enumerate(peers, start=1)
            ]
            aws.s3.BucketReplicationConfig(
                f"{name}-{source}-replication",
                bucket=buckets[source].id,
                role=role.arn,
                rules=rules,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=provider,
                    depends_on=[versioning[source], *(versioning[p] for p in peers), policy],
                ),
            )
            self.replications += [
                ReplicationTarget(
                    source_region=source,
                    source_bucket=buckets[source].bucket,
                    destination_region=peer,
                    destination_bucket=buckets[peer].bucket,
                    rule_id=rule["id"],
                )
                for peer, rule in zip(peers, rules, strict=True)
            ]

        self.buckets = {
            region: {"name": bucket.bucket, "arn": bucket.arn} for region, bucket in buckets.items()
        }
        self.register_outputs({"buckets": self.buckets, "key_arns": self.key_arns})
