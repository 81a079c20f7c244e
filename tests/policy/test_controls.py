"""Each control on hand-built resources: one compliant and one violating case (at least).

Resources are built with the camelCase wire names pulumi-aws v7 sends, which is what both the
CrossGuard engine and the mocked graph hand to the controls.
"""

from __future__ import annotations

import json

import pytest

from policy import controls as c
from policy.controls import Context, Res, evaluate

MECHANISM = "EU-US Data Privacy Framework + SCCs (2021/914)"
CTX = Context(transfer_mechanism=MECHANISM, role="regional")
PHI = {"data-classification": "phi"}
CMK = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd"


def res(typ: str, label: str = "it", region: str = "eu-west-1", tags=None, **props) -> Res:
    """A resource named ``label`` whose id is ``<label>-id`` and ARN ``arn:<label>``."""
    return Res(
        urn=f"urn:pulumi:s::p::{typ}::{label}",
        type=typ,
        name=label,
        props=props,
        region=region,
        tags=tags or {},
        ids=frozenset({f"{label}-id", f"arn:{label}", props.get("name") or label}),
    )


def messages(control: str, *resources: Res, ctx: Context = CTX) -> list[str]:
    return [v.message for v in evaluate(list(resources), ctx, [c.CONTROLS_BY_NAME[control]])]


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_every_control_is_tested_here():
    tested = {
        name.removeprefix("test_").split("__")[0].replace("_", "-")
        for name in globals()
        if name.startswith("test_") and "__" in name
    }
    assert tested == set(c.CONTROLS_BY_NAME)


# --- cmk-encryption-at-rest -----------------------------------------------------------------
COMPLIANT_STORES = [
    res(c.CLUSTER, storageEncrypted=True, kmsKeyId=CMK),
    res(c.GLOBAL_CLUSTER, storageEncrypted=True),
    res(c.TOPIC, kmsMasterKeyId=CMK),
    res(c.QUEUE, kmsMasterKeyId="alias/mobile-backend/prod/messaging"),
    res(c.SECRET, kmsKeyId=CMK, replicas=[{"region": "us-west-1", "kmsKeyId": CMK}]),
    res(c.LOG_GROUP, kmsKeyId=CMK, retentionInDays=365.0),
    res(c.TABLE, serverSideEncryption={"enabled": True, "kmsKeyArn": CMK}),
]


@pytest.mark.parametrize("store", COMPLIANT_STORES, ids=lambda r: r.type)
def test_cmk_encryption_at_rest__compliant(store):
    assert messages("cmk-encryption-at-rest", store) == []


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        (
            res(c.CLUSTER, "db"),
            [
                "Cluster 'db' stores data unencrypted; fix: set storage_encrypted=True",
                "Cluster 'db' is not encrypted with a customer-managed key; fix: set kms_key_id "
                "to the region's data key ARN",
            ],
        ),
        (
            res(c.GLOBAL_CLUSTER, "g", storageEncrypted=False),
            ["GlobalCluster 'g' is unencrypted; fix: set storage_encrypted=True"],
        ),
        (
            res(c.TOPIC, "t", kmsMasterKeyId="alias/aws/sns"),
            [
                "Topic 't' is not encrypted with a customer-managed key; fix: set "
                "kms_master_key_id to the messaging key ARN (not alias/aws/*)"
            ],
        ),
        (
            res(c.QUEUE, "q", sqsManagedSseEnabled=True),
            [
                "Queue 'q' is not encrypted with a customer-managed key; fix: set "
                "kms_master_key_id to the messaging key ARN (not alias/aws/*)"
            ],
        ),
        (
            res(c.SECRET, "db-credentials"),
            [
                "Secret 'db-credentials' uses the AWS-managed secrets key; fix: set kms_key_id "
                "to the secrets key ARN"
            ],
        ),
        (
            res(c.SECRET, "s", kmsKeyId=CMK, replicas=[{"region": "us-west-1"}]),
            [
                "Secret 's' replica in us-west-1 has no customer-managed key; fix: set "
                "kms_key_id on every replica (the replica region's secrets key)"
            ],
        ),
        (
            res(c.LOG_GROUP, "lg", retentionInDays=30),
            [
                "LogGroup 'lg' is not encrypted with a customer-managed key; fix: set "
                "kms_key_id to the region's logs key ARN"
            ],
        ),
        (
            res(c.TABLE, "tbl", serverSideEncryption={"enabled": True}),
            [
                "Table 'tbl' is not encrypted with a customer-managed key; fix: set "
                "server_side_encryption={enabled: True, kms_key_arn: <data key ARN>}"
            ],
        ),
    ],
    ids=lambda v: v.type if isinstance(v, Res) else "",
)
def test_cmk_encryption_at_rest__violating(store, expected):
    assert messages("cmk-encryption-at-rest", store) == expected


