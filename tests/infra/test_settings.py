"""R-STACK-4: every validation rule rejects bad config with the key and the fix named."""

from __future__ import annotations

import json

import pytest

from settings import StackConfigError, parse
from tests.infra.harness import load_stack_config, synthesize

NS = "mobile-backend"


class DictSource:
    def __init__(self, values: dict[str, str]):
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def config_for(stack: str, **changes) -> dict[str, str]:
    values = load_stack_config(stack)
    for key, value in changes.items():
        full = key if ":" in key else f"{NS}:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value if isinstance(value, str) else json.dumps(value)
    return values


def parse_stack(stack: str, **changes):
    return parse(DictSource(config_for(stack, **changes)), project=NS, stack=stack)


def problems_of(stack: str, **changes) -> dict[str, str]:
    with pytest.raises(StackConfigError) as raised:
        parse_stack(stack, **changes)
    return {p.key: f"{p.message} | fix: {p.fix}" for p in raised.value.problems}


@pytest.mark.parametrize("stack", ["prod-global", "prod-eu", "prod-us"])
def test_shipped_stack_files_are_valid(stack):
    settings = parse_stack(stack)
    assert settings.stack == stack
    assert settings.primary_region == "eu-west-1"
    assert settings.region_names == ("eu-west-1", "us-west-1")


def test_roles_come_from_config_not_stack_name():
    assert parse_stack("prod-global").role == "global"
    eu = parse_stack("prod-eu")
    us = parse_stack("prod-us")
    assert (eu.role, eu.regional.is_primary) == ("regional", True)
    assert (us.role, us.regional.is_primary) == ("regional", False)
    renamed = parse(DictSource(config_for("prod-eu")), project=NS, stack="anything")
    assert renamed.role == "regional" and renamed.regional.region == "eu-west-1"


def test_regional_settings_carry_their_region_cidr_and_capacity():
    us = parse_stack("prod-us").regional
    assert us.cidr == "10.20.0.0/16"
    assert us.az_count == 2
    assert (us.db_capacity.min, us.db_capacity.max) == (0.5, 8.0)
    assert us.provisioned_concurrency["api"] == 1
    assert us.reserved_concurrency["api"] == 100


REGIONS = {"eu-west-1": {"cidr": "10.10.0.0/16"}, "us-west-1": {"cidr": "10.20.0.0/16"}}
APNS_CONFIG = {
    "signingKey": "-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMG\n-----END PRIVATE KEY-----",
    "keyId": "ABCDE12345",
    "teamId": "TEAM123456",
    "bundleId": "eu.examplehealth.app",
    "sandbox": True,
}
FCM_CONFIG = {
    "serviceAccountJson": json.dumps(
        {
            "type": "service_account",
            "project_id": "examplehealth",
            "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
            "client_email": "sns@examplehealth.iam.gserviceaccount.com",
        }
    )
}

