"""Operations on the synthesized stacks, prod and dev (R-OPS-1..4): canary releases wired to
the functions' own alarms, saved Logs Insights queries that read no personal data, and the
Compute Optimizer enrollment behind its switch."""

from __future__ import annotations

import json
import re

import pytest

from contract import names
from contract.functions import APP_FUNCTIONS
from settings import RELEASE_CONFIGS
from tests.infra.harness import load_stack_config

REGIONAL = ("prod-eu", "prod-us", "dev-eu", "dev-us")
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
APPLICATION = "aws:codedeploy/application:Application"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
QUERY = "aws:cloudwatch/queryDefinition:QueryDefinition"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
QUEUE = "aws:sqs/queue:Queue"
ENROLLMENT = "aws:computeoptimizer/enrollmentStatus:EnrollmentStatus"
# Fields that identify a person: the caller's IP (access log) and whole raw log lines.
PERSONAL = ("sourceIp", "@message", "identity", "username", "email")


@pytest.fixture(scope="module")
def synths(all_synths, dev_synths):
    return {**all_synths, **dev_synths}


def _alarm_metric(alarm) -> tuple[str | None, str | None, dict]:
    return (
        alarm.inputs.get("namespace"),
        alarm.inputs.get("metricName"),
        alarm.inputs.get("dimensions") or {},
    )


def _queried_metrics(alarm) -> set[tuple[str, str, str]]:
    """(namespace, metric, FunctionName/ApiName) of every metric an alarm reads."""
    found = set()
    for query in alarm.inputs.get("metricQueries") or []:
        metric = query.get("metric") or {}
        dims = metric.get("dimensions") or {}
        subject = dims.get("FunctionName") or dims.get("ApiName") or ""
        found.add((metric.get("namespace"), metric.get("metricName"), subject))
    namespace, metric, dims = _alarm_metric(alarm)
    if metric:
        found.add((namespace, metric, dims.get("FunctionName") or dims.get("ApiName") or ""))
    return found


@pytest.mark.parametrize("stack", REGIONAL)
def test_every_app_function_is_released_by_codedeploy_with_rollback_on_its_alarms(synths, stack):
    synth = synths[stack]
    env = "prod" if stack.startswith("prod") else "dev"
    expected_config = load_stack_config(stack)["mobile-backend:releaseConfig"]
    assert expected_config in RELEASE_CONFIGS
    assert ("Canary" in expected_config) == (env == "prod"), stack

    (application,) = synth.of_type(APPLICATION)
    assert application.inputs["computePlatform"] == "Lambda"
    assert application.inputs["name"] == names.codedeploy_application_name(env)

    groups = {g.inputs["deploymentGroupName"]: g for g in synth.of_type(GROUP)}
    assert sorted(groups) == sorted(names.function_name(env, fn) for fn in APP_FUNCTIONS)
    alarms = {a.inputs["name"]: a for a in synth.of_type(ALARM)}
    roles = synth.of_type(ROLE)
    for function_name, group in groups.items():
        where = f"{stack}: deployment group {function_name}"
        assert group.inputs["appName"] == application.inputs["name"], where
        assert group.inputs["deploymentConfigName"] == expected_config, where
        assert group.inputs["deploymentStyle"] == {
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
            "deploymentType": "BLUE_GREEN",
        }, where
        rollback = group.inputs["autoRollbackConfiguration"]
        assert rollback["enabled"] is True, where
        assert set(rollback["events"]) == {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
        configured = group.inputs["alarmConfiguration"]
        assert configured["enabled"] is True, where
        # Every alarm named exists in this region, and one of them is the function's errors.
        assert set(configured["alarms"]) <= set(alarms), where
        read = set().union(*(_queried_metrics(alarms[a]) for a in configured["alarms"]))
        assert ("AWS/Lambda", "Errors", function_name) in read, where
        if function_name in (
            names.function_name(env, "api"),
            names.function_name(env, "authorizer"),
        ):
            latency = {m for m in read if m[:2] == ("AWS/ApiGateway", "Latency")}
            assert latency == {("AWS/ApiGateway", "Latency", names.rest_api_name(env))}, where
        # The service role CodeDeploy assumes is the one the group names.
        (role,) = [r for r in roles if r.outputs.get("arn") == group.inputs["serviceRoleArn"]]
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "codedeploy.amazonaws.com"}