# --- S3 (stack controls) ----------------------------------------------------------------------
BUCKET = res(c.BUCKET, "assets")
TLS_POLICY = doc(
    {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::assets", "arn:aws:s3:::assets/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
)


def sse(algorithm: str = "aws:kms", key: str | None = CMK, bucket="assets-id") -> Res:
    default = {"sseAlgorithm": algorithm} | ({"kmsMasterKeyId": key} if key else {})
    return res(
        c.BUCKET_SSE,
        "assets-sse",
        bucket=bucket,
        rules=[{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": True}],
    )


def test_s3_cmk_encryption__compliant():
    assert messages("s3-cmk-encryption", BUCKET, sse()) == []
    # The engine's property dependencies link the two even while the bucket id is unknown.
    linked = Res(
        urn="urn:sse",
        type=c.BUCKET_SSE,
        name="sse",
        props=sse(bucket=None).props,
        deps={"bucket": frozenset({BUCKET.urn})},
    )
    assert messages("s3-cmk-encryption", BUCKET, linked) == []


@pytest.mark.parametrize(
    "others",
    [[], [sse("AES256", None)], [sse(key="alias/aws/s3")], [sse(bucket="other-bucket-id")]],
    ids=["no-config", "sse-s3", "aws-managed-key", "config-for-another-bucket"],
)
def test_s3_cmk_encryption__violating(others):
    assert messages("s3-cmk-encryption", BUCKET, *others) == [
        "Bucket 'assets' is not encrypted with a customer-managed KMS key; fix: declare "
        "aws.s3.BucketServerSideEncryptionConfiguration for it with sse_algorithm='aws:kms' "
        "and kms_master_key_id=<data key ARN>"
    ]


def pab(**overrides) -> Res:
    flags = dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
        True,
    )
    return res(c.BUCKET_PAB, "assets-pab", bucket="assets-id", **(flags | overrides))


def test_s3_public_access_block__compliant():
    assert messages("s3-public-access-block", BUCKET, pab()) == []


@pytest.mark.parametrize("others", [[], [pab(restrictPublicBuckets=False)]], ids=["none", "3of4"])
def test_s3_public_access_block__violating(others):
    assert messages("s3-public-access-block", BUCKET, *others) == [
        "Bucket 'assets' has no public access block with all four flags; fix: declare "
        "aws.s3.BucketPublicAccessBlock with block_public_acls, block_public_policy, "
        "ignore_public_acls, restrict_public_buckets = True"
    ]


def test_s3_tls_only__compliant():
    policy = res(c.BUCKET_POLICY, "assets-policy", bucket="assets-id", policy=TLS_POLICY)
    assert messages("s3-tls-only", BUCKET, policy) == []
    inline = res(c.BUCKET, "inline", policy=TLS_POLICY)
    assert messages("s3-tls-only", inline) == []
    # In a first preview the policy is rendered from the bucket's unknown ARN: `up` judges it.
    computed = res(c.BUCKET_POLICY, "assets-policy", bucket="assets-id", policy=c.COMPUTED)
    assert messages("s3-tls-only", BUCKET, computed) == []


@pytest.mark.parametrize(
    "policy",
    [
        None,
        doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}),
        TLS_POLICY.replace('"false"', '"true"'),
    ],
    ids=["no-policy", "no-deny", "wrong-condition"],
)
def test_s3_tls_only__violating(policy):
    others = [res(c.BUCKET_POLICY, "p", bucket="assets-id", policy=policy)] if policy else []
    assert messages("s3-tls-only", BUCKET, *others) == [
        "Bucket 'assets' accepts requests over plain HTTP; fix: attach a bucket policy that "
        "denies s3:* to '*' when aws:SecureTransport is 'false'"
    ]