BAD_CONFIG = [
    # (stack, changes, key that must be named, words the message or fix must contain)
    ("prod-eu", {"role": "edge"}, "role", "global|regional"),
    ("prod-eu", {"role": None}, "role", "required"),
    (
        "prod-global",
        {"regions": {**REGIONS, "eu-east-1": {"cidr": "10.30.0.0/16"}}},
        "regions",
        "not an AWS region",
    ),
    ("prod-eu", {"aws:region": "eu-east-1"}, "aws:region", "not an AWS region"),
    ("prod-global", {"primaryRegion": "eu-central-1"}, "primaryRegion", "add eu-central-1"),
    ("prod-eu", {"aws:region": "eu-central-1"}, "aws:region", "add eu-central-1 to regions"),
    (
        "prod-eu",
        {"regions": {"eu-west-1": {"cidr": "10.10.0.0/33"}, "us-west-1": REGIONS["us-west-1"]}},
        "regions.eu-west-1.cidr",
        "not a valid CIDR",
    ),
    (
        "prod-eu",
        {"regions": {"eu-west-1": {"cidr": "10.10.0.1/16"}, "us-west-1": REGIONS["us-west-1"]}},
        "regions.eu-west-1.cidr",
        "host bits",
    ),
    (
        "prod-eu",
        {"regions": {"eu-west-1": {"cidr": "10.0.0.0/8"}, "us-west-1": REGIONS["us-west-1"]}},
        "regions.eu-west-1.cidr",
        "/16 to /24",
    ),
    (
        "prod-eu",
        {"regions": {"eu-west-1": {"cidr": "8.8.0.0/16"}, "us-west-1": REGIONS["us-west-1"]}},
        "regions.eu-west-1.cidr",
        "private",
    ),
    (
        "prod-eu",
        {
            "regions": {
                "eu-west-1": {"cidr": "10.10.0.0/16"},
                "us-west-1": {"cidr": "10.10.128.0/17"},
            }
        },
        "regions.us-west-1.cidr",
        "overlaps eu-west-1",
    ),
    (
        "prod-eu",
        {"regions": {"eu-west-1": {}, "us-west-1": REGIONS["us-west-1"]}},
        "regions.eu-west-1.cidr",
        "required",
    ),
    ("prod-global", {"domain": None}, "domain", "required"),
    ("prod-global", {"domain": "Not A Domain"}, "domain", "DNS name"),
    ("prod-eu", {"alarmEmail": "oncall-at-example"}, "alarmEmail", "not an email"),
    ("prod-eu", {"alarmEmail": None}, "alarmEmail", "required"),
    ("prod-eu", {"dbCapacity": {"min": -1, "max": 8}}, "dbCapacity.min", "negative"),
    ("prod-eu", {"dbCapacity": {"min": 0.5, "max": -2}}, "dbCapacity.max", "negative"),
    ("prod-eu", {"dbCapacity": {"min": 16, "max": 4}}, "dbCapacity", "greater than max"),
    ("prod-eu", {"dbCapacity": {"min": 0.7, "max": 4}}, "dbCapacity.min", "steps of 0.5"),
    ("prod-eu", {"provisionedConcurrency": {"api": -1}}, "provisionedConcurrency.api", "negative"),
    ("prod-eu", {"reservedConcurrency": {"api": -5}}, "reservedConcurrency.api", "negative"),
    (
        "prod-eu",
        {"provisionedConcurrency": {"api": 500}},
        "provisionedConcurrency.api",
        "exceeds reservedConcurrency.api",
    ),
    (
        "prod-eu",
        {"provisionedConcurrency": {"apii": 1}},
        "provisionedConcurrency.apii",
        "unknown function",
    ),
    (
        "prod-eu",
        {"snapStart": {"api": True}},
        "snapStart.api",
        "provisionedConcurrency.api (2) cannot both be on",
    ),
    ("prod-eu", {"snapStart": {"apii": True}}, "snapStart.apii", "unknown function"),
    ("prod-eu", {"snapStart": {"subscriber": "yes"}}, "snapStart.subscriber", "true or false"),
    ("prod-eu", {"snapStart": ["api"]}, "snapStart", "map of function name"),
    ("prod-us", {"vpcEndpointAzCount": "3"}, "vpcEndpointAzCount", "exceeds azCount (2)"),
    ("prod-eu", {"vpcEndpointAzCount": "0"}, "vpcEndpointAzCount", "outside 1..6"),
    ("prod-eu", {"idleCostBudget": "cheap"}, "idleCostBudget", "not a number"),
    ("prod-global", {"idleCostBudget": "-5"}, "idleCostBudget", "outside 0 < budget"),
    ("prod-eu", {"globalStack": None}, "globalStack", "required"),
    ("prod-eu", {"globalStack": "prod-global"}, "globalStack", "<org>/<project>/<stack>"),
    ("prod-eu", {"azCount": "1"}, "azCount", "outside 2..6"),
    ("prod-eu", {"logRetentionDays": "42"}, "logRetentionDays", "not a CloudWatch Logs"),
    ("prod-eu", {"environment": "Prod!"}, "environment", "lowercase"),
    ("prod-eu", {"subscriberBatch": {"size": 0}}, "subscriberBatch.size", "outside 1..10000"),
    (
        "prod-eu",
        {"subscriberBatch": {"size": 10, "windowSeconds": 301}},
        "subscriberBatch.windowSeconds",
        "outside 0..300",
    ),
    (
        "prod-eu",
        {"subscriberBatch": {"size": 50, "windowSeconds": 0}},
        "subscriberBatch.windowSeconds",
        "at least 1 s",
    ),
    ("prod-eu", {"subscriberBatch": {"size": "ten"}}, "subscriberBatch.size", "not a whole"),
    ("prod-eu", {"dlqMaxReceiveCount": "2"}, "dlqMaxReceiveCount", "outside 5..1000"),
    ("prod-global", {"auditLogRetentionDays": "0"}, "auditLogRetentionDays", "outside 1..3653"),
    ("prod-eu", {"pushApns": {**APNS_CONFIG}}, "pushApns.signingKey", "--secret"),
    (
        "prod-eu",
        {"pushApns": {**APNS_CONFIG, "signingKey": "not a key"}},
        "pushApns.signingKey",
        ".p8 signing key",
    ),
    ("prod-eu", {"pushApns": {**APNS_CONFIG, "keyId": "abc"}}, "pushApns.keyId", "10-character"),
    ("prod-eu", {"pushApns": {**APNS_CONFIG, "teamId": None}}, "pushApns.teamId", "10-character"),
    (
        "prod-eu",
        {"pushApns": {**APNS_CONFIG, "bundleId": "no spaces allowed"}},
        "pushApns.bundleId",
        "bundle identifier",
    ),
    ("prod-eu", {"pushApns": {**APNS_CONFIG, "sandbox": "yes"}}, "pushApns.sandbox", "true or"),
    (
        "prod-eu",
        {"pushFcm": {"serviceAccountJson": "{}"}},
        "pushFcm.serviceAccountJson",
        "key JSON",
    ),
    (
        "prod-eu",
        {"pushFcm": {"serviceAccountJson": json.dumps({"type": "service_account"})}},
        "pushFcm.serviceAccountJson",
        "lacks project_id, private_key, client_email",
    ),
    ("prod-eu", {"pushFcm": {**FCM_CONFIG}}, "pushFcm.serviceAccountJson", "--secret"),
    ("prod-global", {"dbEngineVersion": "15.2"}, "dbEngineVersion", "global write forwarding"),
    ("prod-global", {"dbEngineVersion": "14.8"}, "dbEngineVersion", "14.9+"),
    ("prod-global", {"dbEngineVersion": "16"}, "dbEngineVersion", "major.minor"),
    ("prod-global", {"dbEngineVersion": "13.12"}, "dbEngineVersion", "16.6"),
    ("prod-eu", {"dbSecretRotationDays": "31"}, "dbSecretRotationDays", "outside 1..30"),
    ("prod-eu", {"dbSecretRotationDays": "0"}, "dbSecretRotationDays", "outside 1..30"),
    ("prod-eu", {"dbRpoSeconds": "10"}, "dbRpoSeconds", "outside 20.."),
    ("prod-eu", {"dbRpoSeconds": "soon"}, "dbRpoSeconds", "not an integer"),
    (
        "prod-eu",
        {"dbWriteForwardConsistency": "SESSION"},
        "dbWriteForwardConsistency",
        "unsupported there",
    ),
    ("prod-eu", {"dbInstanceCount": "1"}, "dbInstanceCount", "outside 2..16"),
    ("prod-global", {"dbSecretHomeRegion": "eu-central-1"}, "dbSecretHomeRegion", "never change"),
    ("prod-global", {"devAccountRoleArn": "dev-role"}, "devAccountRoleArn", "not an IAM role"),
    (
        "prod-global",
        {"devAccountRoleArn": "arn:aws:iam::123:user/x"},
        "devAccountRoleArn",
        "role/<name>",
    ),
    # Logic and identity tiers.
    ("prod-eu", {"mfa": "SOMETIMES"}, "mfa", "not an MFA mode"),
    ("prod-eu", {"wafRateLimit": "5"}, "wafRateLimit", "outside 10..2000000000"),
    # Below one region's design peak per 5 minutes (600/min x 5).
    ("prod-eu", {"wafRateLimit": "2999"}, "wafRateLimit", "below one region's design peak"),
    ("prod-eu", {"apiThrottle": {"rateLimit": 0}}, "apiThrottle.rateLimit", "positive"),
    ("prod-eu", {"apiThrottle": {"burstLimit": 2.5}}, "apiThrottle.burstLimit", ">= 1"),
    ("prod-eu", {"apiThrottle": "fast"}, "apiThrottle", "not a YAML/JSON object"),
    ("prod-eu", {"apiLoggingLevel": "DEBUG"}, "apiLoggingLevel", "ERROR or INFO"),
    ("prod-eu", {"legacyAuthUrl": "http://legacy.example.com/auth"}, "legacyAuthUrl", "https"),
    ("prod-eu", {"federation": {"twitter": {}}}, "federation.twitter", "unknown provider"),
    (
        "prod-eu",
        {"federation": {"google": {"clientId": "abc"}}},
        "federation.google.clientSecret",
        "required",
    ),
    ("prod-eu", {"healthCheck": {"interval": 15}}, "healthCheck.interval", "10 or 30"),
    (
        "prod-eu",
        {"healthCheck": {"failureThreshold": 0}},
        "healthCheck.failureThreshold",
        "1..10",
    ),
    ("prod-eu", {"dnsTtlSeconds": "600"}, "dnsTtlSeconds", "outside 1..300"),
    (
        "prod-eu",
        {"reservedConcurrency": {"authorizer": -1}},
        "reservedConcurrency.authorizer",
        "negative",
    ),
    ("prod-global", {"hostedZoneId": "not-a-zone"}, "hostedZoneId", "hosted zone id"),
    ("prod-global", {"edgeRateLimit": "5"}, "edgeRateLimit", "outside 10..2000000000"),
    ("prod-global", {"edgeRateLimit": "lots"}, "edgeRateLimit", "not an integer"),
    ("prod-global", {"edgeAnonymousIpList": "maybe"}, "edgeAnonymousIpList", "true or false"),
    # Code signing: Enforce or Warn, and never Warn in production (R-SEC-3).
    ("prod-eu", {"codeSigningPolicy": "Off"}, "codeSigningPolicy", "not a code signing policy"),
    ("prod-global", {"codeSigningPolicy": "Warn"}, "codeSigningPolicy", "run unsigned code"),
    (
        "prod-global",
        {"originVerifyRotationDays": "0"},
        "originVerifyRotationDays",
        "outside 1..365",
    ),
    (
        "prod-global",
        {"assetsNoncurrentVersionDays": "0"},
        "assetsNoncurrentVersionDays",
        "outside 1..3650",
    ),
    ("prod-global", {"regionSwitchApproval": "maybe"}, "regionSwitchApproval", "true or false"),
    ("prod-global", {"computeOptimizer": "yes"}, "computeOptimizer", "true or false"),
    ("prod-global", {"appKeys": None}, "appKeys", "no API key value per app client"),
    ("prod-global", {"appKeys": {"ios": "x" * 20}}, "appKeys", "must name exactly ios"),
    (
        "prod-global",
        {"appKeys": {"ios": "short", "android": "a" * 20, "web": "w" * 20}},
        "appKeys.ios",
        "not a valid API Gateway key value",
    ),
    (
        "prod-global",
        {"appKeys": {"ios": "s" * 20, "android": "s" * 20, "web": "w" * 20}},
        "appKeys",
        "two apps share a key",
    ),
    (
        "prod-eu",
        {
            "appUsagePlans": {
                "ios": {"rateLimit": 0, "burstLimit": 1, "dailyQuota": 1},
                "android": {"rateLimit": 1, "burstLimit": 1, "dailyQuota": 1},
                "web": {"rateLimit": 1, "burstLimit": 1, "dailyQuota": 1},
            }
        },
        "appUsagePlans.ios",
        "below its minimum",
    ),
    (
        "prod-eu",
        {"releaseConfig": "CodeDeployDefault.AllAtOnce"},
        "releaseConfig",
        "not a CodeDeploy Lambda deployment configuration",
    ),
]


