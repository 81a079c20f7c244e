"""The HIPAA/GDPR controls of mobile-backend as pure functions over plain resource data.

Every control is a function of ``Res`` records (a resource's type token, Pulumi camelCase
properties, region and effective tags) returning violation messages that name the resource
and the fix. Nothing here imports Pulumi: the CrossGuard pack (``__main__.py``) adapts
``pulumi_policy`` arguments to ``Res`` and the unit tests adapt the mocked resource graph of
the real stacks to ``Res``, so the same code gates ``pulumi preview`` and ``make test``.

Resource controls see one resource; stack controls see the whole stack because AWS spreads
one concern over several resources (S3 encryption, public access and policy are separate
resources in pulumi-aws v7; a stage's WAF is a ``WebAclAssociation``; its execution logging a
``MethodSettings``). References between resources are resolved through ``Res.deps`` (the
engine's property dependencies) or, failing that, by comparing a referencing value with the
target's identifiers (``Res.ids``: id, ARN, name).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# --- type tokens ----------------------------------------------------------------------------
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
INLINE_POLICIES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:iam/policy:Policy",
)
POLICY_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
USER_POOL = "aws:cognito/userPool:UserPool"
IDENTITY_POOL = "aws:cognito/identityPool:IdentityPool"
TRAIL = "aws:cloudtrail/trail:Trail"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
PROXY = "aws:rds/proxy:Proxy"
SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 (a type token)
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
TABLE = "aws:dynamodb/table:Table"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"

# --- thresholds -----------------------------------------------------------------------------
# Lambda runtimes we accept: supported by AWS, with the Powertools/psycopg wheels we ship.
SUPPORTED_LAMBDA_RUNTIMES = frozenset({"python3.12", "python3.13"})
# CloudFront security policies that allow TLS 1.2+ only with strong ciphers.
CLOUDFRONT_TLS_POLICIES = frozenset({"TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"})
MIN_BACKUP_RETENTION_DAYS = 7
MIN_PASSWORD_LENGTH = 12
MAX_KEY_ROTATION_DAYS = 365
ADMIN_POLICY_ARNS = frozenset(
    {"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/PowerUserAccess"}
)
# AWS-managed keys: encryption at rest, but not under our key policy, rotation or audit.
AWS_MANAGED_KEY_ALIASES = frozenset(
    {"alias/aws/sns", "alias/aws/sqs", "alias/aws/secretsmanager", "alias/aws/s3"}
)
PERSONAL_DATA_CLASSES = frozenset({"phi", "pii"})
# Types that store or queue application data (a VPC or a role holds none).
DATA_STORE_TYPES = frozenset(
    {BUCKET, CLUSTER, CLUSTER_INSTANCE, SECRET, QUEUE, TOPIC, TABLE, USER_POOL, LOG_GROUP}
)
TRANSFER_MECHANISM_KEY = "mobile-backend:gdprTransferMechanism"
# A value another resource computes, unknown during preview (the pack's adapter substitutes
# it for the engine's unknowns). It counts as set; ``pulumi up`` sees the real value.
COMPUTED = "<computed>"


@dataclass(frozen=True)
class Res:
    """One resource as a control sees it."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    region: str | None = None
    # Effective tags: the provider's default tags overlaid with the resource's own.
    tags: Mapping[str, str] = field(default_factory=dict)
    # Values other resources use to reference this one (id, ARN, name).
    ids: frozenset[str] = frozenset()
    # Property name → URNs of the resources that property's value came from.
    deps: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.type.rsplit(':', 1)[-1]} '{self.name}'"


@dataclass(frozen=True)
class Context:
    """Stack-level facts the controls need beyond the resources."""

    # The declared GDPR Chapter V mechanism (mobile-backend:gdprTransferMechanism), if any.
    transfer_mechanism: str | None = None
    # The stack's role (mobile-backend:role): "global", "regional" or None when unknown.
    role: str | None = None


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str


ResourceCheck = Callable[[Res, Context], list[str]]
StackCheck = Callable[[Sequence[Res], Context], list[tuple[str, str]]]


@dataclass(frozen=True)
class Control:
    name: str
    description: str
    scope: Literal["resource", "stack"]
    check: Callable[..., list[Any]]
    hipaa: tuple[str, ...]
    gdpr: tuple[str, ...]
    aws: tuple[str, ...]