# --- CloudFront -------------------------------------------------------------------------------
def distribution(**overrides) -> Res:
    props = {
        "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https"},
        "orderedCacheBehaviors": [{"pathPattern": "/api/*", "viewerProtocolPolicy": "https-only"}],
        "viewerCertificate": {
            "acmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
            "minimumProtocolVersion": "TLSv1.2_2021",
            "sslSupportMethod": "sni-only",
        },
        "webAclId": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/1",
        "origins": [
            {"originId": "web", "domainName": "web.s3.amazonaws.com"},
            {
                "originId": "api",
                "domainName": "api.example.eu",
                "customOriginConfig": {
                    "originProtocolPolicy": "https-only",
                    "originSslProtocols": ["TLSv1.2"],
                    "httpPort": 80,
                    "httpsPort": 443,
                },
            },
        ],
        "loggingConfig": {"bucket": "edge-logs.s3.amazonaws.com"},
    }
    return res(c.DISTRIBUTION, "edge", region="us-east-1", **(props | overrides))


def test_cloudfront_https_tls_waf__compliant():
    assert messages("cloudfront-https-tls-waf", distribution()) == []


def test_cloudfront_https_tls_waf__violating():
    bad = distribution(
        defaultCacheBehavior={"viewerProtocolPolicy": "allow-all"},
        viewerCertificate={"cloudfrontDefaultCertificate": True},
        webAclId=None,
        origins=[
            {
                "originId": "api",
                "customOriginConfig": {
                    "originProtocolPolicy": "match-viewer",
                    "originSslProtocols": ["TLSv1", "TLSv1.2"],
                },
            }
        ],
    )
    assert messages("cloudfront-https-tls-waf", bad) == [
        "Distribution 'edge' cache behavior 'default' allows plain HTTP; fix: set "
        "viewer_protocol_policy='redirect-to-https'",
        "Distribution 'edge' viewer TLS policy is None; fix: use an ACM certificate with "
        "minimum_protocol_version='TLSv1.2_2021' and sni-only",
        "Distribution 'edge' has no WAF web ACL; fix: set web_acl_id to the CLOUDFRONT web ACL ARN",
        "Distribution 'edge' origin 'api' is not HTTPS/TLSv1.2-only; fix: "
        "origin_protocol_policy='https-only', origin_ssl_protocols=['TLSv1.2']",
    ]
    old_tls = distribution(
        viewerCertificate={"acmCertificateArn": "x", "minimumProtocolVersion": "TLSv1.2_2019"}
    )
    assert messages("cloudfront-https-tls-waf", old_tls) == [
        "Distribution 'edge' viewer TLS policy is 'TLSv1.2_2019'; fix: use an ACM certificate "
        "with minimum_protocol_version='TLSv1.2_2021' and sni-only"
    ]


def test_cloudfront_access_logging__compliant():
    assert messages("cloudfront-access-logging", distribution()) == []
    v2 = distribution(loggingConfig=None)
    source = res(c.LOG_DELIVERY_SOURCE, "edge-logs", resourceArn="arn:edge", logType="ACCESS_LOGS")
    assert messages("cloudfront-access-logging", v2, source) == []


def test_cloudfront_access_logging__violating():
    assert messages("cloudfront-access-logging", distribution(loggingConfig=None)) == [
        "Distribution 'edge' has no access logging; fix: set logging_config (S3) or declare an "
        "aws.cloudwatch.LogDeliverySource (log_type='ACCESS_LOGS') for it"
    ]