def test_release_and_compute_optimizer_settings_follow_the_environment():
    # Prod releases are canaries and the prod account is enrolled; dev ships at once, unenrolled.
    assert "Canary" in parse_stack("prod-eu").regional.release_config
    assert parse_stack("dev-eu").regional.release_config == "CodeDeployDefault.LambdaAllAtOnce"
    assert parse_stack("prod-global").compute_optimizer is True
    assert parse_stack("dev-global").compute_optimizer is False
    assert parse_stack("prod-global", computeOptimizer=None).compute_optimizer is False


def test_region_switch_approval_is_on_unless_an_environment_turns_it_off():
    assert parse_stack("prod-global").region_switch_approval is True
    assert parse_stack("prod-global", regionSwitchApproval=None).region_switch_approval is True
    assert parse_stack("prod-global", regionSwitchApproval="false").region_switch_approval is False


@pytest.mark.parametrize(
    ("stack", "changes", "key", "words"),
    BAD_CONFIG,
    ids=[f"{case[2]}-{i}" for i, case in enumerate(BAD_CONFIG)],
)
def test_bad_config_is_rejected_naming_key_and_fix(stack, changes, key, words):
    problems = problems_of(stack, **changes)
    full_key = key if ":" in key else f"{NS}:{key}"
    assert full_key in problems, f"expected {full_key} among {list(problems)}"
    assert words in problems[full_key]
    assert "fix:" in problems[full_key] and len(problems[full_key].split("fix:")[1]) > 8