@pytest.mark.parametrize("stack", REGIONAL)
def test_codedeploy_may_shift_only_the_app_functions_aliases(synths, stack):
    synth = synths[stack]
    env = "prod" if stack.startswith("prod") else "dev"
    (policy,) = [p for p in synth.of_type(ROLE_POLICY) if p.name == "releases-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    shift = statements["ShiftLiveAlias"]
    assert "lambda:UpdateAlias" in shift["Action"]
    functions = {f.inputs["name"]: f for f in synth.of_type(FUNCTION)}
    arns = {f"{functions[names.function_name(env, fn)].outputs['arn']}:*" for fn in APP_FUNCTIONS}
    assert set(shift["Resource"]) == arns, stack


@pytest.mark.parametrize("stack", REGIONAL)
def test_saved_queries_read_the_request_logs_and_no_personal_data(synths, stack):
    synth = synths[stack]
    env = "prod" if stack.startswith("prod") else "dev"
    queries = {q.inputs["name"]: q for q in synth.of_type(QUERY)}
    folder = names.query_folder(env)
    assert sorted(queries) == sorted(
        f"{folder}/{key}"
        for key in (
            "slowest-requests",
            "errors-by-route",
            "request-trace",
            "subscriber-failures",
            "dlq-arrivals",
        )
    ), stack
    groups = {g.inputs.get("name") for g in synth.of_type(LOG_GROUP)}
    access = f"/aws/apigateway/{names.rest_api_name(env)}/access"
    api = f"/aws/lambda/{names.function_name(env, 'api')}"
    subscriber = f"/aws/lambda/{names.function_name(env, 'subscriber')}"
    expected_groups = {
        "slowest-requests": [access],
        "errors-by-route": [access],
        "request-trace": [access, api],
        "subscriber-failures": [subscriber],
        "dlq-arrivals": [subscriber],
    }
    for key, groups_read in expected_groups.items():
        query = queries[f"{folder}/{key}"]
        assert query.inputs["logGroupNames"] == groups_read, f"{stack}: {key}"
        assert set(groups_read) <= groups, f"{stack}: {key} reads a log group nobody declares"
        text = query.inputs["queryString"]
        for field in PERSONAL:
            assert field not in text, f"{stack}: {key} selects {field}"
    # A message reaches the DLQ after the queue's maxReceiveCount failed receives.
    redrives = [
        json.loads(q.inputs["redrivePolicy"])
        for q in synth.of_type(QUEUE)
        if q.inputs.get("redrivePolicy")
    ]
    counts = {r["maxReceiveCount"] for r in redrives}
    threshold = re.search(
        r"failures >= (\d+)", queries[f"{folder}/dlq-arrivals"].inputs["queryString"]
    )
    assert threshold and int(threshold.group(1)) in counts, stack
    trace = queries[f"{folder}/request-trace"].inputs["queryString"]
    assert "requestId" in trace and "correlation_id" in trace


def test_compute_optimizer_enrollment_follows_its_switch(synths):
    (enrollment,) = synths["prod-global"].of_type(ENROLLMENT)
    assert enrollment.inputs["status"] == "Active"
    assert enrollment.inputs.get("includeMemberAccounts") is False
    assert synths["prod-global"].region_of(enrollment) == "us-east-1"
    assert not synths["dev-global"].of_type(ENROLLMENT)
    for stack in REGIONAL:
        assert not synths[stack].of_type(ENROLLMENT), f"{stack}: enrollment is account-wide"


APP_KEY = "aws:apigateway/apiKey:ApiKey"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
PLAN_KEY = "aws:apigateway/usagePlanKey:UsagePlanKey"
REST_API = "aws:apigateway/restApi:RestApi"
STAGE = "aws:apigateway/stage:Stage"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def _plain(value):
    # The provider marks an ApiKey's value secret: the recorded input is the secret envelope.
    return value["value"] if isinstance(value, dict) else value


@pytest.mark.parametrize("stack", REGIONAL)
def test_each_app_has_a_key_and_a_usage_plan_on_the_stage_that_requires_it(synths, stack):
    synth = synths[stack]
    env = "prod" if stack.startswith("prod") else "dev"
    global_keys = synths[f"{env}-global"].outputs["appKeys"]
    plans_config = json.loads(load_stack_config(stack)["mobile-backend:appUsagePlans"])
    (rest_api,) = synth.of_type(REST_API)
    (stage,) = synth.of_type(STAGE)
    keys = {k.inputs["name"]: k for k in synth.of_type(APP_KEY)}
    plans = {p.inputs["name"]: p for p in synth.of_type(USAGE_PLAN)}
    bindings = {(b.inputs["keyId"], b.inputs["usagePlanId"]) for b in synth.of_type(PLAN_KEY)}
    assert len(bindings) == len(names.APP_KEY_CLIENTS)
    # What the deploy workflow's smoke tests send (plain: an app key is not a secret).
    assert synth.outputs["webAppKey"] == global_keys["web"], stack
    for app in names.APP_KEY_CLIENTS:
        key = keys[names.api_key_name(env, app)]
        plan = plans[names.usage_plan_name(env, app)]
        where = f"{stack}: {app}"
        # The same value in every region: the global stack's, never generated per region.
        assert _plain(key.inputs["value"]) == global_keys[app], where
        assert key.inputs["enabled"] is True, where
        assert plan.inputs["apiStages"] == [
            {"apiId": rest_api.mock_id, "stage": stage.inputs["stageName"]}
        ], where
        limits = plans_config[app]
        assert plan.inputs["throttleSettings"] == {
            "rateLimit": limits["rateLimit"],
            "burstLimit": limits["burstLimit"],
        }, where
        assert plan.inputs["quotaSettings"] == {"limit": limits["dailyQuota"], "period": "DAY"}
        assert (key.mock_id, plan.mock_id) in bindings, f"{where}: key not bound to its plan"
    # The API requires the key (from the header) on every operation that requires a token.
    body = json.loads(rest_api.inputs["body"])
    assert body["x-amazon-apigateway-api-key-source"] == "HEADER"
    for path, item in body["paths"].items():
        for method, operation in item.items():
            requirements = operation.get("security")
            if requirements:
                assert all("app_key" in r for r in requirements), f"{stack}: {method} {path}"


def test_the_app_keys_differ_between_environments_and_apps(synths):
    prod, dev = synths["prod-global"].outputs["appKeys"], synths["dev-global"].outputs["appKeys"]
    assert set(prod) == set(dev) == set(names.APP_KEY_CLIENTS)
    assert len({*prod.values(), *dev.values()}) == 2 * len(names.APP_KEY_CLIENTS)


def test_cloudfront_forwards_the_app_key_to_the_api(synths):
    # The managed AllViewerExceptHostHeader policy forwards every viewer header but Host.
    from components.edge import MANAGED_ALL_VIEWER_EXCEPT_HOST_HEADER

    for env in ("prod", "dev"):
        (distribution,) = synths[f"{env}-global"].of_type(DISTRIBUTION)
        (api,) = [
            b for b in distribution.inputs["orderedCacheBehaviors"] if b["pathPattern"] == "/api/*"
        ]
        assert api["originRequestPolicyId"] == MANAGED_ALL_VIEWER_EXCEPT_HOST_HEADER, env
