"""R-FN-1, R-API-1..5, R-AUTH-1..3: the logic and identity tiers of each regional stack."""

from __future__ import annotations

import hashlib
import json

import pytest

from components import openapi
from components.api_domain import failover_seconds
from tests.infra.harness import ACCOUNT, ROOT, synthesize

REGIONS = {"prod-eu": "eu-west-1", "prod-us": "us-west-1"}
PEER = {"prod-eu": "us-west-1", "prod-us": "eu-west-1"}
CIDR = {"prod-eu": "10.10.0.0/16", "prod-us": "10.20.0.0/16"}
FUNCTIONS = ("api", "subscriber", "user_directory", "user_migration", "authorizer", "push_relay")
# Standard library and the runtime's boto3 only: no dependency layer.
WITHOUT_LAYER = ("authorizer", "push_relay")
IN_VPC = ("api", "subscriber", "user_directory")
RTO_SECONDS = 60
# How a secret input reaches the mock monitor: Pulumi's secret sentinel around the value.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def unsecret(value):
    """(plain value, whether it was marked secret)."""
    if isinstance(value, dict) and SECRET_SIG in value.values() and "value" in value:
        return value["value"], True
    return value, False


@pytest.fixture(params=sorted(REGIONS))
def regional(request, regional_synths):
    return request.param, regional_synths[request.param]


def function(synth, fn):
    name = f"mobile-backend-prod-{fn.replace('_', '-')}"
    return synth.one("aws:lambda/function:Function", lambda r: r.inputs["name"] == name)


def alias_arn(synth, fn, region):
    """What the mocks answered for the function's ``live`` alias (Lambda's ARN shape)."""
    alias = synth.named(f"logic-{fn.replace('_', '-')}-alias")
    assert synth.region_of(alias) == region
    return alias.outputs["arn"]


def policy(synth, fn):
    name = f"logic-{fn.replace('_', '-')}-policy"
    return json.loads(
        synth.one("aws:iam/rolePolicy:RolePolicy", lambda r: r.name == name).inputs["policy"]
    )