def test_edge_settings_come_from_the_global_stack_file_with_defaults_elsewhere():
    edge = parse_stack("prod-global").edge
    assert (edge.hosted_zone_id, edge.rate_limit, edge.origin_verify_rotation_days) == (
        None,
        2000,
        30,
    )
    assert edge.noncurrent_version_days == 30
    adopted = parse_stack("prod-global", hostedZoneId="Z0123456789ABCDEFGHIJ").edge
    assert adopted.hosted_zone_id == "Z0123456789ABCDEFGHIJ"


def test_all_problems_are_reported_together():
    problems = problems_of("prod-eu", alarmEmail="nope", azCount="9", domain="x")
    assert {f"{NS}:alarmEmail", f"{NS}:azCount", f"{NS}:domain"} <= set(problems)


def test_error_text_lists_every_problem_with_its_fix():
    with pytest.raises(StackConfigError) as raised:
        parse_stack("prod-eu", primaryRegion="us-east-2")
    text = str(raised.value)
    assert "mobile-backend:primaryRegion" in text
    assert "'us-east-2' is not one of the serving regions (eu-west-1, us-west-1)" in text
    assert "fix:" in text


@pytest.mark.parametrize(
    ("stack", "key", "value", "named"),
    [
        ("prod-eu", "mobile-backend:primaryRegion", "eu-east-1", "mobile-backend:primaryRegion"),
        ("prod-us", "mobile-backend:alarmEmail", "not-an-email", "mobile-backend:alarmEmail"),
        (
            "prod-global",
            "mobile-backend:regions",
            '{"eu-west-1": {"cidr": "10.10.0.0/16"}, "us-west-1": {"cidr": "10.10.0.0/20"}}',
            "mobile-backend:regions.us-west-1.cidr",
        ),
    ],
)
def test_broken_stack_file_fails_the_program_before_any_resource(stack, key, value, named):
    with pytest.raises(StackConfigError) as raised:
        synthesize(stack, overrides={key: value})
    assert named in str(raised.value)