# --- API Gateway ------------------------------------------------------------------------------
def stage(**overrides) -> Res:
    props = {
        "restApi": "api-id",
        "stageName": "v1",
        "xrayTracingEnabled": True,
        "accessLogSettings": {"destinationArn": "arn:access", "format": "{}"},
        "cacheClusterEnabled": False,
    }
    return res(c.STAGE, "stage", **(props | overrides))


def method_settings(**settings) -> Res:
    values = {"loggingLevel": "ERROR", "dataTraceEnabled": False, "metricsEnabled": True}
    return res(
        c.METHOD_SETTINGS,
        "stage-all",
        restApi="api-id",
        stageName="v1",
        methodPath="*/*",
        settings=values | settings,
    )


WAF = res(c.WAF_ASSOCIATION, "stage-waf", resourceArn="arn:stage", webAclArn="arn:acl")


def test_api_stage_waf__compliant():
    assert messages("api-stage-waf", stage(), WAF) == []


def test_api_stage_waf__violating():
    elsewhere = res(c.WAF_ASSOCIATION, "other-waf", resourceArn="arn:other-stage")
    assert messages("api-stage-waf", stage(), elsewhere) == [
        "Stage 'stage' has no WAF web ACL; fix: declare aws.wafv2.WebAclAssociation with "
        "resource_arn=<stage>.arn and the regional web ACL"
    ]


def test_api_stage_logging_tracing__compliant():
    assert messages("api-stage-logging-tracing", stage(), method_settings()) == []
    info = method_settings(loggingLevel="INFO")
    assert messages("api-stage-logging-tracing", stage(), info) == []
    # Linked by the engine's property dependency on the stage (stage_name=stage.stage_name).
    linked = Res(
        urn="urn:ms",
        type=c.METHOD_SETTINGS,
        name="ms",
        props=dict(method_settings().props) | {"stageName": c.COMPUTED, "restApi": c.COMPUTED},
        deps={"stageName": frozenset({stage().urn})},
    )
    assert messages("api-stage-logging-tracing", stage(), linked) == []


def test_api_stage_logging_tracing__violating():
    bad = stage(accessLogSettings=None, xrayTracingEnabled=False, cacheClusterEnabled=True)
    assert messages("api-stage-logging-tracing", bad, method_settings(dataTraceEnabled=True)) == [
        "Stage 'stage': no access log destination (set access_log_settings); X-Ray tracing off "
        "(set xray_tracing_enabled=True); a response cache that may hold PHI (set "
        "cache_cluster_enabled=False); no '*/*' MethodSettings with logging_level ERROR or "
        "INFO, data_trace_enabled False and caching_enabled False"
    ]
    other_stage = method_settings()
    other_stage = res(c.METHOD_SETTINGS, "x", **(dict(other_stage.props) | {"stageName": "v2"}))
    assert messages("api-stage-logging-tracing", stage(), other_stage) == [
        "Stage 'stage': no '*/*' MethodSettings with logging_level ERROR or INFO, "
        "data_trace_enabled False and caching_enabled False"
    ]


# --- Lambda -----------------------------------------------------------------------------------
def function(**overrides) -> Res:
    props = {
        "runtime": "python3.12",
        "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logFormat": "JSON", "logGroup": "/mobile-backend/api"},
    }
    return res(c.FUNCTION, "api", **(props | overrides))


def test_lambda_tracing_runtime__compliant():
    assert messages("lambda-tracing-runtime", function()) == []
    assert messages("lambda-tracing-runtime", function(runtime="python3.13")) == []


def test_lambda_tracing_runtime__violating():
    bad = function(runtime="python3.9", tracingConfig={"mode": "PassThrough"})
    assert messages("lambda-tracing-runtime", bad) == [
        "Function 'api' has no active X-Ray tracing; fix: tracing_config={'mode': 'Active'}",
        "Function 'api' runtime 'python3.9' is not supported here; fix: use one of "
        "python3.12, python3.13",
    ]


