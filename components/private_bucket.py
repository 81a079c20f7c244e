"""The one recipe for an S3 bucket (R-S3-1; AWS FSBP S3.5, S3.8, S3.9, S3.13, S3.17).

Every bucket here is private: all four public-access blocks, the object ownership the caller
names (``BucketOwnerEnforced``, ACLs off, unless a log delivery still needs ACLs), default
SSE-KMS with a customer-managed key and S3 Bucket Keys, a bucket policy that refuses plaintext
transport (plus whatever service grants the caller adds), server access logs into the region's
log bucket (except for the log buckets themselves), optional versioning, and a lifecycle that
always aborts incomplete multipart uploads after ``ABORT_MULTIPART_DAYS`` (their parts are
billed and invisible to listings otherwise).

``private_bucket`` declares the resources as children of the caller, named
``<name>-<part>``. Callers that used other names pass ``legacy_names`` (part → old name), which
become Pulumi aliases so that adopting the recipe replaced nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.bucket_policies import bucket_arn
from components.policy_documents import deny_insecure_transport, document

ABORT_MULTIPART_DAYS = 7
ABORT_MULTIPART_RULE = "abort-incomplete-multipart-uploads"


@dataclass(frozen=True)
class Grants:
    """The bucket policy's statements besides the TLS-only one: ``render(bucket name, bucket
    ARN, *inputs)`` once ``inputs`` (ARNs, the account id) are known."""

    render: Callable[..., Sequence[dict[str, Any]]]
    inputs: Sequence[pulumi.Input[Any]] = ()


NO_GRANTS = Grants(lambda bucket, arn: ())


def bucket_policy_document(name: str, statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``statements``, then the statement refusing plaintext on the bucket and its objects."""
    arn = bucket_arn(name)
    return document(*statements, deny_insecure_transport("s3:*", [arn, f"{arn}/*"]))


def with_abort_multipart(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Lifecycle rules (Pulumi snake_case dicts) of which at least one enabled, unfiltered
    rule aborts incomplete multipart uploads; a rule doing only that is added if none does."""
    out = [dict(rule) for rule in rules]
    if not any(
        rule.get("status") == "Enabled" and rule.get("abort_incomplete_multipart_upload")
        for rule in out
    ):
        out.append(
            {
                "id": ABORT_MULTIPART_RULE,
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {
                    "days_after_initiation": ABORT_MULTIPART_DAYS
                },
            }
        )
    return out


@dataclass(frozen=True)
class AccessLogs:
    """Where a bucket's server access logs go: the log bucket of the bucket's own region (S3
    delivers server access logs only within a region) and a key prefix there."""

    target_bucket: pulumi.Input[str]
    prefix: str


@dataclass
class PrivateBucket:
    bucket: aws.s3.Bucket
    # Public access block and ownership controls: later policies and ACLs depend on them.
    guards: list[pulumi.Resource]
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    versioning: aws.s3.BucketVersioning | None
    _name: str
    _opts: pulumi.ResourceOptions
    _aliases: Mapping[str, str] = field(default_factory=dict)
    policy: aws.s3.BucketPolicy | None = None

    def attach_policy(self, grants: Grants) -> aws.s3.BucketPolicy:
        """The bucket policy (TLS only plus ``grants``), for callers whose grants name a
        resource that needs the bucket first (a distribution reading it)."""
        bucket = self.bucket
        self.policy = aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.bucket, bucket.arn, *grants.inputs).apply(
                lambda v: json.dumps(bucket_policy_document(v[0], grants.render(*v)))
            ),
            # A policy applied before the public access block could be judged public.
            opts=_child(self._opts, self._aliases, "policy", depends_on=self.guards),
        )
        return self.policy


def _child(
    opts: pulumi.ResourceOptions,
    legacy_names: Mapping[str, str],
    part: str,
    **extra: Any,
) -> pulumi.ResourceOptions:
    legacy = legacy_names.get(part)
    aliases = [pulumi.Alias(name=legacy)] if legacy else None
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases, **extra))


def private_bucket(
    name: str,
    physical_name: pulumi.Input[str],
    *,
    key_arn: pulumi.Input[str],
    lifecycle_rules: Sequence[Mapping[str, Any]],
    access_logs: AccessLogs | None,
    opts: pulumi.ResourceOptions,
    policy: Grants | None = NO_GRANTS,
    versioned: bool = False,
    ownership: str = "BucketOwnerEnforced",
    object_lock: bool = False,
    legacy_names: Mapping[str, str] | None = None,
) -> PrivateBucket:
    """Declares ``aws.s3.Bucket`` ``name`` and its ``-public-access``, ``-ownership``,
    ``-encryption``, ``-lifecycle``, optional ``-versioning`` and ``-access-logs``, and
    ``-policy`` (unless ``policy`` is None: the caller calls ``attach_policy`` later).

    ``access_logs=None`` is for log buckets only: a log bucket logging into itself would log
    its own deliveries forever.
    """
    aliases = dict(legacy_names or {})
    bucket = aws.s3.Bucket(
        name,
        bucket=physical_name,
        # Object Lock can only be switched on when the bucket is created.
        object_lock_enabled=True if object_lock else None,
        force_destroy=False,
        opts=_child(opts, aliases, "bucket"),
    )
    guards: list[pulumi.Resource] = [
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=_child(opts, aliases, "public-access"),
        ),
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": ownership},
            opts=_child(opts, aliases, "ownership"),
        ),
    ]
    versioning = None
    if versioned:
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=_child(opts, aliases, "versioning"),
        )
    # One data key per bucket (S3 Bucket Keys) instead of one KMS call per object.
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
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
        opts=_child(opts, aliases, "encryption"),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=with_abort_multipart(lifecycle_rules),
        # Lifecycle rules on a versioned bucket need versioning in place first.
        opts=_child(opts, aliases, "lifecycle", depends_on=[versioning] if versioning else None),
    )
    if access_logs is not None:
        aws.s3.BucketLogging(
            f"{name}-access-logs",
            bucket=bucket.id,
            target_bucket=access_logs.target_bucket,
            target_prefix=access_logs.prefix,
            opts=_child(opts, aliases, "access-logs"),
        )
    result = PrivateBucket(bucket, guards, encryption, versioning, name, opts, aliases)
    if policy is not None:
        result.attach_policy(policy)
    return result