# --- helpers --------------------------------------------------------------------------------
def _get(props: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = props
    for key in path:
        if isinstance(value, str) and value.startswith(("{", "[")):
            value = _json(value)
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _items(value: Any) -> list[Any]:
    if isinstance(value, str) and value.lstrip().startswith("["):
        value = _json(value)
    if value is None:
        return []
    # pulumi_policy hands lists over as read-only Sequence proxies, not lists.
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _number(value: Any) -> float | None:
    # Numbers cross the Pulumi wire as floats (365 arrives as 365.0).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _set(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _cmk(value: Any) -> bool:
    """A customer-managed key reference: any key id/ARN/alias except AWS-managed aliases."""
    if not _set(value):
        return False
    return not any(value == a or value.endswith(f":{a}") for a in AWS_MANAGED_KEY_ALIASES)


def references(referrer: Res, prop: str, target: Res) -> bool:
    """Whether ``referrer.props[prop]`` points at ``target``.

    The engine's property dependencies are authoritative when present (they hold while ids
    are unknown); otherwise the value is compared with the target's identifiers.
    """
    deps = referrer.deps.get(prop)
    if deps:
        return target.urn in deps
    value = referrer.props.get(prop)
    return isinstance(value, str) and value in target.ids


def is_eu_region(region: str | None) -> bool:
    return bool(region) and str(region).startswith("eu-")


# --- resource controls ----------------------------------------------------------------------
def cmk_encryption(res: Res, ctx: Context) -> list[str]:
    """Aurora, SNS, SQS, Secrets Manager (and replicas), log groups, DynamoDB: CMK-encrypted."""
    p = res.props
    out: list[str] = []
    if res.type == CLUSTER:
        if not _is_true(p.get("storageEncrypted")):
            out.append(f"{res} stores data unencrypted; fix: set storage_encrypted=True")
        if not _cmk(p.get("kmsKeyId")):
            out.append(
                f"{res} is not encrypted with a customer-managed key; "
                "fix: set kms_key_id to the region's data key ARN"
            )
    elif res.type == GLOBAL_CLUSTER:
        if not _is_true(p.get("storageEncrypted")):
            out.append(f"{res} is unencrypted; fix: set storage_encrypted=True")
    elif res.type in (TOPIC, QUEUE):
        if not _cmk(p.get("kmsMasterKeyId")):
            out.append(
                f"{res} is not encrypted with a customer-managed key; "
                "fix: set kms_master_key_id to the messaging key ARN (not alias/aws/*)"
            )
    elif res.type == SECRET:
        if not _cmk(p.get("kmsKeyId")):
            out.append(
                f"{res} uses the AWS-managed secrets key; fix: set kms_key_id to the "
                "secrets key ARN"
            )
        for replica in _items(p.get("replicas")):
            if not _cmk(_get(replica, "kmsKeyId")):
                out.append(
                    f"{res} replica in {_get(replica, 'region')} has no customer-managed key; "
                    "fix: set kms_key_id on every replica (the replica region's secrets key)"
                )
    elif res.type == LOG_GROUP:
        if not _cmk(p.get("kmsKeyId")):
            out.append(
                f"{res} is not encrypted with a customer-managed key; fix: set kms_key_id "
                "to the region's logs key ARN"
            )
    elif res.type == TABLE:
        sse = p.get("serverSideEncryption")
        if not (_is_true(_get(sse, "enabled")) and _cmk(_get(sse, "kmsKeyArn"))):
            out.append(
                f"{res} is not encrypted with a customer-managed key; fix: set "
                "server_side_encryption={enabled: True, kms_key_arn: <data key ARN>}"
            )
    return out


def _viewer_policy_ok(behavior: Any) -> bool:
    return _get(behavior, "viewerProtocolPolicy") in ("redirect-to-https", "https-only")


def cloudfront_https_tls_waf(res: Res, ctx: Context) -> list[str]:
    """CloudFront: HTTPS to viewers and custom origins, TLS 1.2 (2021+ policy), a web ACL."""
    if res.type != DISTRIBUTION:
        return []
    p = res.props
    out: list[str] = []
    behaviors = [p.get("defaultCacheBehavior"), *_items(p.get("orderedCacheBehaviors"))]
    for behavior in behaviors:
        if not _viewer_policy_ok(behavior):
            pattern = _get(behavior, "pathPattern") or "default"
            out.append(
                f"{res} cache behavior '{pattern}' allows plain HTTP; fix: set "
                "viewer_protocol_policy='redirect-to-https'"
            )
    cert = p.get("viewerCertificate")
    if _is_true(_get(cert, "cloudfrontDefaultCertificate")) or (
        _get(cert, "minimumProtocolVersion") not in CLOUDFRONT_TLS_POLICIES
    ):
        out.append(
            f"{res} viewer TLS policy is {_get(cert, 'minimumProtocolVersion')!r}; fix: use an "
            "ACM certificate with minimum_protocol_version='TLSv1.2_2021' and sni-only"
        )
    if not _set(p.get("webAclId")):
        out.append(f"{res} has no WAF web ACL; fix: set web_acl_id to the CLOUDFRONT web ACL ARN")
    for origin in _items(p.get("origins")):
        custom = _get(origin, "customOriginConfig")
        if custom is None:
            continue
        protocols = set(_items(_get(custom, "originSslProtocols")))
        if _get(custom, "originProtocolPolicy") != "https-only" or protocols - {"TLSv1.2"}:
            out.append(
                f"{res} origin '{_get(origin, 'originId')}' is not HTTPS/TLSv1.2-only; fix: "
                "origin_protocol_policy='https-only', origin_ssl_protocols=['TLSv1.2']"
            )
    return out


def lambda_tracing_runtime(res: Res, ctx: Context) -> list[str]:
    """Lambda: X-Ray active tracing and a supported Python runtime."""
    if res.type != FUNCTION:
        return []
    p = res.props
    out: list[str] = []
    if _get(p, "tracingConfig", "mode") != "Active":
        out.append(f"{res} has no active X-Ray tracing; fix: tracing_config={{'mode': 'Active'}}")
    if p.get("packageType") != "Image" and p.get("runtime") not in SUPPORTED_LAMBDA_RUNTIMES:
        out.append(
            f"{res} runtime {p.get('runtime')!r} is not supported here; fix: use one of "
            f"{', '.join(sorted(SUPPORTED_LAMBDA_RUNTIMES))}"
        )
    return out


def holds_personal_data(res: Res) -> bool:
    """Tagged ``phi``/``pii``, or untagged (unknown counts as personal: fail closed)."""
    return res.tags.get("data-classification", "phi") in PERSONAL_DATA_CLASSES


def alarm_actions(res: Res, ctx: Context) -> list[str]:
    """CloudWatch alarms notify someone: an ALARM action, and actions not switched off."""
    if res.type not in (METRIC_ALARM, COMPOSITE_ALARM):
        return []
    p = res.props
    out: list[str] = []
    if not any(_set(action) for action in _items(p.get("alarmActions"))):
        out.append(
            f"{res} has no alarm action, so it changes state unseen; fix: "
            "alarm_actions=[<the region's alarm topic ARN>]"
        )
    # AWS's default is enabled: only an explicit false switches the actions off.
    if _is_false(p.get("actionsEnabled")):
        out.append(f"{res} has its actions disabled; fix: actions_enabled=True")
    return out


def aurora_protection(res: Res, ctx: Context) -> list[str]:
    """Aurora: deletion protection (where personal data lives), ≥ 7 days of backups, IAM auth,
    never publicly accessible. A disposable environment classified ``internal`` (dev, synthetic
    data only) may be deletable; every other control still applies to it."""
    p = res.props
    out: list[str] = []
    protect = holds_personal_data(res)
    if res.type == CLUSTER:
        if protect and not _is_true(p.get("deletionProtection")):
            out.append(f"{res} can be deleted; fix: set deletion_protection=True")
        retention = _number(p.get("backupRetentionPeriod"))
        if retention is None or retention < MIN_BACKUP_RETENTION_DAYS:
            out.append(
                f"{res} keeps backups {int(retention or 1)} day(s); fix: set "
                f"backup_retention_period >= {MIN_BACKUP_RETENTION_DAYS}"
            )
        if not _is_true(p.get("iamDatabaseAuthenticationEnabled")):
            out.append(
                f"{res} does not accept IAM authentication; fix: set "
                "iam_database_authentication_enabled=True"
            )
    elif res.type == GLOBAL_CLUSTER:
        if protect and not _is_true(p.get("deletionProtection")):
            out.append(f"{res} can be deleted; fix: set deletion_protection=True")
    elif res.type == CLUSTER_INSTANCE and _is_true(p.get("publiclyAccessible")):
        out.append(f"{res} is publicly accessible; fix: set publicly_accessible=False")
    return out


def rds_proxy_tls(res: Res, ctx: Context) -> list[str]:
    if res.type == PROXY and not _is_true(res.props.get("requireTls")):
        return [f"{res} accepts unencrypted connections; fix: set require_tls=True"]
    return []


def kms_rotation(res: Res, ctx: Context) -> list[str]:
    """Symmetric encryption keys rotate at least yearly (AWS cannot rotate other key kinds)."""
    if res.type != KMS_KEY:
        return []
    p = res.props
    if p.get("keyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT" or p.get(
        "customerMasterKeySpec", "SYMMETRIC_DEFAULT"
    ) not in (None, "SYMMETRIC_DEFAULT"):
        return []
    if not _is_true(p.get("enableKeyRotation")):
        return [f"{res} does not rotate; fix: set enable_key_rotation=True"]
    period = _number(p.get("rotationPeriodInDays"))
    if period is not None and period > MAX_KEY_ROTATION_DAYS:
        return [f"{res} rotates every {int(period)} days; fix: rotation_period_in_days <= 365"]
    return []


def log_retention(res: Res, ctx: Context) -> list[str]:
    if res.type != LOG_GROUP:
        return []
    days = _number(res.props.get("retentionInDays"))
    if days is None or days <= 0:
        return [
            f"{res} keeps logs forever (no retention); fix: set retention_in_days "
            "(mobile-backend:logRetentionDays)"
        ]
    return []


def _policy_documents(res: Res) -> list[tuple[str, Any]]:
    if res.type in INLINE_POLICIES:
        return [("policy", res.props.get("policy"))]
    if res.type == ROLE:
        return [
            (f"inline policy {_get(inline, 'name')!r}", _get(inline, "policy"))
            for inline in _items(res.props.get("inlinePolicies"))
        ]
    return []


def wildcard_statements(document: Any) -> list[str]:
    """Allow statements granting every action on every resource (or everything but a few)."""
    doc = _json(document)
    if not isinstance(doc, Mapping):
        return []
    found = []
    for i, statement in enumerate(_items(doc.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        resources = _items(statement.get("Resource"))
        if "*" not in resources:
            continue
        label = statement.get("Sid", i)
        if any(a in ("*", "*:*") for a in _items(statement.get("Action"))):
            found.append(f"statement {label} allows '*' on '*'")
        elif "NotAction" in statement:
            found.append(f"statement {label} allows NotAction on '*'")
    return found


def iam_no_wildcard_admin(res: Res, ctx: Context) -> list[str]:
    out = []
    for where, document in _policy_documents(res):
        for problem in wildcard_statements(document):
            out.append(
                f"{res} {where}: {problem}; fix: list the actions and resource ARNs the "
                "principal needs (least privilege)"
            )
    arns = []
    if res.type in POLICY_ATTACHMENTS:
        arns = [res.props.get("policyArn")]
    elif res.type == ROLE:
        arns = _items(res.props.get("managedPolicyArns"))
    for arn in arns:
        if arn in ADMIN_POLICY_ARNS:
            out.append(f"{res} attaches {arn}; fix: attach a scoped customer-managed policy")
    return out


def cognito_user_pool(res: Res, ctx: Context) -> list[str]:
    """User pools: MFA on or optional, a strong password policy, deletion protection (where
    personal data lives, as for Aurora)."""
    if res.type != USER_POOL:
        return []
    p = res.props
    out: list[str] = []
    if p.get("mfaConfiguration") not in ("ON", "OPTIONAL"):
        out.append(f"{res} has MFA off; fix: mfa_configuration='ON' (or 'OPTIONAL')")
    policy = p.get("passwordPolicy")
    length = _number(_get(policy, "minimumLength"))
    weak = [
        flag
        for flag in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols")
        if not _is_true(_get(policy, flag))
    ]
    if length is None or length < MIN_PASSWORD_LENGTH or weak:
        shown = None if length is None else int(length)
        out.append(
            f"{res} password policy is weak (minimum_length={shown}, missing {weak}); fix: "
            f"minimum_length >= {MIN_PASSWORD_LENGTH} and require lower, upper, numbers, symbols"
        )
    if holds_personal_data(res) and p.get("deletionProtection") != "ACTIVE":
        out.append(f"{res} can be deleted with its users; fix: deletion_protection='ACTIVE'")
    return out


def cognito_identity_pool(res: Res, ctx: Context) -> list[str]:
    if res.type == IDENTITY_POOL and _is_true(res.props.get("allowUnauthenticatedIdentities")):
        return [
            f"{res} hands AWS credentials to unauthenticated identities; fix: set "
            "allow_unauthenticated_identities=False"
        ]
    return []


def trail_problems(res: Res) -> list[str]:
    p = res.props
    out = []
    if not _is_true(p.get("isMultiRegionTrail")):
        out.append("is single-region; fix: is_multi_region_trail=True")
    if not _is_true(p.get("enableLogFileValidation")):
        out.append("has no log file validation; fix: enable_log_file_validation=True")
    if not _cmk(p.get("kmsKeyId")):
        out.append("is not KMS-encrypted with a CMK; fix: set kms_key_id")
    if not _set(p.get("cloudWatchLogsGroupArn")):
        out.append("is not delivered to CloudWatch Logs; fix: set cloud_watch_logs_group_arn")
    if _is_false(p.get("includeGlobalServiceEvents")):
        out.append("skips global service events (IAM, STS); fix: remove the False")
    if _is_false(p.get("enableLogging")):
        out.append("is not logging; fix: enable_logging=True")
    return out


def cloudtrail_trail(res: Res, ctx: Context) -> list[str]:
    if res.type != TRAIL:
        return []
    return [f"{res} {problem}" for problem in trail_problems(res)]


def personal_data_reason(res: Res) -> str | None:
    """Why ``res`` holds personal data, or None. Tags first, then structure."""
    if res.type in DATA_STORE_TYPES:
        classification = res.tags.get("data-classification")
        if classification in PERSONAL_DATA_CLASSES:
            return f"is tagged data-classification={classification}"
    if res.type == CLUSTER and _set(res.props.get("globalClusterIdentifier")):
        return "is a member of the Aurora global cluster (replica of the EU primary)"
    if res.type == BUCKET_REPLICATION:
        return "replicates objects between the regions' buckets"
    return None


def gdpr_residency(res: Res, ctx: Context) -> list[str]:
    """GDPR Chapter V: EU personal data outside the EU only under a declared mechanism."""
    out = []
    if res.region and not is_eu_region(res.region):
        reason = personal_data_reason(res)
        if reason and not _set(ctx.transfer_mechanism):
            out.append(
                f"{res} in {res.region} {reason}: EU personal data outside the EU is a GDPR "
                "Chapter V transfer with no declared mechanism; fix: pulumi config set "
                f"{TRANSFER_MECHANISM_KEY} 'EU-US Data Privacy Framework + SCCs (2021/914)'"
            )
    if res.type == SECRET and not _set(ctx.transfer_mechanism):
        for replica in _items(res.props.get("replicas")):
            region = _get(replica, "region")
            if region and not is_eu_region(region):
                out.append(
                    f"{res} is replicated to {region} with no declared GDPR transfer "
                    f"mechanism; fix: pulumi config set {TRANSFER_MECHANISM_KEY} '<mechanism>'"
                )
    return out


# --- stack controls -------------------------------------------------------------------------
def _targeting(resources: Iterable[Res], typ: str, prop: str, target: Res) -> list[Res]:
    return [r for r in resources if r.type == typ and references(r, prop, target)]


def s3_encryption(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    """Each bucket has a BucketServerSideEncryptionConfiguration with aws:kms and a CMK."""
    out = []
    for bucket in (r for r in resources if r.type == BUCKET):
        configs = _targeting(resources, BUCKET_SSE, "bucket", bucket)
        ok = any(
            _get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            in ("aws:kms", "aws:kms:dsse")
            and _cmk(_get(rule, "applyServerSideEncryptionByDefault", "kmsMasterKeyId"))
            for config in configs
            for rule in _items(config.props.get("rules"))
        )
        if not ok:
            out.append(
                (
                    bucket.urn,
                    f"{bucket} is not encrypted with a customer-managed KMS key; fix: declare "
                    "aws.s3.BucketServerSideEncryptionConfiguration for it with "
                    "sse_algorithm='aws:kms' and kms_master_key_id=<data key ARN>",
                )
            )
    return out


def s3_public_access_block(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    out = []
    for bucket in (r for r in resources if r.type == BUCKET):
        blocks = _targeting(resources, BUCKET_PAB, "bucket", bucket)
        if not any(all(_is_true(b.props.get(f)) for f in flags) for b in blocks):
            out.append(
                (
                    bucket.urn,
                    f"{bucket} has no public access block with all four flags; fix: declare "
                    "aws.s3.BucketPublicAccessBlock with block_public_acls, "
                    "block_public_policy, ignore_public_acls, restrict_public_buckets = True",
                )
            )
    return out


def denies_insecure_transport(document: Any) -> bool:
    doc = _json(document)
    if not isinstance(doc, Mapping):
        return False
    for statement in _items(doc.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        if principal not in ("*", {"AWS": "*"}):
            continue
        actions = _items(statement.get("Action"))
        if not any(a in ("*", "s3:*") for a in actions):
            continue
        condition = _get(statement, "Condition", "Bool") or {}
        if str(condition.get("aws:SecureTransport", "")).lower() == "false":
            return True
    return False


def s3_tls_only(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    out = []
    for bucket in (r for r in resources if r.type == BUCKET):
        documents = [bucket.props.get("policy")] + [
            p.props.get("policy") for p in _targeting(resources, BUCKET_POLICY, "bucket", bucket)
        ]
        # A policy rendered from computed ARNs is judged by `pulumi up`, once it is known.
        if COMPUTED in documents:
            continue
        if not any(denies_insecure_transport(d) for d in documents):
            out.append(
                (
                    bucket.urn,
                    f"{bucket} accepts requests over plain HTTP; fix: attach a bucket policy "
                    "that denies s3:* to '*' when aws:SecureTransport is 'false'",
                )
            )
    return out


def cloudfront_logging(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    """Access logging: legacy ``logging_config`` or a CloudWatch log delivery source."""
    out = []
    for dist in (r for r in resources if r.type == DISTRIBUTION):
        legacy = _set(_get(dist.props, "loggingConfig", "bucket"))
        v2 = any(
            _get(s.props, "logType") == "ACCESS_LOGS"
            for s in _targeting(resources, LOG_DELIVERY_SOURCE, "resourceArn", dist)
        )
        if not (legacy or v2):
            out.append(
                (
                    dist.urn,
                    f"{dist} has no access logging; fix: set logging_config (S3) or declare an "
                    "aws.cloudwatch.LogDeliverySource (log_type='ACCESS_LOGS') for it",
                )
            )
    return out


def _same_stage(settings: Res, stage: Res) -> bool:
    if stage.urn in settings.deps.get("stageName", frozenset()):
        return True
    if settings.props.get("stageName") != stage.props.get("stageName"):
        return False
    api_deps = settings.deps.get("restApi", frozenset()) & stage.deps.get("restApi", frozenset())
    return bool(api_deps) or settings.props.get("restApi") == stage.props.get("restApi")


def api_stage_waf(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    out = []
    for stage in (r for r in resources if r.type == STAGE):
        if not _targeting(resources, WAF_ASSOCIATION, "resourceArn", stage):
            out.append(
                (
                    stage.urn,
                    f"{stage} has no WAF web ACL; fix: declare aws.wafv2.WebAclAssociation "
                    "with resource_arn=<stage>.arn and the regional web ACL",
                )
            )
    return out


def api_stage_logging(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    """Stages: access logs, X-Ray, no cache, execution logging without request/response data."""
    out = []
    for stage in (r for r in resources if r.type == STAGE):
        p = stage.props
        problems = []
        if not _set(_get(p, "accessLogSettings", "destinationArn")):
            problems.append("no access log destination (set access_log_settings)")
        if not _is_true(p.get("xrayTracingEnabled")):
            problems.append("X-Ray tracing off (set xray_tracing_enabled=True)")
        if _is_true(p.get("cacheClusterEnabled")):
            problems.append("a response cache that may hold PHI (set cache_cluster_enabled=False)")
        settings = [
            s
            for s in resources
            if s.type == METHOD_SETTINGS
            and s.props.get("methodPath") == "*/*"
            and _same_stage(s, stage)
        ]
        ok = [
            s
            for s in settings
            if _get(s.props, "settings", "loggingLevel") in ("ERROR", "INFO")
            and not _is_true(_get(s.props, "settings", "dataTraceEnabled"))
            and not _is_true(_get(s.props, "settings", "cachingEnabled"))
        ]
        if not ok:
            problems.append(
                "no '*/*' MethodSettings with logging_level ERROR or INFO, data_trace_enabled "
                "False and caching_enabled False"
            )
        if problems:
            out.append((stage.urn, f"{stage}: {'; '.join(problems)}"))
    return out


def lambda_log_groups(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    """Every function logs to a declared group (so retention and KMS apply), not an implicit one."""
    groups = [r for r in resources if r.type == LOG_GROUP]
    names = {r.props.get("name") for r in groups} | {i for g in groups for i in g.ids}
    out = []
    for fn in (r for r in resources if r.type == FUNCTION):
        configured = _get(fn.props, "loggingConfig", "logGroup")
        # Without logging_config Lambda writes to /aws/lambda/<function name>.
        default = f"/aws/lambda/{fn.props.get('name')}" if fn.props.get("name") else None
        declared = (configured in names if _set(configured) else default in names) or any(
            g.urn in fn.deps.get("loggingConfig", frozenset()) for g in groups
        )
        if not declared:
            out.append(
                (
                    fn.urn,
                    f"{fn} logs to an implicit log group with no retention or KMS; fix: "
                    "declare an aws.cloudwatch.LogGroup and set logging_config.log_group",
                )
            )
    return out


def cloudtrail_present(resources: Sequence[Res], ctx: Context) -> list[tuple[str, str]]:
    """The global stack owns one multi-region, validated, encrypted trail (R-OBS-3)."""
    if ctx.role != "global":
        return []
    if any(r.type == TRAIL and not trail_problems(r) for r in resources):
        return []
    return [
        (
            "",
            "the global stack declares no multi-region CloudTrail with log file validation "
            "and KMS; fix: declare aws.cloudtrail.Trail(is_multi_region_trail=True, "
            "enable_log_file_validation=True, kms_key_id=...) in the global stack",
        )
    ]


HIPAA_ENCRYPTION = "164.312(a)(2)(iv)"
HIPAA_AUDIT = "164.312(b)"
HIPAA_TRANSMISSION = "164.312(e)(1)"
HIPAA_ACCESS = "164.312(a)(1)"
HIPAA_AUTH = "164.312(d)"
HIPAA_INTEGRITY = "164.312(c)(1)"
HIPAA_CONTINGENCY = "164.308(a)(7)"

CONTROLS: tuple[Control, ...] = (
    Control(
        "cmk-encryption-at-rest",
        "Aurora, SNS, SQS, Secrets Manager (and replicas), log groups and DynamoDB are "
        "encrypted with customer-managed KMS keys",
        "resource",
        cmk_encryption,
        (HIPAA_ENCRYPTION,),
        ("Art. 32(1)(a)",),
        (
            "RDS.27",
            "SNS.1",
            "SQS.1",
            "Config secretsmanager-using-cmk",
            "Config cloudwatch-log-group-encrypted",
            "Config dynamodb-table-encrypted-kms",
        ),
    ),
    Control(
        "s3-cmk-encryption",
        "Every S3 bucket has a server-side encryption configuration with aws:kms and a CMK",
        "stack",
        s3_encryption,
        (HIPAA_ENCRYPTION,),
        ("Art. 32(1)(a)",),
        ("S3.17", "Config s3-default-encryption-kms"),
    ),
    Control(
        "s3-public-access-block",
        "Every S3 bucket blocks public ACLs and policies (all four flags)",
        "stack",
        s3_public_access_block,
        (HIPAA_ACCESS,),
        ("Art. 32(1)(b)", "Art. 25"),
        ("S3.8", "Config s3-bucket-level-public-access-prohibited"),
    ),
    Control(
        "s3-tls-only",
        "Every S3 bucket policy denies requests without TLS",
        "stack",
        s3_tls_only,
        (HIPAA_TRANSMISSION,),
        ("Art. 32(1)(a)",),
        ("S3.5", "Config s3-bucket-ssl-requests-only"),
    ),
    Control(
        "cloudfront-https-tls-waf",
        "CloudFront serves HTTPS only with TLSv1.2_2021+, talks HTTPS/TLS1.2 to custom origins, "
        "and is protected by a WAF web ACL",
        "resource",
        cloudfront_https_tls_waf,
        (HIPAA_TRANSMISSION, "164.308(a)(1)(ii)(B)"),
        ("Art. 32(1)(a)", "Art. 32(1)(b)"),
        ("CloudFront.3", "CloudFront.6", "CloudFront.7", "CloudFront.9", "CloudFront.10"),
    ),
    Control(
        "cloudfront-access-logging",
        "CloudFront distributions write access logs",
        "stack",
        cloudfront_logging,
        (HIPAA_AUDIT,),
        ("Art. 30", "Art. 33"),
        ("CloudFront.5",),
    ),
    Control(
        "api-stage-waf",
        "Every API Gateway stage is associated with a regional WAF web ACL",
        "stack",
        api_stage_waf,
        ("164.308(a)(1)(ii)(B)", HIPAA_ACCESS),
        ("Art. 32(1)(b)",),
        ("APIGateway.4",),
    ),
    Control(
        "api-stage-logging-tracing",
        "API stages have access logs, X-Ray, execution logging without data trace, no cache",
        "stack",
        api_stage_logging,
        (HIPAA_AUDIT,),
        ("Art. 30", "Art. 32(1)(d)"),
        ("APIGateway.1", "APIGateway.3", "APIGateway.5"),
    ),
    Control(
        "lambda-tracing-runtime",
        "Lambda functions trace with X-Ray (Active) and run a supported Python runtime",
        "resource",
        lambda_tracing_runtime,
        (HIPAA_AUDIT, "164.308(a)(1)(ii)(A)"),
        ("Art. 32(1)(d)",),
        ("Lambda.2", "Lambda.7"),
    ),
    Control(
        "lambda-declared-log-group",
        "Lambda functions log to a declared log group (retention and KMS apply)",
        "stack",
        lambda_log_groups,
        (HIPAA_AUDIT,),
        ("Art. 5(1)(e)",),
        ("CloudWatch.16", "Config cw-loggroup-retention-period-check"),
    ),
    Control(
        "cloudwatch-alarm-actions",
        "CloudWatch alarms have an alarm action and their actions enabled",
        "resource",
        alarm_actions,
        ("164.308(a)(1)(ii)(D)", "164.308(a)(6)(ii)"),
        ("Art. 32(1)(b)", "Art. 33"),
        ("CloudWatch.15", "CloudWatch.17"),
    ),
    Control(
        "aurora-protection",
        "Aurora clusters: deletion protection, backups >= 7 days, IAM auth, not public",
        "resource",
        aurora_protection,
        (HIPAA_CONTINGENCY, "164.308(a)(7)(ii)(A)", HIPAA_AUTH),
        ("Art. 32(1)(b)", "Art. 32(1)(c)"),
        ("RDS.7", "RDS.11", "RDS.12", "RDS.2"),
    ),
    Control(
        "rds-proxy-tls",
        "RDS proxies require TLS",
        "resource",
        rds_proxy_tls,
        (HIPAA_TRANSMISSION,),
        ("Art. 32(1)(a)",),
        (),
    ),
    Control(
        "kms-key-rotation",
        "Symmetric customer-managed KMS keys rotate at least yearly",
        "resource",
        kms_rotation,
        (HIPAA_ENCRYPTION,),
        ("Art. 32(1)(a)",),
        ("KMS.4", "Config cmk-backing-key-rotation-enabled"),
    ),
    Control(
        "log-group-retention",
        "CloudWatch log groups have an explicit retention period",
        "resource",
        log_retention,
        (HIPAA_AUDIT, "164.316(b)(2)(i)"),
        ("Art. 5(1)(e)",),
        ("CloudWatch.16", "Config cw-loggroup-retention-period-check"),
    ),
    Control(
        "iam-no-wildcard-admin",
        "No IAM policy allows '*' on '*' (or NotAction on '*'); no AdministratorAccess",
        "resource",
        iam_no_wildcard_admin,
        (HIPAA_ACCESS, "164.308(a)(4)"),
        ("Art. 25", "Art. 32(1)(b)"),
        ("IAM.1", "IAM.21", "Config iam-policy-no-statements-with-admin-access"),
    ),
    Control(
        "cognito-user-pool-hardening",
        "Cognito user pools: MFA on/optional, strong password policy, deletion protection",
        "resource",
        cognito_user_pool,
        (HIPAA_AUTH, "164.308(a)(5)(ii)(D)"),
        ("Art. 32(1)(b)",),
        ("Cognito.3", "Cognito.5"),
    ),
    Control(
        "cognito-no-unauthenticated-identities",
        "Cognito identity pools give no credentials to unauthenticated identities",
        "resource",
        cognito_identity_pool,
        (HIPAA_ACCESS,),
        ("Art. 32(1)(b)",),
        ("Cognito.2",),
    ),
    Control(
        "cloudtrail-multi-region-validated",
        "CloudTrail trails are multi-region, validated, CMK-encrypted, logging and delivered "
        "to CloudWatch Logs",
        "resource",
        cloudtrail_trail,
        (HIPAA_AUDIT, HIPAA_INTEGRITY),
        ("Art. 30", "Art. 33"),
        ("CloudTrail.1", "CloudTrail.2", "CloudTrail.4", "CloudTrail.5"),
    ),
    Control(
        "cloudtrail-present",
        "The global stack declares a multi-region, validated, encrypted CloudTrail",
        "stack",
        cloudtrail_present,
        (HIPAA_AUDIT,),
        ("Art. 30",),
        ("CloudTrail.1", "Config multi-region-cloudtrail-enabled"),
    ),
    Control(
        "gdpr-residency",
        "Personal data outside the EU only with a declared GDPR transfer mechanism",
        "resource",
        gdpr_residency,
        (),
        ("Art. 44", "Art. 45", "Art. 46(2)(c)"),
        (),
    ),
)

CONTROLS_BY_NAME = {c.name: c for c in CONTROLS}


def evaluate(
    resources: Sequence[Res], ctx: Context, controls: Iterable[Control] = CONTROLS
) -> list[Violation]:
    """Run controls over one stack's resources, in declaration order."""
    found: list[Violation] = []
    for control in controls:
        if control.scope == "resource":
            for res in resources:
                found.extend(Violation(control.name, res.urn, m) for m in control.check(res, ctx))
        else:
            found.extend(
                Violation(control.name, urn, m) for urn, m in control.check(resources, ctx)
            )
    return found