def test_lambda_declared_log_group__compliant():
    group = res(c.LOG_GROUP, "api-logs", name="/mobile-backend/api", retentionInDays=365)
    assert messages("lambda-declared-log-group", function(), group) == []
    implicit = function(loggingConfig=None, name="api-fn")
    default_group = res(c.LOG_GROUP, "api-fn-logs", name="/aws/lambda/api-fn")
    assert messages("lambda-declared-log-group", implicit, default_group) == []


def test_lambda_declared_log_group__violating():
    assert messages("lambda-declared-log-group", function(loggingConfig=None)) == [
        "Function 'api' logs to an implicit log group with no retention or KMS; fix: declare "
        "an aws.cloudwatch.LogGroup and set logging_config.log_group"
    ]


# --- CloudWatch alarms ------------------------------------------------------------------------
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:alarms-topic"


def test_cloudwatch_alarm_actions__compliant():
    alarm = res(c.METRIC_ALARM, "a", alarmActions=[TOPIC_ARN], actionsEnabled=True)
    assert messages("cloudwatch-alarm-actions", alarm) == []
    # Unknown during preview (the topic is created in the same run): counts as set.
    preview = res(c.COMPOSITE_ALARM, "c", alarmActions=[c.COMPUTED])
    assert messages("cloudwatch-alarm-actions", preview) == []


def test_cloudwatch_alarm_actions__violating():
    silent = res(c.METRIC_ALARM, "a", okActions=[TOPIC_ARN])
    assert messages("cloudwatch-alarm-actions", silent) == [
        "MetricAlarm 'a' has no alarm action, so it changes state unseen; fix: "
        "alarm_actions=[<the region's alarm topic ARN>]"
    ]
    muted = res(c.COMPOSITE_ALARM, "c", alarmActions=[TOPIC_ARN], actionsEnabled=False)
    assert messages("cloudwatch-alarm-actions", muted) == [
        "CompositeAlarm 'c' has its actions disabled; fix: actions_enabled=True"
    ]
    empty = res(c.METRIC_ALARM, "e", alarmActions=[""])
    assert len(messages("cloudwatch-alarm-actions", empty)) == 1


# --- Aurora, proxy, KMS, logs -----------------------------------------------------------------
def cluster(**overrides) -> Res:
    props = {
        "storageEncrypted": True,
        "kmsKeyId": CMK,
        "deletionProtection": True,
        "backupRetentionPeriod": 7.0,
        "iamDatabaseAuthenticationEnabled": True,
    }
    return res(c.CLUSTER, "db", **(props | overrides))


def test_aurora_protection__compliant():
    assert messages("aurora-protection", cluster()) == []
    assert messages("aurora-protection", res(c.GLOBAL_CLUSTER, deletionProtection=True)) == []
    assert messages("aurora-protection", res(c.CLUSTER_INSTANCE, publiclyAccessible=False)) == []


def test_aurora_protection__violating():
    bad = cluster(
        deletionProtection=False, backupRetentionPeriod=1, iamDatabaseAuthenticationEnabled=None
    )
    assert messages("aurora-protection", bad) == [
        "Cluster 'db' can be deleted; fix: set deletion_protection=True",
        "Cluster 'db' keeps backups 1 day(s); fix: set backup_retention_period >= 7",
        "Cluster 'db' does not accept IAM authentication; fix: set "
        "iam_database_authentication_enabled=True",
    ]
    assert messages("aurora-protection", res(c.GLOBAL_CLUSTER, "g")) == [
        "GlobalCluster 'g' can be deleted; fix: set deletion_protection=True"
    ]
    assert messages("aurora-protection", res(c.CLUSTER_INSTANCE, "i", publiclyAccessible=True)) == [
        "ClusterInstance 'i' is publicly accessible; fix: set publicly_accessible=False"
    ]