class SecretAwareSource(DictSource):
    """Like the CLI: knows which keys the stack file holds as `secure:` values."""

    def __init__(self, values: dict[str, str], secret_keys: set[str]):
        super().__init__(values)
        self.secret_keys = secret_keys

    def is_secret(self, key: str) -> bool:
        return key in self.secret_keys


def test_messaging_defaults_and_stack_values():
    eu = parse_stack("prod-eu").regional
    assert (eu.messaging.subscriber_batch_size, eu.messaging.subscriber_batch_window_seconds) == (
        10,
        1,
    )
    assert eu.messaging.dlq_max_receive_count == 10
    assert eu.push.apns is None and eu.push.fcm is None
    assert parse_stack("prod-global").audit_log_retention_days == 2190


def test_push_credentials_stored_as_secrets_are_accepted_and_never_printed():
    values = config_for("prod-us", pushApns=APNS_CONFIG, pushFcm=FCM_CONFIG)
    secret = {f"{NS}:pushApns", f"{NS}:pushFcm"}
    push = parse(SecretAwareSource(values, secret), project=NS, stack="prod-us").regional.push
    assert (push.apns.key_id, push.apns.team_id, push.apns.sandbox) == (
        "ABCDE12345",
        "TEAM123456",
        True,
    )
    assert push.apns.signing_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert json.loads(push.fcm.service_account_json)["project_id"] == "examplehealth"
    assert "PRIVATE KEY" not in repr(push)


