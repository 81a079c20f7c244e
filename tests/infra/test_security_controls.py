"""R-SEC-3 and R-OBS-5 on the synthesized stacks: each control holds on every resource it
applies to, in every stack, with the right peer (the region's own key, config, log bucket,
topic). Failure messages name the stack and the resource."""

from __future__ import annotations

import json

import pytest

from components.waf_rules import (
    ANONYMOUS_IP_GROUP,
    DEFAULT_RATE_LIMIT,
    HOSTING_PROVIDER_RULE,
    rate_limit_floor,
)
from tests.infra.harness import ACCOUNT, Resource, Synthesis, synthesize

FUNCTION = "aws:lambda/function:Function"
LAYER = "aws:lambda/layerVersion:LayerVersion"
CODE_SIGNING_CONFIG = "aws:lambda/codeSigningConfig:CodeSigningConfig"
SIGNING_PROFILE = "aws:signer/signingProfile:SigningProfile"
SIGNING_JOB = "aws:signer/signingJob:SigningJob"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
STACKS = ("prod-global", "prod-eu", "prod-us", "dev-global", "dev-eu", "dev-us")
REGIONAL = ("prod-eu", "prod-us", "dev-eu", "dev-us")
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _plain(value):
    return value["value"] if isinstance(value, dict) and SECRET_SIG in value else value


@pytest.fixture(scope="module")
def every_synth(all_synths, dev_synths) -> dict[str, Synthesis]:
    """The prod stacks and the dev environment: every control holds in both."""
    return {**all_synths, **dev_synths}


def _key_arn(synth: Synthesis, name: str) -> str:
    return synth.named(name).outputs["arn"]


def _environment_key(synth: Synthesis) -> str:
    return _key_arn(synth, "edge-keys-secrets" if synth.role == "global" else "keys-secrets")


# --- function environments and code signing --------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_every_function_encrypts_its_environment_with_the_regions_key(every_synth, stack):
    synth = every_synth[stack]
    functions = synth.of_type(FUNCTION)
    assert functions, stack
    key = _environment_key(synth)
    for fn in functions:
        assert fn.inputs.get("kmsKeyArn") == key, f"{stack}: {fn}"
        assert synth.region_of(synth.by_urn(_key_urn(synth, key))) == synth.region_of(fn), fn


def _key_urn(synth: Synthesis, arn: str) -> str:
    return next(k.urn for k in synth.of_type("aws:kms/key:Key") if k.outputs.get("arn") == arn)


@pytest.mark.parametrize("stack", STACKS)
def test_every_function_and_layer_runs_code_signed_for_its_regions_config(every_synth, stack):
    synth = every_synth[stack]
    (config,) = synth.of_type(CODE_SIGNING_CONFIG)
    (profile,) = synth.of_type(SIGNING_PROFILE)
    assert profile.inputs["platformId"] == "AWSLambda-SHA384-ECDSA"
    assert config.inputs["allowedPublishers"]["signingProfileVersionArns"] == [
        profile.outputs["versionArn"]
    ]
    # Production refuses unsigned code; a development stack logs it (codeSigningPolicy).
    policy = "Enforce" if stack.startswith("prod-") else "Warn"
    assert config.inputs["policies"] == {"untrustedArtifactOnDeployment": policy}, stack
    environment = stack.split("-")[0]
    jobs = {job.name: job for job in synth.of_type(SIGNING_JOB)}
    code = [*synth.of_type(FUNCTION), *synth.of_type(LAYER)]
    assert code, stack
    for resource in code:
        region = synth.region_of(resource)
        assert region == synth.region_of(config) == synth.region_of(profile), resource
        if resource.type == FUNCTION:
            assert resource.inputs["codeSigningConfigArn"] == config.outputs["arn"], resource
            assert "code" not in resource.inputs, f"{resource} deploys an unsigned archive"
        # The deployed object is the one this resource's signing job wrote.
        job = next(j for j in jobs.values() if j.parent == resource.parent)
        (signed,) = job.outputs["signedObjects"][0]["s3s"]
        assert (resource.inputs["s3Bucket"], resource.inputs["s3Key"]) == (
            signed["bucket"],
            signed["key"],
        ), resource
        assert job.inputs["profileName"] == profile.outputs["name"], resource
        # The global stack's bucket is named apart from a regional stack's in the same region.
        purpose = "global-artifacts" if synth.role == "global" else "artifacts"
        expected = f"mobile-backend-{environment}-{purpose}-{region}-{ACCOUNT}"
        assert signed["bucket"] == expected, resource


