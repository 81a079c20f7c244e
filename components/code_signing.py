"""Lambda code signing for one region (R-SEC-3).

Lambda runs a function's code (and every layer it uses) only if an allowed publisher signed
it, when the function references a code signing config whose policy is ``Enforce``; ``Warn``
deploys unsigned code and logs it (development stacks). The region's ``CodeSigning`` holds
the AWS Signer profile (platform ``AWSLambda-SHA384-ECDSA``), the code signing config that
allows exactly that profile, and a private, versioned artifacts bucket: Signer signs an S3
object *version* and writes the signed zip back to S3, in the profile's own region.

``sign`` is what every function and layer does with its build output during ``pulumi up``:
upload the zip (``aws.s3.BucketObjectv2``), start a signing job on that object version
(``aws.signer.SigningJob``, the API's ``StartSigningJob``) and deploy the signed object the
job wrote. A changed build is a new object version, hence a new job and a new signed key:
the function is updated with code signed in the same deployment, never with a stale or an
unsigned zip. The deploy workflow's ``pulumi up`` is what signs; docs/compliance.md says what
an operator does beyond it (revoking a profile, rotating it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.private_bucket import AccessLogs, private_bucket
from contract import names

PLATFORM = "AWSLambda-SHA384-ECDSA"
# How long a signature stays valid. Lambda checks it when code is deployed (a rollback to an
# old version is a deployment too): five years outlives any version we would roll back to.
SIGNATURE_VALIDITY_YEARS = 5
# Signed artifacts are only read when a function is created or updated (Lambda keeps its own
# copy), so old versions of an object need not outlive a rollback window.
NONCURRENT_ARTIFACT_DAYS = 30


@dataclass(frozen=True)
class CodeSigningArgs:
    account_id: pulumi.Input[str]
    environment: str
    region: str
    # "Enforce" (production) or "Warn" (settings.code_signing_policy).
    policy: Literal["Enforce", "Warn"]
    # CMK of the artifacts bucket (the region's data key).
    key_arn: pulumi.Input[str]
    # The region's server-access-log bucket.
    access_log_bucket: pulumi.Input[str]
    # Names the artifacts bucket apart from another stack's in the same region (the global
    # stack's us-east-1 one and a regional stack's, should us-east-1 ever serve).
    bucket_purpose: str = "artifacts"


@dataclass(frozen=True)
class SignedCode:
    """Where the signed zip of one function or layer is."""

    s3_bucket: pulumi.Output[str]
    s3_key: pulumi.Output[str]


class CodeSigning(pulumi.ComponentResource):
    """Creates ``aws.signer.SigningProfile`` (Lambda platform, 5-year signatures),
    ``aws.lambda_.CodeSigningConfig`` (that profile's versions allowed; ``policy`` for untrusted
    artifacts) and a ``components.private_bucket`` artifacts bucket (versioned, SSE-KMS, TLS
    only, access logs), in the provider's region.

    Attributes: ``config_arn``, ``profile_name``, ``bucket_name``; ``sign(...)``.
    """

    def __init__(
        self, name: str, args: CodeSigningArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:security:CodeSigning", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        profile = aws.signer.SigningProfile(
            f"{name}-profile",
            name_prefix=names.signing_profile_prefix(args.environment, args.region),
            platform_id=PLATFORM,
            signature_validity_period={"type": "YEARS", "value": SIGNATURE_VALIDITY_YEARS},
            opts=child,
        )
        config = aws.lambda_.CodeSigningConfig(
            f"{name}-config",
            description=f"mobile-backend {args.environment} ({args.region}): code signed by "
            "the deploy's signing profile only",
            allowed_publishers={"signing_profile_version_arns": [profile.version_arn]},
            policies={"untrusted_artifact_on_deployment": args.policy},
            opts=child,
        )
        artifacts = private_bucket(
            f"{name}-artifacts",
            pulumi.Output.from_input(args.account_id).apply(
                lambda account: names.bucket_name(
                    args.environment, args.bucket_purpose, args.region, account
                )
            ),
            key_arn=args.key_arn,
            lifecycle_rules=[
                {
                    "id": "expire-old-artifacts",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_ARTIFACT_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            access_logs=AccessLogs(args.access_log_bucket, f"s3/{args.region}/artifacts/"),
            # Signer signs an object version: the source bucket must be versioned.
            versioned=True,
            opts=child,
        )
        self._bucket = artifacts
        self._key_arn = args.key_arn
        self.config_arn = config.arn
        self.profile_name = profile.name
        self.bucket_name = artifacts.bucket.bucket
        self.register_outputs(
            {
                "config_arn": self.config_arn,
                "profile_name": self.profile_name,
                "bucket_name": self.bucket_name,
            }
        )

    def sign(
        self, name: str, code: pulumi.Input[pulumi.Archive], *, key: str, parent: pulumi.Resource
    ) -> SignedCode:
        """Upload ``code`` as ``unsigned/<key>.zip`` and sign it into ``signed/<key>/``; the
        two resources (``<name>-artifact``, ``<name>-signing``) are children of ``parent``,
        which must be in this component's region (Signer does not sign across regions)."""
        opts = pulumi.ResourceOptions(parent=parent)
        bucket = self._bucket
        upload = aws.s3.BucketObjectv2(
            f"{name}-artifact",
            bucket=bucket.bucket.id,
            key=f"unsigned/{key}.zip",
            source=code,
            server_side_encryption="aws:kms",
            kms_key_id=self._key_arn,
            # Versions only exist once versioning is on.
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[bucket.versioning, bucket.encryption]
            ),
        )
        job = aws.signer.SigningJob(
            f"{name}-signing",
            profile_name=self.profile_name,
            source={
                "s3": {
                    "bucket": bucket.bucket.bucket,
                    "key": upload.key,
                    "version": upload.version_id,
                }
            },
            destination={"s3": {"bucket": bucket.bucket.bucket, "prefix": f"signed/{key}/"}},
            opts=opts,
        )
        signed = job.signed_objects.apply(lambda objects: objects[0].s3s[0])
        return SignedCode(
            s3_bucket=signed.apply(lambda s3: s3.bucket), s3_key=signed.apply(lambda s3: s3.key)
        )


@dataclass(frozen=True)
class FunctionSecurity:
    """What every function of a region is deployed with (R-SEC-3): its environment variables
    encrypted with the region's customer-managed key, and its code signed for the region's
    code signing config."""

    environment_key_arn: pulumi.Input[str]
    code_signing: CodeSigning