def test_data_settings_from_the_shipped_stack_files():
    data = parse_stack("prod-eu").data
    assert (data.secret_home_region, data.secret_rotation_days) == ("eu-west-1", 30)
    assert (data.rpo_seconds, data.write_forward_consistency) == (30, "EVENTUAL")
    assert data.instance_count == 2 and data.dev_account_role_arn is None
    assert parse_stack("prod-global").data.engine_version == "16.6"
    # The secret's home defaults to the primary region when not pinned.
    assert parse_stack("prod-eu", dbSecretHomeRegion=None).data.secret_home_region == "eu-west-1"
    assert parse_stack("prod-eu", dbRpoSeconds=None).data.rpo_seconds is None
    assert (
        parse_stack("prod-eu", dbWriteForwardConsistency="global").data.write_forward_consistency
        == "GLOBAL"
    )


def test_logic_settings_from_the_stack_files_and_federation_from_config():
    logic = parse_stack("prod-eu").regional.logic
    assert (logic.mfa, logic.waf_rate_limit, logic.api_logging_level) == ("OPTIONAL", 6000, "ERROR")
    assert (logic.throttle_rate_limit, logic.throttle_burst_limit) == (50.0, 100)
    assert (logic.health_check_interval, logic.health_check_failure_threshold) == (10, 2)
    assert logic.dns_ttl_seconds == 10
    assert logic.legacy_auth_url.startswith("https://")
    assert logic.federation == {}
    federated = parse_stack(
        "prod-us", federation={"google": {"clientId": "g-id", "clientSecret": "g-secret"}}
    ).regional.logic
    assert federated.federation["google"].client_id == "g-id"
    assert federated.federation["google"].client_secret == "g-secret"


def test_code_signing_is_enforced_in_prod_and_warns_elsewhere_by_default():
    assert {parse_stack(s).code_signing_policy for s in ("prod-global", "prod-eu")} == {"Enforce"}
    dev = parse_stack("prod-eu", environment="dev")
    assert dev.code_signing_policy == "Warn"
    assert parse_stack(
        "prod-eu", environment="dev", codeSigningPolicy="Enforce"
    ).code_signing_policy == ("Enforce")


def test_anonymous_ip_list_is_off_unless_switched_on():
    assert parse_stack("prod-global").edge.anonymous_ip_list is False
    assert parse_stack("prod-global", edgeAnonymousIpList="true").edge.anonymous_ip_list is True


def test_snap_start_is_per_function_and_off_by_default():
    shipped = parse_stack("prod-eu").regional
    assert set(shipped.snap_start) == set(shipped.provisioned_concurrency)
    assert not any(shipped.snap_start.values())
    # SnapStart replaces provisioned concurrency on the function that drops it, nowhere else.
    switched = parse_stack(
        "prod-eu",
        provisionedConcurrency={"api": 0, "subscriber": 0, "authorizer": 1},
        snapStart={"api": True, "subscriber": False},
    ).regional
    assert switched.snap_start["api"] is True
    assert switched.snap_start["subscriber"] is False
    assert switched.snap_start["authorizer"] is False
    assert switched.provisioned_concurrency["authorizer"] == 1


def test_snap_start_conflict_names_both_keys_and_both_fixes():
    problem = problems_of("prod-us", snapStart={"authorizer": True})[f"{NS}:snapStart.authorizer"]
    assert "provisionedConcurrency.authorizer (1)" in problem
    assert "provisionedConcurrency.authorizer: 0" in problem and "snapStart.authorizer: false" in (
        problem
    )


def test_endpoint_azs_default_to_every_az_and_idle_budget_to_none():
    prod = parse_stack("prod-eu")
    assert prod.regional.vpc_endpoint_az_count is None
    assert prod.idle_cost_budget is None
    trimmed = parse_stack("prod-eu", vpcEndpointAzCount="1", idleCostBudget="450.5")
    assert trimmed.regional.vpc_endpoint_az_count == 1
    assert trimmed.idle_cost_budget == 450.5
    assert parse_stack("prod-global", idleCostBudget="120").idle_cost_budget == 120.0
