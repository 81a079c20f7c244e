"""R-EDGE-1…6: certificate, WAF, CloudFront, web buckets, DNS and the origin-verify secret and
its rotation, as synthesized in the global stack."""

from __future__ import annotations

import hashlib
import json

import pytest

from components import edge as edge_module
from components.origin_verify import rotation_statements
from components.policy_documents import wildcard_violations
from stacks import contract
from tests.infra.harness import ACCOUNT, synthesize

DOMAIN = "mobile.examplehealth.eu"
REGIONS = ("eu-west-1", "us-west-1")


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unwrap_secret(value):
    """(plain value, was it a secret) of a recorded input."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return value["value"], True
    return value, False


def origins_of(distribution) -> list[dict]:
    return unwrap_secret(distribution.inputs["origins"])[0]


def mock_arn(synth, resource, service):
    """What the mocks answered as the resource's ARN."""
    assert resource.outputs["arn"].startswith(f"arn:aws:{service}:"), resource
    return resource.outputs["arn"]


@pytest.fixture(scope="module")
def distribution(global_synth):
    return global_synth.one("aws:cloudfront/distribution:Distribution")


def test_certificate_is_in_us_east_1_for_apex_and_www_validated_by_dns(global_synth):
    cert = global_synth.one("aws:acm/certificate:Certificate")
    assert global_synth.region_of(cert) == "us-east-1", cert
    assert cert.inputs["domainName"] == DOMAIN
    assert cert.inputs["subjectAlternativeNames"] == [f"www.{DOMAIN}"]
    assert cert.inputs["validationMethod"] == "DNS"
    zone = global_synth.one("aws:route53/zone:Zone")
    assert zone.inputs["name"] == DOMAIN
    records = [global_synth.named(f"edge-certificate-validation-{x}") for x in ("apex", "www")]
    for record, host in zip(records, (DOMAIN, f"www.{DOMAIN}"), strict=True):
        assert record.inputs["zoneId"] == f"Z{zone.name.upper().replace('-', '')}", record
        assert record.inputs["name"] == f"_validation.{host}.", record
        assert record.inputs["type"] == "CNAME"
    validation = global_synth.one("aws:acm/certificateValidation:CertificateValidation")
    assert global_synth.region_of(validation) == "us-east-1"
    assert validation.inputs["certificateArn"] == mock_arn(global_synth, cert, "acm")
    assert sorted(validation.inputs["validationRecordFqdns"]) == sorted(
        f"_validation.{h}" for h in (DOMAIN, f"www.{DOMAIN}")
    )


def test_existing_zone_is_adopted_not_created():
    synth = synthesize(
        "prod-global", overrides={"mobile-backend:hostedZoneId": "Z0123456789ABCDEFGHIJ"}
    )
    assert synth.of_type("aws:route53/zone:Zone") == []
    for record in synth.of_type("aws:route53/record:Record"):
        assert record.inputs["zoneId"] == "Z0123456789ABCDEFGHIJ", record
    assert synth.outputs[contract.HOSTED_ZONE_ID] == "Z0123456789ABCDEFGHIJ"


def test_hosted_zone_id_is_exported_for_the_regional_api_certificate(global_synth):
    zone = global_synth.one("aws:route53/zone:Zone")
    assert global_synth.outputs[contract.HOSTED_ZONE_ID] == (
        f"Z{zone.name.upper().replace('-', '')}"
    )
    assert contract.HOSTED_ZONE_ID == "hostedZoneId"