# --- DNS -----------------------------------------------------------------------------------------
def test_public_zone_logs_queries_in_us_east_1_encrypted_and_retained(global_synth):
    zone = global_synth.one("aws:route53/zone:Zone")
    query_log = global_synth.one("aws:route53/queryLog:QueryLog")
    group = global_synth.named("edge-dns-query-logs")
    assert query_log.inputs["zoneId"] == zone.outputs["zoneId"]
    assert query_log.inputs["cloudwatchLogGroupArn"] == group.outputs["arn"]
    assert group.inputs["name"] == f"/aws/route53/{zone.inputs['name']}"
    assert group.inputs["kmsKeyId"] == _key_arn(global_synth, "edge-keys-logs")
    assert group.inputs["retentionInDays"] == 365
    assert {global_synth.region_of(r) for r in (zone, query_log, group)} == {"us-east-1"}
    (writer,) = global_synth.of_type("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    (statement,) = json.loads(writer.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "route53.amazonaws.com"}
    assert statement["Resource"] == f"{group.outputs['arn']}:*"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert writer.urn in query_log.dependencies


def test_public_zone_is_signed_with_an_ecc_key_in_us_east_1(global_synth):
    zone = global_synth.one("aws:route53/zone:Zone")
    ksk = global_synth.one("aws:route53/keySigningKey:KeySigningKey")
    signing = global_synth.one("aws:route53/hostedZoneDnsSec:HostedZoneDnsSec")
    key = global_synth.named("edge-dnssec-key")
    assert ksk.inputs["hostedZoneId"] == signing.inputs["hostedZoneId"] == zone.outputs["zoneId"]
    assert ksk.inputs["keyManagementServiceArn"] == key.outputs["arn"]
    assert (ksk.inputs["status"], signing.inputs["signingStatus"]) == ("ACTIVE", "SIGNING")
    assert ksk.urn in signing.dependencies
    assert (key.inputs["keyUsage"], key.inputs["customerMasterKeySpec"]) == (
        "SIGN_VERIFY",
        "ECC_NIST_P256",
    )
    assert {global_synth.region_of(r) for r in (ksk, signing, key)} == {"us-east-1"}
    dnssec = [
        s
        for s in json.loads(key.inputs["policy"])["Statement"]
        if s.get("Principal") == {"Service": "dnssec-route53.amazonaws.com"}
    ]
    assert {a for s in dnssec for a in [s["Action"]] if isinstance(a, str)} == {"kms:CreateGrant"}
    assert dnssec[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    # The operator's DS record (docs/edge.md) is exported.
    assert global_synth.outputs["dnssecDsRecord"] == ksk.outputs["dsRecord"]


# --- buckets -------------------------------------------------------------------------------------
def _bucket_by_name(synth: Synthesis, name: str) -> Resource | None:
    return next((b for b in synth.of_type(BUCKET) if b.inputs.get("bucket") == name), None)


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_logs_into_its_regions_log_bucket_unless_it_is_one(every_synth, stack):
    synth = every_synth[stack]
    loggings = {r.inputs["bucket"]: r for r in synth.of_type(BUCKET_LOGGING)}
    targets = {r.inputs["targetBucket"] for r in loggings.values()}
    buckets = synth.of_type(BUCKET)
    assert buckets, stack
    for bucket in buckets:
        region = synth.region_of(bucket)
        environment = stack.split("-")[0]
        log_bucket = f"mobile-backend-{environment}-access-logs-{region}-{ACCOUNT}"
        if bucket.inputs["bucket"] == log_bucket:
            assert bucket.inputs["bucket"] in targets and bucket.mock_id not in loggings, bucket
            continue
        logging = loggings.get(bucket.mock_id)
        assert logging is not None, f"{stack}: {bucket} writes no access logs"
        # S3 delivers server access logs within a region only.
        assert logging.inputs["targetBucket"] == log_bucket, f"{stack}: {bucket}"
        assert synth.region_of(logging) == region, f"{stack}: {bucket}"


def test_the_cloudtrail_bucket_logs_access_into_the_us_east_1_log_bucket(global_synth):
    logging = global_synth.named("audit-bucket-access-logs")
    assert logging.inputs["bucket"] == global_synth.named("audit-bucket").mock_id
    log_bucket = global_synth.named("access-logs-us-east-1")
    assert logging.inputs["targetBucket"] == log_bucket.inputs["bucket"]
    assert global_synth.region_of(log_bucket) == global_synth.region_of(logging) == "us-east-1"


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_aborts_incomplete_multipart_uploads(every_synth, stack):
    synth = every_synth[stack]
    lifecycles = {r.inputs["bucket"]: r for r in synth.of_type(LIFECYCLE)}
    for bucket in synth.of_type(BUCKET):
        lifecycle = lifecycles.get(bucket.mock_id)
        assert lifecycle is not None, f"{stack}: {bucket} has no lifecycle"
        aborting = [
            rule
            for rule in lifecycle.inputs["rules"]
            if rule["status"] == "Enabled"
            and rule.get("abortIncompleteMultipartUpload") == {"daysAfterInitiation": 7}
            and rule.get("filter") in (None, {}, {"prefix": ""})
        ]
        assert aborting, f"{stack}: {bucket}"


# --- Aurora --------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", REGIONAL)
def test_every_instance_has_enhanced_monitoring_and_no_performance_insights(every_synth, stack):
    synth = every_synth[stack]
    role = synth.named("db-monitoring-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    attachment = synth.named("db-monitoring-policy")
    assert attachment.inputs["policyArn"].endswith("/AmazonRDSEnhancedMonitoringRole")
    group = synth.named("db-monitoring-logs")
    assert group.inputs["name"] == "RDSOSMetrics"
    assert group.inputs["kmsKeyId"] == _key_arn(synth, "keys-logs")
    assert group.inputs["retentionInDays"] == int(synth.config["mobile-backend:logRetentionDays"])
    instances = synth.of_type(INSTANCE)
    assert len(instances) >= 2, stack
    for instance in instances:
        assert instance.inputs["monitoringInterval"] == 60, f"{stack}: {instance}"
        assert instance.inputs["monitoringRoleArn"] == role.outputs["arn"], f"{stack}: {instance}"
        # docs/data.md, "Monitoring": off on purpose.
        assert instance.inputs["performanceInsightsEnabled"] is False, f"{stack}: {instance}"


# --- WAF -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", REGIONAL)
def test_regional_rate_rule_counts_the_viewer_with_headroom_over_the_design_load(
    every_synth, stack
):
    acl = every_synth[stack].one(WEB_ACL)
    rates = [
        r["statement"]["rateBasedStatement"]
        for r in _plain(acl.inputs["rules"])
        if "rateBasedStatement" in r["statement"]
    ]
    assert rates, stack
    for rate in rates:
        assert rate["aggregateKeyType"] == "FORWARDED_IP", stack
        assert rate["forwardedIpConfig"]["headerName"] == "X-Forwarded-For", stack
        if stack.startswith("prod-"):
            # Twice a region's whole design peak (600/min) per 5-minute window.
            assert rate["limit"] == DEFAULT_RATE_LIMIT == 2 * rate_limit_floor() == 6000, stack
    assert "AWSManagedRulesAnonymousIpList" not in json.dumps(_plain(acl.inputs["rules"]))


def _edge_groups(synth: Synthesis) -> dict[str, dict]:
    acl = synth.one(WEB_ACL, lambda r: r.inputs["scope"] == "CLOUDFRONT")
    return {
        rule["name"]: rule["statement"]["managedRuleGroupStatement"]
        for rule in acl.inputs["rules"]
        if "managedRuleGroupStatement" in rule["statement"]
    }


def test_anonymous_ip_list_is_off_at_the_edge_unless_switched_on(global_synth, lambda_build):
    assert ANONYMOUS_IP_GROUP not in _edge_groups(global_synth)
    on = synthesize("prod-global", overrides={"mobile-backend:edgeAnonymousIpList": "true"})
    group = _edge_groups(on)[ANONYMOUS_IP_GROUP]
    # Hosting providers are counted, not blocked (API clients and CI run on them).
    assert group["ruleActionOverrides"] == [
        {"name": HOSTING_PROVIDER_RULE, "actionToUse": {"count": {}}}
    ]


# --- alarms --------------------------------------------------------------------------------------
def _alarm_dimensions(alarm: Resource) -> list[tuple[str, str, dict]]:
    metrics = [
        (
            alarm.inputs.get("namespace"),
            alarm.inputs.get("metricName"),
            alarm.inputs.get("dimensions") or {},
        )
    ]
    for query in alarm.inputs.get("metricQueries") or []:
        metric = query.get("metric") or {}
        metrics.append(
            (metric.get("namespace"), metric.get("metricName"), metric.get("dimensions") or {})
        )
    return metrics


@pytest.mark.parametrize("stack", STACKS)
def test_every_function_has_errors_and_throttles_alarms_with_an_action(every_synth, stack):
    synth = every_synth[stack]
    alarms = synth.of_type(ALARM)
    for fn in synth.of_type(FUNCTION):
        for metric in ("Errors", "Throttles"):
            watching = [
                a
                for a in alarms
                for ns, name, dims in _alarm_dimensions(a)
                if (ns, name, dims.get("FunctionName")) == ("AWS/Lambda", metric, fn.inputs["name"])
            ]
            assert watching, f"{stack}: {fn} has no {metric} alarm"
            for a in watching:
                assert a.inputs["alarmActions"] and a.inputs["actionsEnabled"], a.name
                assert synth.region_of(a) == synth.region_of(fn), a.name


@pytest.mark.parametrize(
    ("stack", "functions"),
    [("prod-global", ["origin-verify-rotation"]), ("prod-eu", ["migrations", "db-rotation"])],
)
def test_rarely_invoked_functions_alarm_on_the_first_failure(all_synths, stack, functions):
    synth = all_synths[stack]
    for fn in functions:
        (errors,) = [a for a in synth.of_type(ALARM) if a.inputs["name"].endswith(f"-{fn}-errors")]
        assert (errors.inputs["metricName"], errors.inputs["threshold"]) == ("Errors", 0), fn
        assert (errors.inputs["evaluationPeriods"], errors.inputs["datapointsToAlarm"]) == (1, 1)


def test_global_stack_alarms_cloudfront_and_its_web_acl_on_its_own_topic(global_synth):
    topic = global_synth.one("aws:sns/topic:Topic", lambda t: t.name == "alarms-topic")
    assert global_synth.region_of(topic) == "us-east-1"
    distribution = global_synth.one("aws:cloudfront/distribution:Distribution")
    acl = global_synth.one(WEB_ACL, lambda r: r.inputs["scope"] == "CLOUDFRONT")
    alarms = {a.inputs["name"]: a for a in global_synth.of_type(ALARM)}
    five = alarms["mobile-backend-prod-global-cloudfront-5xx-rate"].inputs
    assert (five["namespace"], five["metricName"], five["threshold"]) == (
        "AWS/CloudFront",
        "5xxErrorRate",
        1,
    )
    assert five["dimensions"] == {"DistributionId": distribution.mock_id, "Region": "Global"}
    blocks = alarms["mobile-backend-prod-global-waf-blocked-spike"].inputs
    (m1,) = [q["metric"] for q in blocks["metricQueries"] if q.get("metric")]
    # CLOUDFRONT web ACL metrics carry no Region dimension.
    assert m1["dimensions"] == {"WebACL": acl.inputs["name"], "Rule": "ALL"}
    for name in (
        "mobile-backend-prod-global-cloudfront-5xx-rate",
        "mobile-backend-prod-global-waf-blocked-spike",
    ):
        assert alarms[name].inputs["alarmActions"] == [topic.outputs["arn"]], name
        assert global_synth.region_of(alarms[name]) == "us-east-1", name


@pytest.mark.parametrize("stack", ["prod-global", "prod-eu"])
def test_secret_rotation_failures_reach_the_alarm_topic_where_rotation_runs(every_synth, stack):
    synth = every_synth[stack]
    rotations = synth.of_type(SECRET_ROTATION)
    assert rotations, stack
    (rule,) = [r for r in synth.of_type(EVENT_RULE) if "RotationFailed" in r.inputs["eventPattern"]]
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.secretsmanager"]
    assert set(pattern["detail"]["eventName"]) == {"RotationFailed", "RotationAbandoned"}
    (target,) = [t for t in synth.of_type(EVENT_TARGET) if t.inputs["rule"] == rule.outputs["name"]]
    topic = next(
        t for t in synth.of_type("aws:sns/topic:Topic") if t.outputs["arn"] == target.inputs["arn"]
    )
    for rotation in rotations:
        # Secrets Manager rotates, and reports, in the secret's primary region.
        assert synth.region_of(rotation) == synth.region_of(rule) == synth.region_of(topic)


def test_no_rotation_no_rule_in_the_secondary(us_synth):
    assert us_synth.of_type(SECRET_ROTATION) == []
    assert not [
        r for r in us_synth.of_type(EVENT_RULE) if "RotationFailed" in r.inputs["eventPattern"]
    ]