def test_deletion_protection_is_required_wherever_personal_data_may_live():
    internal = {"data-classification": "internal"}
    deletable = cluster(deletionProtection=False)
    # A dev environment classified internal (synthetic data) may be torn down...
    assert (
        messages("aurora-protection", res(c.CLUSTER, "db", tags=internal, **deletable.props)) == []
    )
    assert messages("aurora-protection", res(c.GLOBAL_CLUSTER, "g", tags=internal)) == []
    weak_pool = res(
        c.USER_POOL, "users", tags=internal, mfaConfiguration="ON", passwordPolicy=STRONG
    )
    assert messages("cognito-user-pool-hardening", weak_pool) == []
    # ...but phi, pii and an unknown classification keep the control (fail closed).
    for tags in (PHI, {"data-classification": "pii"}, {}):
        tagged = res(c.CLUSTER, "db", tags=tags, **deletable.props)
        assert messages("aurora-protection", tagged) == [
            "Cluster 'db' can be deleted; fix: set deletion_protection=True"
        ]
    # Everything else still applies to an internal cluster.
    short = res(c.CLUSTER, "db", tags=internal, **cluster(backupRetentionPeriod=1).props)
    assert messages("aurora-protection", short) == [
        "Cluster 'db' keeps backups 1 day(s); fix: set backup_retention_period >= 7"
    ]


def test_rds_proxy_tls__compliant():
    assert messages("rds-proxy-tls", res(c.PROXY, requireTls=True)) == []


def test_rds_proxy_tls__violating():
    assert messages("rds-proxy-tls", res(c.PROXY, "proxy", requireTls=False)) == [
        "Proxy 'proxy' accepts unencrypted connections; fix: set require_tls=True"
    ]


def test_kms_key_rotation__compliant():
    assert messages("kms-key-rotation", res(c.KMS_KEY, enableKeyRotation=True)) == []
    # AWS cannot rotate asymmetric or HMAC keys: the control does not apply to them.
    signing = res(c.KMS_KEY, keyUsage="SIGN_VERIFY", customerMasterKeySpec="ECC_NIST_P256")
    assert messages("kms-key-rotation", signing) == []


def test_kms_key_rotation__violating():
    assert messages("kms-key-rotation", res(c.KMS_KEY, "k")) == [
        "Key 'k' does not rotate; fix: set enable_key_rotation=True"
    ]
    slow = res(c.KMS_KEY, "k", enableKeyRotation=True, rotationPeriodInDays=730.0)
    assert messages("kms-key-rotation", slow) == [
        "Key 'k' rotates every 730 days; fix: rotation_period_in_days <= 365"
    ]


def test_log_group_retention__compliant():
    assert messages("log-group-retention", res(c.LOG_GROUP, retentionInDays=365.0)) == []


@pytest.mark.parametrize("retention", [None, 0])
def test_log_group_retention__violating(retention):
    assert messages("log-group-retention", res(c.LOG_GROUP, "lg", retentionInDays=retention)) == [
        "LogGroup 'lg' keeps logs forever (no retention); fix: set retention_in_days "
        "(mobile-backend:logRetentionDays)"
    ]


# --- IAM --------------------------------------------------------------------------------------
SCOPED = doc({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "arn:aws:sqs:q"})
ADMIN = doc({"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"})