def test_web_acl_is_cloudfront_scoped_in_us_east_1_with_managed_groups_and_rate_limit(
    global_synth,
):
    acl = global_synth.one("aws:wafv2/webAcl:WebAcl")
    assert global_synth.region_of(acl) == "us-east-1", acl
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert acl.inputs["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
    groups = {
        r["statement"]["managedRuleGroupStatement"]["name"]: r
        for r in acl.inputs["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert set(groups) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    for rule in groups.values():
        assert rule["overrideAction"] == {"none": {}}, rule["name"]
        assert rule["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
    (rate,) = [r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert int(rate["statement"]["rateBasedStatement"]["limit"]) == 2000
    assert rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert rate["action"] == {"block": {}}
    priorities = [r["priority"] for r in acl.inputs["rules"]]
    assert len(set(priorities)) == len(priorities)


def test_rate_limit_follows_config():
    synth = synthesize("prod-global", overrides={"mobile-backend:edgeRateLimit": "750"})
    acl = synth.one("aws:wafv2/webAcl:WebAcl")
    (rate,) = [r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert int(rate["statement"]["rateBasedStatement"]["limit"]) == 750


def test_waf_logs_to_an_encrypted_retained_group_with_secrets_redacted(global_synth):
    logging = global_synth.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    acl = global_synth.one("aws:wafv2/webAcl:WebAcl")
    group = global_synth.named("edge-waf-logs")
    assert logging.inputs["resourceArn"] == mock_arn(global_synth, acl, "wafv2")
    assert logging.inputs["logDestinationConfigs"] == [mock_arn(global_synth, group, "cloudwatch")]
    assert group.inputs["name"].startswith("aws-waf-logs-"), group
    assert group.inputs["retentionInDays"] == 365
    logs_key = global_synth.named("edge-keys-logs")
    assert group.inputs["kmsKeyId"] == mock_arn(global_synth, logs_key, "kms")
    assert global_synth.region_of(group) == "us-east-1"
    redacted = {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]}
    assert redacted == {"authorization", "cookie", "x-origin-verify"}


def test_distribution_tls_protocols_price_class_aliases_and_waf(global_synth, distribution):
    assert global_synth.region_of(distribution) == "us-east-1"
    assert distribution.inputs["priceClass"] == "PriceClass_100"
    assert distribution.inputs["httpVersion"] == "http2and3"
    assert distribution.inputs["aliases"] == [DOMAIN, f"www.{DOMAIN}"]
    cert = distribution.inputs["viewerCertificate"]
    assert cert["sslSupportMethod"] == "sni-only"
    assert cert["minimumProtocolVersion"] == "TLSv1.2_2021"
    acm = global_synth.one("aws:acm/certificate:Certificate")
    assert cert["acmCertificateArn"] == mock_arn(global_synth, acm, "acm")
    acl = global_synth.one("aws:wafv2/webAcl:WebAcl")
    assert distribution.inputs["webAclId"] == mock_arn(global_synth, acl, "wafv2")
    behaviours = [distribution.inputs["defaultCacheBehavior"]]
    behaviours += distribution.inputs["orderedCacheBehaviors"]
    for behaviour in behaviours:
        assert behaviour["viewerProtocolPolicy"] == "redirect-to-https", behaviour
        policy = global_synth.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
        assert behaviour["responseHeadersPolicyId"] == f"{policy.name}-id"


def test_security_headers_policy_has_preloaded_hsts_of_a_year_or_more(global_synth):
    policy = global_synth.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    headers = policy.inputs["securityHeadersConfig"]
    hsts = headers["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] >= 31_536_000
    assert hsts["includeSubdomains"] is True and hsts["preload"] is True
    assert headers["frameOptions"]["frameOption"] == "DENY"
    assert headers["contentTypeOptions"]["override"] is True
    assert headers["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in headers["contentSecurityPolicy"]["contentSecurityPolicy"]


def test_standard_logging_goes_to_an_acl_enabled_log_bucket_with_the_delivery_grant(
    global_synth, distribution
):
    bucket = global_synth.named("edge-cdn-logs")
    assert global_synth.region_of(bucket) == "us-east-1"
    assert distribution.inputs["loggingConfig"]["bucket"] == (
        f"{bucket.inputs['bucket']}.s3.amazonaws.com"
    )
    assert distribution.inputs["loggingConfig"]["includeCookies"] is False
    ownership = global_synth.named("edge-cdn-logs-ownership")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerPreferred"
    acl = global_synth.named("edge-cdn-logs-acl")
    grantees = {
        g["grantee"]["id"]: g["permission"] for g in acl.inputs["accessControlPolicy"]["grants"]
    }
    assert grantees[edge_module.AWSLOGSDELIVERY_CANONICAL_ID] == "FULL_CONTROL"
    key = global_synth.named("edge-cdn-logs-key")
    assert global_synth.region_of(key) == "us-east-1"
    sse = global_synth.named("edge-cdn-logs-encryption").inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == mock_arn(
        global_synth, key, "kms"
    )
    key_policy = json.loads(key.inputs["policy"])
    (service,) = [s for s in key_policy["Statement"] if "Service" in s["Principal"]]
    assert service["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert "kms:GenerateDataKey*" in service["Action"]
    block = global_synth.named("edge-cdn-logs-public-access")
    assert block.inputs["blockPublicAcls"] is True and block.inputs["ignorePublicAcls"] is True


def test_default_behaviour_serves_web_through_an_origin_group_primary_first(distribution):
    origins = {o["originId"]: o for o in origins_of(distribution)}
    (group,) = distribution.inputs["originGroups"]
    assert distribution.inputs["defaultCacheBehavior"]["targetOriginId"] == group["originId"]
    assert [m["originId"] for m in group["members"]] == ["web-eu-west-1", "web-us-west-1"]
    assert set(group["failoverCriteria"]["statusCodes"]) >= {500, 502, 503, 504}
    for region in REGIONS:
        origin = origins[f"web-{region}"]
        assert origin["domainName"] == (
            f"mobile-backend-prod-web-{region}-{ACCOUNT}.s3.{region}.amazonaws.com"
        )
        assert origin["originAccessControlId"] == "edge-oac-id"
        assert "customHeaders" not in origin or not origin["customHeaders"]
    # Origin groups fail over only reads, so the web behaviour allows nothing else.
    assert set(distribution.inputs["defaultCacheBehavior"]["allowedMethods"]) == {
        "GET",
        "HEAD",
        "OPTIONS",
    }


def test_origin_access_control_signs_every_s3_request(global_synth):
    oac = global_synth.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert oac.inputs["signingBehavior"] == "always"
    assert oac.inputs["signingProtocol"] == "sigv4"


def test_api_behaviour_sends_origin_verify_over_tls12_and_forwards_authorization(
    global_synth, distribution
):
    origins, secret = unwrap_secret(distribution.inputs["origins"])
    assert secret, "origins carry the origin-verify value: they must stay a secret"
    (api,) = [o for o in origins if o["originId"] == edge_module.API_ORIGIN_ID]
    assert api["domainName"] == f"api.{DOMAIN}"
    custom = api["customOriginConfig"]
    assert custom["originProtocolPolicy"] == "https-only"
    assert custom["originSslProtocols"] == ["TLSv1.2"]
    (header,) = api["customHeaders"]
    assert header["name"] == contract.ORIGIN_VERIFY_HEADER == "X-Origin-Verify"
    # The secret's AWSCURRENT value read at deploy time (mocked "mock-<id>-<stage>"), not the
    # RandomPassword's initial result ("R" * 64): after a rotation, a deploy sends what the
    # WAFs accept instead of pushing the stale initial value back.
    assert header["value"] == (
        f"mock-arn:aws:secretsmanager:us-east-1:{ACCOUNT}:origin-verify-secret-AWSCURRENT"
    )
    (behaviour,) = distribution.inputs["orderedCacheBehaviors"]
    assert behaviour["pathPattern"] == f"/{contract.API_PATH_PREFIX}/*" == "/api/*"
    assert behaviour["targetOriginId"] == "api"
    assert set(behaviour["allowedMethods"]) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "PUT",
        "PATCH",
        "POST",
        "DELETE",
    }
    assert behaviour["originRequestPolicyId"] == edge_module.MANAGED_ALL_VIEWER_EXCEPT_HOST_HEADER
    cache = global_synth.one("aws:cloudfront/cachePolicy:CachePolicy")
    assert behaviour["cachePolicyId"] == f"{cache.name}-id"
    assert (cache.inputs["minTtl"], cache.inputs["defaultTtl"]) == (0, 0)
    assert cache.inputs["maxTtl"] <= 60
    key = cache.inputs["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["headersConfig"]["headers"]["items"] == ["Authorization"]
    assert key["cookiesConfig"]["cookieBehavior"] == "none"


def test_error_responses_are_never_cached(distribution):
    responses = {r["errorCode"]: r for r in distribution.inputs["customErrorResponses"]}
    assert {500, 502, 503, 504, 404, 403} <= set(responses)
    for code, response in responses.items():
        assert response["errorCachingMinTtl"] == 0, code
        assert "responsePagePath" not in response, f"{code} would rewrite API errors"


@pytest.mark.parametrize("region", REGIONS)
def test_web_bucket_is_private_encrypted_versioned_and_readable_only_by_the_distribution(
    global_synth, distribution, region
):
    bucket = global_synth.named(f"edge-web-{region}")
    assert global_synth.region_of(bucket) == region, bucket
    key = global_synth.named(f"edge-web-{region}-key")
    assert global_synth.region_of(key) == region
    sse = global_synth.named(f"edge-web-{region}-encryption")
    default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"] == mock_arn(global_synth, key, "kms")
    assert global_synth.named(f"edge-web-{region}-versioning").inputs[
        "versioningConfiguration"
    ] == {"status": "Enabled"}
    lifecycle = global_synth.named(f"edge-web-{region}-lifecycle").inputs["rules"][0]
    assert lifecycle["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    ownership = global_synth.named(f"edge-web-{region}-ownership")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    distribution_arn = mock_arn(global_synth, distribution, "cloudfront")
    policy = json.loads(global_synth.named(f"edge-web-{region}-policy").inputs["policy"])
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    key_policy = json.loads(global_synth.named(f"edge-web-{region}-key-policy").inputs["policy"])
    (cloudfront,) = [s for s in key_policy["Statement"] if s.get("Principal", {}).get("Service")]
    assert cloudfront["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert cloudfront["Action"] == "kms:Decrypt"
    assert cloudfront["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    logging = global_synth.named(f"edge-web-{region}-access-logs")
    assert (
        logging.inputs["targetBucket"]
        == global_synth.named(f"access-logs-{region}").inputs["bucket"]
    )


@pytest.mark.parametrize("region", REGIONS)
def test_web_app_is_deployed_to_every_region_with_content_type_and_hash(global_synth, region):
    objects = [
        o
        for o in global_synth.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o.inputs["bucket"] == f"edge-web-{region}-id"
    ]
    by_key = {o.inputs["key"]: o for o in objects}
    assert "index.html" in by_key, region
    index = by_key["index.html"]
    assert global_synth.region_of(index) == region
    assert index.inputs["contentType"] == "text/html; charset=utf-8"
    assert index.inputs["cacheControl"] == "no-cache"
    assert len(index.inputs["sourceHash"]) == 64


def test_alias_records_for_apex_and_www_point_at_the_distribution(global_synth, distribution):
    for host in (DOMAIN, f"www.{DOMAIN}"):
        for record_type in ("A", "AAAA"):
            (record,) = [
                r
                for r in global_synth.of_type("aws:route53/record:Record")
                if r.inputs["name"] == host and r.inputs["type"] == record_type
            ]
            (alias,) = record.inputs["aliases"]
            assert alias["name"] == f"{distribution.name}.cloudfront.net", record
            assert alias["zoneId"] == "Z2FDTNDATAQYW2"
    assert distribution.inputs["isIpv6Enabled"] is True


def test_origin_verify_secret_is_cmk_encrypted_and_replicated_to_every_region(global_synth):
    secret = global_synth.named("origin-verify-secret")
    assert global_synth.region_of(secret) == "us-east-1"
    assert secret.inputs["name"] == "mobile-backend/prod/origin-verify"
    assert secret.inputs["kmsKeyId"] == mock_arn(
        global_synth, global_synth.named("edge-keys-secrets"), "kms"
    )
    replicas = {r["region"]: r["kmsKeyId"] for r in secret.inputs["replicas"]}
    assert set(replicas) == set(REGIONS)
    for region in REGIONS:
        key = global_synth.named(f"replicated-secrets-{region}")
        assert replicas[region] == mock_arn(global_synth, key, "kms"), region
    value = global_synth.named("origin-verify-value")
    assert value.inputs["length"] >= 48 and value.inputs["special"] is False
    assert global_synth.outputs[contract.ORIGIN_VERIFY_SECRET_NAME] == secret.inputs["name"]


def test_rotation_runs_on_schedule_through_the_function_alias(global_synth):
    rotation = global_synth.one("aws:secretsmanager/secretRotation:SecretRotation")
    secret = global_synth.named("origin-verify-secret")
    assert rotation.inputs["secretId"] == mock_arn(global_synth, secret, "secretsmanager")
    assert rotation.inputs["rotationRules"]["automaticallyAfterDays"] == 30
    assert rotation.inputs["rotateImmediately"] is False
    alias = global_synth.named("origin-verify-rotation-function-alias")
    assert rotation.inputs["rotationLambdaArn"] == mock_arn(global_synth, alias, "lambda")
    function = global_synth.named("origin-verify-rotation-function-function")
    assert global_synth.region_of(function) == "us-east-1"
    assert function.inputs["handler"] == "handlers.origin_verify_rotation.main.handler"
    assert function.inputs["timeout"] == 900
    env = function.inputs["environment"]["variables"]
    assert json.loads(env["WEB_ACLS"]) == [
        {"region": r, "name": f"mobile-backend-prod-api-{r}"} for r in REGIONS
    ]
    assert env["ORIGIN_ID"] == "api" and env["HEADER_NAME"] == "X-Origin-Verify"
    assert env["DISTRIBUTION_ID"] == "edge-distribution-id"
    permission = global_synth.named("origin-verify-rotation-invoke")
    assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
    assert permission.inputs["sourceArn"] == mock_arn(global_synth, secret, "secretsmanager")
    assert permission.inputs["qualifier"] == "live"


def test_rotation_role_is_least_privilege(global_synth, distribution):
    policy = json.loads(
        global_synth.named("origin-verify-rotation-function-policy").inputs["policy"]
    )
    assert wildcard_violations(policy) == []
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    secret = global_synth.named("origin-verify-secret")
    assert by_sid["RotateThisSecret"]["Resource"] == mock_arn(
        global_synth, secret, "secretsmanager"
    )
    assert by_sid["ManageTheDistributionOriginHeader"]["Resource"] == mock_arn(
        global_synth, distribution, "cloudfront"
    )
    for region in REGIONS:
        waf = by_sid[f"UpdateWebAcl{region.replace('-', '').title()}"]
        assert waf["Action"] == ["wafv2:GetWebACL", "wafv2:UpdateWebACL"]
        assert (
            f"arn:aws:wafv2:{region}:{ACCOUNT}:regional/webacl/mobile-backend-prod-api-{region}/*"
            in waf["Resource"]
        )
        assert all(f":{region}:{ACCOUNT}:" in arn for arn in waf["Resource"])
    wildcards = {s["Sid"] for s in policy["Statement"] if s["Resource"] == "*"}
    assert wildcards <= {"WriteTraces", "GenerateValues", "FindWebAclsByName"}


def test_rotation_statements_are_a_pure_function():
    statements = rotation_statements(
        ACCOUNT,
        "us-east-1",
        "arn:secret",
        "arn:key",
        {"eu-west-1": "arn:replica"},
        "arn:dist",
        [("eu-west-1", "acl")],
    )
    sids = [s["Sid"] for s in statements]
    assert "EncryptReplicaInEuwest1" in sids and "UpdateWebAclEuwest1" in sids


def test_contract_exports_edge_outputs(global_synth, distribution):
    outputs = global_synth.outputs
    assert outputs[contract.DISTRIBUTION_ID] == distribution.mock_id
    assert outputs[contract.WEB_BUCKETS] == {
        r: f"mobile-backend-prod-web-{r}-{ACCOUNT}" for r in REGIONS
    }
    assert contract.api_web_acl_name("prod", "eu-west-1") == "mobile-backend-prod-api-eu-west-1"


def test_web_files_reads_types_cache_policy_and_hashes_skipping_hidden_files(tmp_path):
    from components.web_content import web_files

    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    files = {f.key: f for f in web_files(tmp_path)}
    assert set(files) == {"index.html", "assets/app.js"}
    assert files["index.html"].content_type == "text/html; charset=utf-8"
    assert files["index.html"].cache_control == "no-cache"
    assert files["assets/app.js"].content_type.endswith("javascript; charset=utf-8")
    assert files["assets/app.js"].cache_control.startswith("public, max-age=")
    assert files["index.html"].sha256 == hashlib.sha256(b"<!doctype html>").hexdigest()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no files"):
        web_files(empty)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        web_files(tmp_path / "missing")