def actions_of(doc):
    return {
        a
        for s in doc["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }


# --- functions ---------------------------------------------------------------------------


def test_only_the_database_functions_are_in_the_vpc(regional):
    stack, synth = regional
    sg = synth.one("aws:ec2/securityGroup:SecurityGroup", lambda r: r.name == "logic-functions")
    for fn in FUNCTIONS:
        inputs = function(synth, fn).inputs
        assert (inputs["runtime"], inputs["architectures"]) == ("python3.12", ["arm64"]), fn
        assert inputs["tracingConfig"] == {"mode": "Active"}, fn
        if fn in IN_VPC:
            # Its own egress group and the data tier's proxy-clients group.
            assert inputs["vpcConfig"]["securityGroupIds"] == [
                f"{sg.name}-id",
                "database-clients-sg-id",
            ], f"{stack} {fn}"
            assert len(inputs["vpcConfig"]["subnetIds"]) >= 2, f"{stack} {fn}"
        else:
            assert "vpcConfig" not in inputs, f"{stack}: {fn} must reach peer-region Cognito"


def test_function_security_group_reaches_only_endpoints_s3_and_postgres(regional):
    stack, synth = regional
    rules = synth.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    seen = {
        (r.inputs["fromPort"], r.inputs.get("cidrIpv4") or r.inputs.get("prefixListId"))
        for r in rules
        if r.name.startswith("logic-functions")
    }
    region = REGIONS[stack]
    assert seen == {(443, CIDR[stack]), (443, f"pl-s3-{region}"), (5432, CIDR[stack])}, stack
    sg = synth.one("aws:ec2/securityGroup:SecurityGroup", lambda r: r.name == "logic-functions")
    assert sg.inputs.get("ingress", []) == [] and sg.inputs["egress"] == []


def test_concurrency_comes_from_config(eu_synth, us_synth):
    # (reserved, provisioned) per function, from Pulumi.prod-*.yaml (user_migration: defaults).
    expected = [
        (
            eu_synth,
            {
                "api": (200, 2),
                "subscriber": (20, 0),
                "user_directory": (20, 0),
                "authorizer": (100, 1),
            },
        ),
        (
            us_synth,
            {
                "api": (100, 1),
                "subscriber": (10, 0),
                "user_directory": (10, 0),
                "authorizer": (50, 1),
            },
        ),
    ]
    configs = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
    for synth, per_fn in expected:
        per_fn.setdefault("user_migration", (10, 0))
        for fn, (reserved, provisioned) in per_fn.items():
            assert function(synth, fn).inputs["reservedConcurrentExecutions"] == reserved, fn
            name = f"logic-{fn.replace('_', '-')}-provisioned"
            mine = [c.inputs for c in synth.of_type(configs) if c.name == name]
            assert [c["provisionedConcurrentExecutions"] for c in mine] == (
                [provisioned] if provisioned else []
            ), f"{synth.stack} {fn}"
            assert all(c["qualifier"] == "live" for c in mine)


def test_dependency_layer_is_arm64_and_only_the_authorizer_skips_it(regional):
    stack, synth = regional
    layer = synth.one("aws:lambda/layerVersion:LayerVersion")
    assert layer.inputs["compatibleArchitectures"] == ["arm64"]
    assert layer.inputs["compatibleRuntimes"] == ["python3.12"]
    layer_arn = f"arn:aws:lambda:{REGIONS[stack]}:{ACCOUNT}:{layer.name}"
    for fn in FUNCTIONS:
        layers = function(synth, fn).inputs.get("layers", [])
        assert layers == ([] if fn in WITHOUT_LAYER else [layer_arn]), f"{stack} {fn}"


def test_environment_follows_the_handler_contract(regional):
    stack, synth = regional
    region, peer = REGIONS[stack], PEER[stack]
    envs = {fn: function(synth, fn).inputs["environment"]["variables"] for fn in FUNCTIONS}
    for fn, env in envs.items():
        # Lambda sets AWS_REGION itself and refuses functions that set reserved variables.
        assert "AWS_REGION" not in env, fn
    role = "primary" if stack == "prod-eu" else "secondary"
    assert envs["api"]["APP_ROLE_HINT"] == envs["subscriber"]["APP_ROLE_HINT"] == role
    assert envs["api"]["POWERTOOLS_SERVICE_NAME"] == "api"
    assert json.loads(envs["api"]["PUSH_PLATFORM_APPLICATIONS"]) == {}
    assert json.loads(envs["authorizer"]["USER_POOL_REGIONS"]) == ["eu-west-1", "us-west-1"]
    assert envs["authorizer"]["USER_POOL_NAME"] == "mobile-backend-prod-users"
    migration = envs["user_migration"]
    assert json.loads(migration["PEER_USER_POOL_REGIONS"]) == [peer], region
    assert migration["USER_POOL_NAME"] == "mobile-backend-prod-users"
    assert migration["LEGACY_AUTH_URL"] == "https://legacy-auth.examplehealth.eu/v1/authenticate"
    # The trigger reaches the Aurora directory through the in-VPC function's live alias.
    assert migration["USER_DIRECTORY_FUNCTION"] == alias_arn(synth, "user_directory", region)
    assert "DB_HOST" not in migration
    directory = envs["user_directory"]
    assert {k: v for k, v in directory.items() if k.startswith("DB_")} == {
        k: v for k, v in envs["api"].items() if k.startswith("DB_")
    }, "the directory function connects like the api: app login through the proxy"
    assert directory["APP_ROLE_HINT"] == role


def test_the_authorizer_takes_tokens_of_this_deployments_app_clients_only(regional):
    # R-AUTH-4: the clients named in its environment are the ones the identity tier creates
    # for apps in every region (same names), never the migration client; it may list the
    # clients of this account's pools in every serving region, and nothing more.
    stack, synth = regional
    environment = function(synth, "authorizer").inputs["environment"]["variables"]
    clients = {r.inputs["name"] for r in synth.of_type("aws:cognito/userPoolClient:UserPoolClient")}
    assert clients == {"web", "mobile", "migration"}, stack
    assert sorted(json.loads(environment["APP_CLIENT_NAMES"])) == ["mobile", "web"]
    listing = next(
        s
        for s in policy(synth, "authorizer")["Statement"]
        if s["Action"] == ["cognito-idp:ListUserPoolClients"]
    )
    assert listing["Resource"] == [
        f"arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/*" for region in sorted(REGIONS.values())
    ], stack


def test_the_api_reaches_other_regions_device_endpoints_only_through_the_relay(regional):
    # R-MSG-3: a device registered in the other region has its endpoint there; the api (in a
    # VPC whose endpoints serve this region only, no NAT) invokes the relay, which runs
    # outside the VPC and may make the four endpoint calls in every serving region.
    stack, synth = regional
    region = REGIONS[stack]
    api_env = function(synth, "api").inputs["environment"]["variables"]
    relay = function(synth, "push_relay").inputs
    assert api_env["PUSH_RELAY_FUNCTION"] == alias_arn(synth, "push_relay", region)
    assert json.loads(relay["environment"]["variables"]["PUSH_REGIONS"]) == sorted(REGIONS.values())
    assert "vpcConfig" not in relay or not relay["vpcConfig"], stack
    (reach,) = [
        s for s in policy(synth, "push_relay")["Statement"] if s.get("Sid", "").startswith("Reach")
    ]
    assert sorted(reach["Action"]) == [
        "sns:DeleteEndpoint",
        "sns:GetEndpointAttributes",
        "sns:Publish",
        "sns:SetEndpointAttributes",
    ]
    assert reach["Resource"] == [
        f"arn:aws:sns:{r}:{ACCOUNT}:endpoint/{platform}/mobile-backend-prod-{app}/*"
        for r in sorted(REGIONS.values())
        for platform, app in (("APNS", "apns"), ("APNS_SANDBOX", "apns"), ("GCM", "fcm"))
    ]
    sns_actions = {a for a in actions_of(policy(synth, "push_relay")) if a.startswith("sns:")}
    assert "sns:CreatePlatformEndpoint" not in sns_actions, "registration stays in its region"
    # The api's own SNS grants never name another region.
    for statement in policy(synth, "api")["Statement"]:
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        for resource in resources:
            if resource.startswith("arn:aws:sns:"):
                assert resource.split(":")[3] == region, f"{stack}: {resource}"


def test_directory_lookup_fits_inside_the_triggers_time(regional):
    stack, synth = regional
    directory = function(synth, "user_directory").inputs
    trigger = function(synth, "user_migration").inputs
    # Cognito gives the trigger 5 s; the trigger's client waits 4 s for the directory.
    assert trigger["timeout"] == 5
    assert directory["timeout"] < 4 < trigger["timeout"], stack


def test_each_function_role_holds_only_what_it_calls(regional):
    stack, synth = regional
    roles = {function(synth, fn).inputs["role"] for fn in FUNCTIONS}
    assert len(roles) == len(FUNCTIONS), f"{stack}: functions share a role"
    base = {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert actions_of(policy(synth, "authorizer")) == base | {
        "cognito-idp:ListUserPools",
        "cognito-idp:ListUserPoolClients",
    }
    migration = policy(synth, "user_migration")
    peer_statement = next(
        s for s in migration["Statement"] if s.get("Sid") == "AuthenticateAgainstPeerPools"
    )
    assert peer_statement["Resource"] == [
        f"arn:aws:cognito-idp:{PEER[stack]}:{ACCOUNT}:userpool/*"
    ], "the trigger may authenticate only against the peer region's pools"
    assert not any(a.startswith("ec2:") for a in actions_of(migration))
    invoke = [s for s in migration["Statement"] if "lambda:InvokeFunction" in s["Action"]]
    assert [s["Resource"] for s in invoke] == [
        [alias_arn(synth, "user_directory", REGIONS[stack])]
    ], "the trigger may invoke the directory function's alias and nothing else"
    api_invokes = [
        s for s in policy(synth, "api")["Statement"] if "lambda:InvokeFunction" in s["Action"]
    ]
    assert [s["Resource"] for s in api_invokes] == [
        [alias_arn(synth, "push_relay", REGIONS[stack])]
    ], "the api may invoke the push relay's alias and nothing else"
    for fn in set(FUNCTIONS) - {"user_migration", "api"}:
        assert not any(a.startswith("lambda:") for a in actions_of(policy(synth, fn))), fn
    directory = policy(synth, "user_directory")
    assert "rds-db:connect" in actions_of(directory)
    assert not any(a.startswith(("sns:", "s3:", "cognito-idp:")) for a in actions_of(directory))
    assert any(a.startswith("ec2:CreateNetworkInterface") for a in actions_of(policy(synth, "api")))


# --- REST API ------------------------------------------------------------------------------


def rest_api(synth):
    return synth.one("aws:apigateway/restApi:RestApi")


def body(synth):
    return json.loads(rest_api(synth).inputs["body"])


def test_rest_api_is_regional_and_built_from_the_openapi_document(regional):
    stack, synth = regional
    api = rest_api(synth)
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL"
    assert api.inputs["name"] == "mobile-backend-prod-api"
    doc = body(synth)
    api_uri = (
        f"arn:aws:apigateway:{REGIONS[stack]}:lambda:path/2015-03-31/functions/"
        f"{alias_arn(synth, 'api', REGIONS[stack])}/invocations"
    )
    ops = list(openapi.operations(doc))
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert {(m, p) for m, p, _ in ops} == {(m, p) for m, p, _ in openapi.operations(committed)}
    for method, path, operation in ops:
        assert operation["x-amazon-apigateway-integration"]["uri"] == api_uri, f"{method} {path}"
        # The token and the app's key together (R-OPS-2).
        secured = [{"CognitoUserPool": [], "app_key": []}]
        expected = [] if (method, path) == ("GET", "/health") else secured
        assert operation["security"] == expected, f"{stack}: {method} {path}"
    scheme = doc["components"]["securitySchemes"]["CognitoUserPool"]
    assert scheme["x-amazon-apigateway-authorizer"]["authorizerUri"] == api_uri.replace(
        alias_arn(synth, "api", REGIONS[stack]), alias_arn(synth, "authorizer", REGIONS[stack])
    )


def test_deployment_is_replaced_when_the_body_changes(regional):
    _, synth = regional
    deployment = synth.one("aws:apigateway/deployment:Deployment")
    sha = hashlib.sha256(rest_api(synth).inputs["body"].encode()).hexdigest()
    assert deployment.inputs["triggers"] == {"body-sha256": sha}
    stage = synth.one("aws:apigateway/stage:Stage")
    assert stage.inputs["deployment"] == f"{deployment.name}-id"


def test_stage_logs_traces_and_never_caches(regional):
    stack, synth = regional
    stage = synth.one("aws:apigateway/stage:Stage")
    assert stage.inputs["stageName"] == "api"
    assert stage.inputs["xrayTracingEnabled"] is True
    assert stage.inputs["cacheClusterEnabled"] is False
    access = synth.one("aws:cloudwatch/logGroup:LogGroup", lambda r: r.name == "api-access-logs")
    assert stage.inputs["accessLogSettings"]["destinationArn"].endswith(":api-access-logs")
    log_format = json.loads(stage.inputs["accessLogSettings"]["format"])
    values = set(log_format.values())
    assert "$context.resourcePath" in values and "$context.requestId" in values
    forbidden = ("$context.path", "$input", "$context.requestOverride", "$request")
    assert not any(v.startswith(forbidden) for v in values), f"{stack}: access log leaks data"
    executions = synth.one(
        "aws:cloudwatch/logGroup:LogGroup", lambda r: r.name == "api-execution-logs"
    )
    assert executions.inputs["name"] == "API-Gateway-Execution-Logs_api-rest-api-id/api"
    for group in (access, executions):
        assert group.inputs["kmsKeyId"].endswith(":keys-logs"), group.name
        assert group.inputs["retentionInDays"] == 365, group.name


def test_method_settings_throttle_and_keep_data_trace_off(regional):
    _, synth = regional
    settings = synth.one("aws:apigateway/methodSettings:MethodSettings")
    assert settings.inputs["methodPath"] == "*/*"
    assert settings.inputs["settings"] == {
        "metricsEnabled": True,
        "loggingLevel": "ERROR",
        "dataTraceEnabled": False,
        "throttlingRateLimit": 50,
        "throttlingBurstLimit": 100,
        "cachingEnabled": False,
    }


def test_api_gateway_has_a_cloudwatch_role_for_this_region(regional):
    _, synth = regional
    account = synth.one("aws:apigateway/account:Account")
    assert account.inputs["cloudwatchRoleArn"].endswith(":api-cloudwatch")
    role = synth.one("aws:iam/role:Role", lambda r: r.name == "api-cloudwatch")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}


def test_lambda_permissions_are_scoped_to_this_api(regional):
    stack, synth = regional
    execution_arn = f"arn:aws:execute-api:{REGIONS[stack]}:{ACCOUNT}:api-rest-api-id"
    permissions = {p.name: p.inputs for p in synth.of_type("aws:lambda/permission:Permission")}
    api = permissions["api-invoke-api"]
    assert api["principal"] == "apigateway.amazonaws.com"
    assert api["sourceArn"] == f"{execution_arn}/api/*/*"
    assert api["qualifier"] == "live"
    authorizer = permissions["api-invoke-authorizer"]
    assert authorizer["sourceArn"] == f"{execution_arn}/authorizers/*"
    assert authorizer["function"] == "mobile-backend-prod-authorizer"
    assert api["function"] == "mobile-backend-prod-api"


# --- WAF -----------------------------------------------------------------------------------


def test_web_acl_blocks_all_but_cloudfront_and_the_health_check(regional):
    stack, synth = regional
    region = REGIONS[stack]
    acl = synth.one("aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["name"] == f"mobile-backend-prod-api-{region}"
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"block": {}}
    all_rules, secret = unsecret(acl.inputs["rules"])
    assert secret, f"{stack}: the origin-verify values must be secret in state"
    rules = {r["name"]: r for r in all_rules}
    order = [r["name"] for r in sorted(all_rules, key=lambda r: r["priority"])]
    assert order[0] == "rate-limit" and order[-2:] == ["health-check", "origin-verify"]
    rate = rules["rate-limit"]["statement"]["rateBasedStatement"]
    # The viewer's address from CloudFront, not the edge server that connects.
    assert (rate["limit"], rate["aggregateKeyType"]) == (6000, "FORWARDED_IP")
    assert rate["forwardedIpConfig"] == {
        "headerName": "X-Forwarded-For",
        "fallbackBehavior": "MATCH",
    }
    managed = {
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in rules.values()
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    } <= managed
    for name in managed:
        assert rules[name]["overrideAction"] == {"none": {}}, f"{name} only counts"
    verify = rules["origin-verify"]
    assert verify["action"] == {"allow": {}}
    matches = [s["byteMatchStatement"] for s in verify["statement"]["orStatement"]["statements"]]
    assert {m["fieldToMatch"]["singleHeader"]["name"] for m in matches} == {"x-origin-verify"}
    secret = "mobile-backend/prod/origin-verify"
    # Rotated once, no rotation running: current, previous, and current again for "pending".
    assert [m["searchString"] for m in matches] == [
        f"mock-{secret}-AWSCURRENT",
        f"mock-{secret}-AWSPREVIOUS",
        f"mock-{secret}-AWSCURRENT",
    ]
    assert all(m["positionalConstraint"] == "EXACTLY" for m in matches)
    health = [
        s["byteMatchStatement"]
        for s in rules["health-check"]["statement"]["andStatement"]["statements"]
    ]
    assert {(tuple(h["fieldToMatch"]), h["searchString"]) for h in health} == {
        (("method",), "GET"),
        (("uriPath",), "/api/health"),
    }


def test_a_deploy_during_a_rotation_keeps_accepting_the_pending_value(global_synth, monkeypatch):
    # GIVEN the origin-verify secret is mid-rotation: after setSecret, CloudFront may already
    # be sending the AWSPENDING value
    from tests.infra import harness
    from tests.infra.conftest import global_stack_name

    monkeypatch.setattr(harness, "SECRET_STAGES", ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"))
    # WHEN a regional stack is deployed in that window
    synth = synthesize(
        "prod-us", stack_outputs={global_stack_name("prod-us"): global_synth.outputs}
    )
    acl = synth.one("aws:wafv2/webAcl:WebAcl")
    all_rules, secret = unsecret(acl.inputs["rules"])
    assert secret
    (verify,) = [r for r in all_rules if r["name"] == "origin-verify"]
    values = {
        s["byteMatchStatement"]["searchString"]
        for s in verify["statement"]["orStatement"]["statements"]
    }
    # THEN its web ACL accepts the pending value too (finishSecret narrows it afterwards)
    secret = "mobile-backend/prod/origin-verify"
    assert values == {f"mock-{secret}-{stage}" for stage in harness.SECRET_STAGES}


def test_web_acl_guards_the_stage_and_logs_without_credentials(regional):
    stack, synth = regional
    association = synth.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    stage = synth.one("aws:apigateway/stage:Stage")
    assert association.inputs["resourceArn"] == (
        f"arn:aws:apigateway:{REGIONS[stack]}::/restapis/api-rest-api-id/stages/api"
    )
    assert stage.inputs["stageName"] == "api"
    logging = synth.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    redacted = {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]}
    assert redacted == {"authorization", "x-origin-verify"}
    group = synth.one("aws:cloudwatch/logGroup:LogGroup", lambda r: r.name == "api-waf-logs")
    assert group.inputs["name"].startswith("aws-waf-logs-")
    assert group.inputs["kmsKeyId"].endswith(":keys-logs")
    assert logging.inputs["logDestinationConfigs"] == [
        f"arn:aws:cloudwatch:{REGIONS[stack]}:{ACCOUNT}:api-waf-logs"
    ]


def test_origin_verify_values_never_reach_stack_outputs(regional):
    _, synth = regional
    assert "origin-verify-AWS" not in json.dumps(synth.outputs, default=str)


# --- domain, DNS, health check ----------------------------------------------------------------


def test_custom_domain_uses_a_validated_regional_certificate(regional):
    _, synth = regional
    cert = synth.one("aws:acm/certificate:Certificate")
    assert (cert.inputs["domainName"], cert.inputs["validationMethod"]) == (
        "api.mobile.examplehealth.eu",
        "DNS",
    )
    validation = synth.one("aws:route53/record:Record", lambda r: "validation" in r.name)
    assert validation.inputs["zoneId"] == "ZEDGEZONE"  # the global stack's (edge tier) zone
    # The value ACM asked for (the harness answers "_token.<domain>.acm-validations.aws.").
    assert validation.inputs["records"] == [
        "_token.api.mobile.examplehealth.eu.acm-validations.aws."
    ]
    domain = synth.one("aws:apigateway/domainName:DomainName")
    assert domain.inputs["endpointConfiguration"]["types"] == "REGIONAL"
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    assert domain.inputs["regionalCertificateArn"].endswith(":api-domain-certificate")
    mapping = synth.one("aws:apigateway/basePathMapping:BasePathMapping")
    assert (mapping.inputs["basePath"], mapping.inputs["stageName"]) == ("api", "api")


def test_latency_record_with_health_check_fits_the_rto(regional, global_synth):
    stack, synth = regional
    region = REGIONS[stack]
    check = synth.one("aws:route53/healthCheck:HealthCheck", lambda r: r.inputs["type"] == "HTTPS")
    assert check.inputs["type"] == "HTTPS" and check.inputs["port"] == 443
    assert check.inputs["fqdn"] == f"api-rest-api-id.execute-api.{region}.amazonaws.com"
    assert check.inputs["resourcePath"] == "/api/health"
    assert check.inputs["enableSni"] is True
    interval, threshold = check.inputs["requestInterval"], check.inputs["failureThreshold"]
    assert (interval, threshold) == (10, 2)
    record = synth.one("aws:route53/record:Record", lambda r: r.name == "api-domain-latency")
    assert record.inputs["type"] == "CNAME", "an alias would inherit API Gateway's 60 s TTL"
    assert record.inputs["name"] == "api.mobile.examplehealth.eu"
    assert record.inputs["setIdentifier"] == region
    assert record.inputs["latencyRoutingPolicies"] == [{"region": region}]
    # The record heeds a calculated check: healthy only while this region's endpoint check AND
    # every Region switch plan check (the global stack's, for this region) are healthy.
    routing = synth.one("aws:route53/healthCheck:HealthCheck", lambda r: r.name.endswith("routing"))
    plan_checks = global_synth.outputs["regionSwitchHealthCheckIds"][region]
    assert plan_checks and all(region in c for c in plan_checks), plan_checks
    assert routing.inputs["type"] == "CALCULATED"
    assert routing.inputs["childHealthchecks"] == [f"{check.name}-id", *plan_checks]
    assert routing.inputs["childHealthThreshold"] == 1 + len(plan_checks)
    assert record.inputs["healthCheckId"] == f"{routing.name}-id"
    assert record.inputs["records"] == [
        f"d-api-domain-domain-id.execute-api.{region}.amazonaws.com"
    ]
    budget = failover_seconds(interval, threshold, record.inputs["ttl"])
    assert budget <= RTO_SECONDS, f"{stack}: DNS failover takes {budget} s"
    assert failover_seconds(10, 2, 60) > RTO_SECONDS, "an alias record's TTL would not fit"


# --- identity --------------------------------------------------------------------------------


def test_user_pool_policy_mfa_protection_and_migration_trigger(regional):
    stack, synth = regional
    pool = synth.one("aws:cognito/userPool:UserPool")
    inputs = pool.inputs
    assert inputs["name"] == "mobile-backend-prod-users"
    assert inputs["usernameAttributes"] == ["email"]
    password = inputs["passwordPolicy"]
    assert password["minimumLength"] >= 12
    assert all(
        password[k]
        for k in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols")
    )
    assert inputs["mfaConfiguration"] == "OPTIONAL"
    assert inputs["softwareTokenMfaConfiguration"] == {"enabled": True}
    assert inputs["deletionProtection"] == "ACTIVE"
    assert inputs["userPoolAddOns"] == {"advancedSecurityMode": "ENFORCED"}
    assert inputs["userPoolTier"] == "PLUS"
    region = REGIONS[stack]
    assert inputs["lambdaConfig"]["userMigration"] == alias_arn(synth, "user_migration", region)
    permission = synth.one(
        "aws:lambda/permission:Permission", lambda r: r.name == "identity-migration-trigger"
    )
    assert permission.inputs["principal"] == "cognito-idp.amazonaws.com"
    assert permission.inputs["sourceArn"] == (
        f"arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/{region}_identity-users-id"
    )
    assert permission.inputs["qualifier"] == "live"
    assert permission.inputs["function"] == "mobile-backend-prod-user-migration"


def test_app_clients_are_public_and_the_migration_client_is_admin_only(regional):
    _, synth = regional
    clients = {
        c.inputs["name"]: c.inputs
        for c in synth.of_type("aws:cognito/userPoolClient:UserPoolClient")
    }
    assert set(clients) == {"mobile", "web", "migration"}
    for name, client in clients.items():
        assert client["generateSecret"] is False, name
        assert client["preventUserExistenceErrors"] == "ENABLED", name
    for name in ("mobile", "web"):
        assert "ALLOW_USER_PASSWORD_AUTH" in clients[name]["explicitAuthFlows"], (
            "the migration trigger only sees passwords with USER_PASSWORD_AUTH"
        )
        assert "supportedIdentityProviders" not in clients[name], "no federation configured"
    assert clients["migration"]["explicitAuthFlows"] == ["ALLOW_ADMIN_USER_PASSWORD_AUTH"]


def test_the_cross_region_user_id_is_immutable_and_no_client_can_write_it(regional):
    _, synth = regional
    pool = synth.one("aws:cognito/userPool:UserPool").inputs
    (uid,) = [a for a in pool["schemas"] if a["name"] == "uid"]
    assert uid["mutable"] is False and uid["attributeDataType"] == "String"
    assert uid["stringAttributeConstraints"] == {"minLength": "36", "maxLength": "36"}
    for client in synth.of_type("aws:cognito/userPoolClient:UserPoolClient"):
        # Unset write attributes would mean "all writable ones", custom:uid included: anyone
        # could sign up through any client (SignUp ignores auth flows) claiming another's id.
        writable = client.inputs.get("writeAttributes")
        assert writable, f"{client.inputs['name']} must list its write attributes"
        assert "custom:uid" not in writable, client.inputs["name"]
        assert "email" in writable, client.inputs["name"]


def test_identity_pool_has_no_guests_and_a_scoped_authenticated_role(regional):
    _, synth = regional
    pool = synth.one("aws:cognito/identityPool:IdentityPool")
    assert pool.inputs["allowUnauthenticatedIdentities"] is False
    assert pool.inputs["allowClassicFlow"] is False
    providers = pool.inputs["cognitoIdentityProviders"]
    assert {p["clientId"] for p in providers} == {"identity-mobile-id", "identity-web-id"}
    assert all(p["serverSideTokenCheck"] for p in providers)
    role = synth.one("aws:iam/role:Role", lambda r: r.name == "identity-authenticated")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {
        "cognito-identity.amazonaws.com:aud": "identity-identities-id"
    }
    assert trust["Condition"]["ForAnyValue:StringLike"] == {
        "cognito-identity.amazonaws.com:amr": "authenticated"
    }
    attachment = synth.one("aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment")
    assert set(attachment.inputs["roles"]) == {"authenticated"}


def test_regional_outputs_name_the_api_and_identity(regional):
    _, synth = regional
    outputs = synth.outputs
    assert outputs["apiUrl"].endswith(".amazonaws.com/api")
    assert outputs["userPoolId"] == "identity-users-id"
    assert set(outputs["userPoolClientIds"]) == {"mobile", "web", "migration"}
    assert outputs["apiHealthCheckId"] == "api-domain-health-id"


def test_global_stack_exports_the_hosted_zone(global_synth):
    zone = global_synth.one("aws:route53/zone:Zone")
    assert global_synth.outputs["hostedZoneId"] == f"Z{zone.name.upper().replace('-', '')}"


# --- federation from config --------------------------------------------------------------------


@pytest.fixture(scope="module")
def federated(global_synth):
    return synthesize(
        "prod-us",
        overrides={
            "mobile-backend:federation": {
                "google": {"clientId": "g-id.apps.googleusercontent.com", "clientSecret": "g-s"},
                "facebook": {"clientId": "1234", "clientSecret": "fb-s"},
            },
            "mobile-backend:mfa": "ON",
        },
        stack_outputs={"examplehealth/mobile-backend/prod-global": global_synth.outputs},
    )


def test_federated_providers_come_from_config_with_a_hosted_domain(federated):
    providers = {
        p.inputs["providerType"]: p.inputs
        for p in federated.of_type("aws:cognito/identityProvider:IdentityProvider")
    }
    assert set(providers) == {"Google", "Facebook"}
    details, secret = unsecret(providers["Google"]["providerDetails"])
    assert secret, "the client secret must be a secret in state"
    assert details["client_id"] == "g-id.apps.googleusercontent.com"
    assert details["client_secret"] == "g-s"
    assert providers["Google"]["attributeMapping"]["email"] == "email"
    domain = federated.one("aws:cognito/userPoolDomain:UserPoolDomain")
    assert domain.inputs["domain"] == "mobile-backend-prod-us-west-1"
    web = federated.one(
        "aws:cognito/userPoolClient:UserPoolClient", lambda r: r.inputs["name"] == "web"
    )
    assert web.inputs["supportedIdentityProviders"] == ["COGNITO", "Facebook", "Google"]
    assert web.inputs["callbackUrls"] == ["https://mobile.examplehealth.eu/auth/callback"]
    assert web.inputs["allowedOauthFlows"] == ["code"]
    pool = federated.one("aws:cognito/userPool:UserPool")
    assert pool.inputs["mfaConfiguration"] == "ON"