def test_iam_no_wildcard_admin__compliant():
    allowed = [
        res(c.INLINE_POLICIES[0], policy=SCOPED),
        res(c.INLINE_POLICIES[3], policy=doc({"Effect": "Deny", "Action": "*", "Resource": "*"})),
        # kms:* on * in a key policy's account statement is not '*' on '*'.
        res(
            c.INLINE_POLICIES[3],
            policy=doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
        ),
        res(c.ROLE, inlinePolicies=[{"name": "ok", "policy": SCOPED}]),
        res(c.POLICY_ATTACHMENTS[0], policyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ]
    assert messages("iam-no-wildcard-admin", *allowed) == []


def test_iam_no_wildcard_admin__violating():
    not_action = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": ["*"]})
    bad = [
        res(c.INLINE_POLICIES[0], "rp", policy=ADMIN),
        res(c.INLINE_POLICIES[3], "pol", policy=not_action),
        res(
            c.ROLE,
            "role",
            inlinePolicies=[{"name": "everything", "policy": ADMIN}],
            managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"],
        ),
        res(c.POLICY_ATTACHMENTS[0], "att", policyArn="arn:aws:iam::aws:policy/PowerUserAccess"),
    ]
    fix = "fix: list the actions and resource ARNs the principal needs (least privilege)"
    assert messages("iam-no-wildcard-admin", *bad) == [
        f"RolePolicy 'rp' policy: statement Admin allows '*' on '*'; {fix}",
        f"Policy 'pol' policy: statement 0 allows NotAction on '*'; {fix}",
        f"Role 'role' inline policy 'everything': statement Admin allows '*' on '*'; {fix}",
        "Role 'role' attaches arn:aws:iam::aws:policy/AdministratorAccess; fix: attach a "
        "scoped customer-managed policy",
        "RolePolicyAttachment 'att' attaches arn:aws:iam::aws:policy/PowerUserAccess; fix: "
        "attach a scoped customer-managed policy",
    ]


# --- Cognito ----------------------------------------------------------------------------------
STRONG = {
    "minimumLength": 12.0,
    "requireLowercase": True,
    "requireUppercase": True,
    "requireNumbers": True,
    "requireSymbols": True,
    "temporaryPasswordValidityDays": 3,
}


def test_cognito_user_pool_hardening__compliant():
    for mfa in ("ON", "OPTIONAL"):
        pool = res(
            c.USER_POOL, mfaConfiguration=mfa, passwordPolicy=STRONG, deletionProtection="ACTIVE"
        )
        assert messages("cognito-user-pool-hardening", pool) == []


def test_cognito_user_pool_hardening__violating():
    weak = STRONG | {"minimumLength": 8, "requireSymbols": False}
    pool = res(c.USER_POOL, "users", mfaConfiguration="OFF", passwordPolicy=weak)
    assert messages("cognito-user-pool-hardening", pool) == [
        "UserPool 'users' has MFA off; fix: mfa_configuration='ON' (or 'OPTIONAL')",
        "UserPool 'users' password policy is weak (minimum_length=8, missing "
        "['requireSymbols']); fix: minimum_length >= 12 and require lower, upper, numbers, "
        "symbols",
        "UserPool 'users' can be deleted with its users; fix: deletion_protection='ACTIVE'",
    ]


def test_cognito_no_unauthenticated_identities__compliant():
    assert messages("cognito-no-unauthenticated-identities", res(c.IDENTITY_POOL)) == []
    pool = res(c.IDENTITY_POOL, allowUnauthenticatedIdentities=False)
    assert messages("cognito-no-unauthenticated-identities", pool) == []


def test_cognito_no_unauthenticated_identities__violating():
    pool = res(c.IDENTITY_POOL, "ids", allowUnauthenticatedIdentities=True)
    assert messages("cognito-no-unauthenticated-identities", pool) == [
        "IdentityPool 'ids' hands AWS credentials to unauthenticated identities; fix: set "
        "allow_unauthenticated_identities=False"
    ]


# --- CloudTrail -------------------------------------------------------------------------------
GOOD_TRAIL = res(
    c.TRAIL,
    "audit",
    region="us-east-1",
    isMultiRegionTrail=True,
    enableLogFileValidation=True,
    kmsKeyId=CMK,
    cloudWatchLogsGroupArn="arn:aws:logs:us-east-1:123456789012:log-group:trail:*",
)


def test_cloudtrail_multi_region_validated__compliant():
    assert messages("cloudtrail-multi-region-validated", GOOD_TRAIL) == []


def test_cloudtrail_multi_region_validated__violating():
    bad = res(c.TRAIL, "audit", includeGlobalServiceEvents=False, enableLogging=False)
    assert messages("cloudtrail-multi-region-validated", bad) == [
        "Trail 'audit' is single-region; fix: is_multi_region_trail=True",
        "Trail 'audit' has no log file validation; fix: enable_log_file_validation=True",
        "Trail 'audit' is not KMS-encrypted with a CMK; fix: set kms_key_id",
        "Trail 'audit' is not delivered to CloudWatch Logs; fix: set cloud_watch_logs_group_arn",
        "Trail 'audit' skips global service events (IAM, STS); fix: remove the False",
        "Trail 'audit' is not logging; fix: enable_logging=True",
    ]


def test_cloudtrail_present__compliant():
    global_ctx = Context(transfer_mechanism=MECHANISM, role="global")
    assert messages("cloudtrail-present", GOOD_TRAIL, ctx=global_ctx) == []
    # Regional stacks rely on the global stack's trail.
    assert messages("cloudtrail-present", ctx=CTX) == []


def test_cloudtrail_present__violating():
    global_ctx = Context(transfer_mechanism=MECHANISM, role="global")
    single = res(c.TRAIL, "audit", enableLogFileValidation=True, kmsKeyId=CMK)
    assert messages("cloudtrail-present", single, ctx=global_ctx) == [
        "the global stack declares no multi-region CloudTrail with log file validation and "
        "KMS; fix: declare aws.cloudtrail.Trail(is_multi_region_trail=True, "
        "enable_log_file_validation=True, kms_key_id=...) in the global stack"
    ]


# --- GDPR residency ---------------------------------------------------------------------------
NO_MECHANISM = Context(transfer_mechanism=None, role="regional")
FIX = (
    "EU personal data outside the EU is a GDPR Chapter V transfer with no declared mechanism; "
    "fix: pulumi config set mobile-backend:gdprTransferMechanism "
    "'EU-US Data Privacy Framework + SCCs (2021/914)'"
)


def test_gdpr_residency__compliant():
    us_store = res(c.QUEUE, "q", region="us-west-1", tags=PHI)
    # Declared mechanism: US replicas are allowed.
    assert messages("gdpr-residency", us_store) == []
    # Without one: EU resources, non-personal data and untagged non-stores are fine.
    eu_store = res(c.QUEUE, "q", region="eu-west-1", tags=PHI)
    internal = res(c.QUEUE, "q", region="us-west-1", tags={"data-classification": "internal"})
    vpc = res("aws:ec2/vpc:Vpc", "vpc", region="us-west-1", tags=PHI)
    eu_secret = res(c.SECRET, "s", replicas=[{"region": "eu-central-1"}])
    assert messages("gdpr-residency", eu_store, internal, vpc, eu_secret, ctx=NO_MECHANISM) == []


def test_gdpr_residency__violating():
    found = messages(
        "gdpr-residency",
        res(c.BUCKET, "assets", region="us-west-1", tags=PHI),
        # Structure alone marks a secondary Aurora cluster, even without tags.
        res(c.CLUSTER, "db", region="us-west-1", globalClusterIdentifier="global-id"),
        res(c.BUCKET_REPLICATION, "us-to-eu", region="us-west-1"),
        res(c.SECRET, "origin-verify", region="us-east-1", replicas=[{"region": "us-west-1"}]),
        ctx=NO_MECHANISM,
    )
    assert found == [
        f"Bucket 'assets' in us-west-1 is tagged data-classification=phi: {FIX}",
        "Cluster 'db' in us-west-1 is a member of the Aurora global cluster (replica of the EU "
        f"primary): {FIX}",
        f"BucketReplicationConfig 'us-to-eu' in us-west-1 replicates objects between the "
        f"regions' buckets: {FIX}",
        "Secret 'origin-verify' is replicated to us-west-1 with no declared GDPR transfer "
        "mechanism; fix: pulumi config set mobile-backend:gdprTransferMechanism '<mechanism>'",
    ]


def test_gdpr_residency__empty_mechanism_counts_as_none():
    blank = Context(transfer_mechanism="  ", role="regional")
    assert len(messages("gdpr-residency", res(c.TOPIC, "t", "us-west-1", PHI), ctx=blank)) == 1
