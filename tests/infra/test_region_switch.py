"""R-DR-5: the ARC Region switch plan the global stack declares, checked against what the
regional stacks really declare (the clusters, probe aliases, latency records and alarms the plan
names by deterministic name), its roles, and the probe function each region runs.

Acceptance: a plan whose workflows cover every region in both directions, with the Aurora,
Route 53 health-check and custom steps; adding a region adds its workflows with no code change.
"""

from __future__ import annotations

import json

import pytest

from components import region_switch as component
from contract import names
from contract import region_switch as rs
from tests.infra.harness import ACCOUNT, REGION_SWITCH_PLAN, Synthesis, synthesize
from tests.infra.iam_checks import violations

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALIAS = "aws:lambda/alias:Alias"
FUNCTION = "aws:lambda/function:Function"
CLUSTER = "aws:rds/cluster:Cluster"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RECORD = "aws:route53/record:Record"
REGIONS = ("eu-west-1", "us-west-1")
# What each workflow runs, in order (prod: an approval first).
DEACTIVATE = [rs.APPROVAL, rs.ROUTE53, rs.AURORA, rs.LAMBDA, rs.LAMBDA]
ACTIVATE = [rs.APPROVAL, rs.AURORA, rs.LAMBDA, rs.LAMBDA, rs.ROUTE53]


def the_plan(synth: Synthesis):
    return synth.one(REGION_SWITCH_PLAN)


def workflows(plan) -> dict[tuple[str, str], list[dict]]:
    return {
        (w["workflowTargetAction"], w["workflowTargetRegion"]): w["steps"]
        for w in plan.inputs["workflows"]
    }


def config(step: dict) -> dict:
    ((_, value),) = [(k, v) for k, v in step.items() if k.endswith("Configs") and v]
    (only,) = value
    return only


def by_region(regional_synths: dict[str, Synthesis]) -> dict[str, Synthesis]:
    return {synth.config["aws:region"]: synth for synth in regional_synths.values()}


def test_the_plan_covers_every_region_in_both_directions(global_synth):
    # GIVEN the synthesized global stack
    plan = the_plan(global_synth)

    # THEN one active/active plan over both regions, named after them, with the two workflows
    # of each region in the order contract.region_switch gives
    assert plan.inputs["name"] == "mobile-backend-prod-euw1-usw1"
    assert plan.inputs["regions"] == list(REGIONS)
    assert plan.inputs["recoveryApproach"] == "activeActive"
    found = workflows(plan)
    assert sorted(found) == sorted((a, r) for r in REGIONS for a in ("activate", "deactivate"))
    for region in REGIONS:
        assert [s["executionBlockType"] for s in found[("deactivate", region)]] == DEACTIVATE
        assert [s["executionBlockType"] for s in found[("activate", region)]] == ACTIVATE
    # The RTO is the automatic steps at their timeouts: 5 + 15 + 5 + 5 minutes.
    assert plan.inputs["recoveryTimeObjectiveMinutes"] == 30
    # Executions need the role to act from the start.
    policy = global_synth.one(ROLE_POLICY, lambda r: r.name == "region-switch-execution-policy")
    assert policy.urn in plan.dependencies


def test_the_aurora_step_moves_the_real_global_cluster_between_the_real_clusters(
    global_synth, regional_synths
):
    plan = the_plan(global_synth)
    identifiers = {
        region: synth.one(CLUSTER).inputs["clusterIdentifier"]
        for region, synth in by_region(regional_synths).items()
    }
    clusters = {
        region: f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{identifier}"
        for region, identifier in identifiers.items()
    }
    global_cluster = global_synth.outputs["dbGlobalClusterId"]
    for (action, region), steps in workflows(plan).items():
        (aurora,) = [config(s) for s in steps if s["executionBlockType"] == rs.AURORA]
        # Switchover when graceful (no data loss), failover only when ungraceful.
        assert aurora["behavior"] == "switchoverOnly", (action, region)
        assert aurora["ungracefuls"] == [{"ungraceful": "failover"}], (action, region)
        assert aurora["globalClusterIdentifier"] == global_cluster
        assert aurora["databaseClusterArns"] == [clusters[r] for r in REGIONS]
        assert aurora["timeoutMinutes"] == rs.AURORA_TIMEOUT_MINUTES


def test_the_route53_steps_flip_the_checks_the_latency_records_heed(global_synth, regional_synths):
    plan = the_plan(global_synth)
    zone = global_synth.outputs["hostedZoneId"]
    records = {
        region: synth.one(RECORD, lambda r: r.name == "api-domain-latency").inputs
        for region, synth in by_region(regional_synths).items()
    }
    for (action, region), steps in workflows(plan).items():
        (route,) = [config(s) for s in steps if s["executionBlockType"] == rs.ROUTE53]
        assert route["hostedZoneId"] == zone, (action, region)
        assert {route["recordName"]} == {r["name"] for r in records.values()}
        # Each region maps to its own latency record by that record's set identifier.
        assert route["recordSets"] == [
            {"recordSetIdentifier": records[r]["setIdentifier"], "region": r} for r in REGIONS
        ]


def test_the_custom_steps_invoke_aliases_the_regional_stacks_really_declare(
    global_synth, regional_synths
):
    declared = {}
    for region, synth in by_region(regional_synths).items():
        (probe,) = [
            f
            for f in synth.of_type(FUNCTION)
            if f.inputs["name"] == names.function_name("prod", "dr_probe")
        ]
        aliases = {
            a.inputs["name"]
            for a in synth.of_type(ALIAS)
            if a.inputs["functionName"] == probe.inputs["name"]
        }
        assert aliases >= set(names.DR_PROBE_ALIASES), region
        for alias in names.DR_PROBE_ALIASES:
            declared[(region, alias)] = (
                f"arn:aws:lambda:{region}:{ACCOUNT}:function:{probe.inputs['name']}:{alias}"
            )
    for steps in workflows(the_plan(global_synth)).values():
        custom = [s for s in steps if s["executionBlockType"] == rs.LAMBDA]
        assert [s["name"] for s in custom] == [rs.STEP_VERIFY_WRITER, rs.STEP_SMOKE]
        for step, alias in zip(custom, names.DR_PROBE_ALIASES, strict=True):
            lam = config(step)
            # One function per plan region; ARC runs the activating region's, never the one
            # being left.
            assert [f["arn"] for f in lam["lambdas"]] == [declared[(r, alias)] for r in REGIONS]
            assert lam["regionToRun"] == "activatingRegion"
            assert lam["retryIntervalMinutes"] == rs.PROBE_RETRY_INTERVAL_MINUTES


def test_associated_alarms_are_alarms_the_regional_stacks_declare(global_synth, regional_synths):
    plan = the_plan(global_synth)
    declared = {
        f"arn:aws:cloudwatch:{synth.region_of(alarm)}:{ACCOUNT}:alarm:{alarm.inputs['name']}"
        for synth in regional_synths.values()
        for alarm in synth.of_type(ALARM)
    }
    associated = plan.inputs["associatedAlarms"]
    assert {a["alarmType"] for a in associated} == {"applicationHealth"}
    arns = {a["resourceIdentifier"] for a in associated}
    assert arns <= declared, sorted(arns - declared)
    # Per region: both lag alarms, the API failure rate and the Route 53 health check (whose
    # alarm lives in us-east-1).
    assert len(arns) == 4 * len(REGIONS)
    assert sum(":us-east-1:" in arn for arn in arns) == len(REGIONS)


def test_the_execution_role_holds_only_what_the_blocks_need(global_synth, regional_synths):
    role = global_synth.one(ROLE, lambda r: r.name == "region-switch-execution")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "arc-region-switch.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}

    policy = json.loads(
        global_synth.one(ROLE_POLICY, lambda r: r.name == "region-switch-execution-policy").inputs[
            "policy"
        ]
    )
    assert violations(policy) == []
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == sorted(
        [
            "rds:DescribeGlobalClusters",
            "rds:DescribeDBClusters",
            "rds:SwitchoverGlobalCluster",
            "rds:FailoverGlobalCluster",
            "route53:ListResourceRecordSets",
            "lambda:GetFunction",
            "lambda:InvokeFunction",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:DescribeAlarmHistory",
        ]
    )
    plan = the_plan(global_synth)
    aurora = config(plan.inputs["workflows"][0]["steps"][2])
    assert by_sid["AuroraBlockMovesTheWriter"]["Resource"] == [
        f"arn:aws:rds::{ACCOUNT}:global-cluster:{aurora['globalClusterIdentifier']}",
        *aurora["databaseClusterArns"],
    ]
    zone = global_synth.outputs["hostedZoneId"]
    assert by_sid["Route53BlockReadsTheApiRecords"]["Resource"] == [
        f"arn:aws:route53:::hostedzone/{zone}"
    ]
    invoked = {
        f["arn"]
        for w in plan.inputs["workflows"]
        for s in w["steps"]
        if s["executionBlockType"] == rs.LAMBDA
        for f in config(s)["lambdas"]
    }
    assert invoked <= set(by_sid["CustomStepsInvokeTheProbe"]["Resource"])
    assert by_sid["WatchApplicationHealthAlarms"]["Resource"] == sorted(
        a["resourceIdentifier"] for a in plan.inputs["associatedAlarms"]
    )


def test_prod_asks_an_mfa_operator_to_approve_each_execution(global_synth):
    role = global_synth.one(ROLE, lambda r: r.name == "region-switch-approval")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    approval_arn = global_synth.by_urn(role.urn).outputs["arn"]
    for steps in workflows(the_plan(global_synth)).values():
        first = steps[0]
        assert first["name"] == rs.STEP_APPROVE
        assert config(first) == {"approvalRole": approval_arn, "timeoutMinutes": 60}
    policy = json.loads(
        global_synth.one(ROLE_POLICY, lambda r: r.name == "region-switch-approval-policy").inputs[
            "policy"
        ]
    )
    (grant,) = policy["Statement"]
    assert grant["Resource"] == [global_synth.outputs["regionSwitchPlans"][0]["arn"]]
    assert "arc-region-switch:ApprovePlanExecutionStep" in grant["Action"]


def test_an_environment_without_approval_runs_straight_through():
    # GIVEN the global stack of an environment whose game days run unattended
    synth = synthesize("prod-global", overrides={"mobile-backend:regionSwitchApproval": "false"})

    # THEN no workflow waits for a human and no approval role exists; the RTO is unchanged
    plan = the_plan(synth)
    for key, steps in workflows(plan).items():
        assert rs.APPROVAL not in [s["executionBlockType"] for s in steps], key
    assert not [r for r in synth.of_type(ROLE) if "approval" in r.name]
    assert plan.inputs["recoveryTimeObjectiveMinutes"] == 30


def test_adding_a_region_adds_its_plans_and_workflows_with_no_code_change():
    # GIVEN a third serving region in config only
    regions = {
        "eu-west-1": {"cidr": "10.10.0.0/16"},
        "us-west-1": {"cidr": "10.20.0.0/16"},
        "ap-southeast-2": {"cidr": "10.30.0.0/16"},
    }
    synth = synthesize("prod-global", overrides={"mobile-backend:regions": regions})

    # THEN one plan per pair (AWS fixes a plan at two regions), each with both workflows of
    # both its regions, and every region's health checks exported for its regional stack
    plans = synth.of_type(REGION_SWITCH_PLAN)
    assert sorted(tuple(p.inputs["regions"]) for p in plans) == [
        ("ap-southeast-2", "eu-west-1"),
        ("ap-southeast-2", "us-west-1"),
        ("eu-west-1", "us-west-1"),
    ]
    for plan in plans:
        assert len(plan.inputs["name"]) <= 32
        assert sorted(workflows(plan)) == sorted(
            (a, r) for r in plan.inputs["regions"] for a in ("activate", "deactivate")
        )
    checks = synth.outputs["regionSwitchHealthCheckIds"]
    assert {region: len(ids) for region, ids in checks.items()} == dict.fromkeys(regions, 2)
    assert len(synth.outputs["regionSwitchPlans"]) == 3


# --- the probe each region runs -------------------------------------------------------------
@pytest.mark.parametrize("stack", ["prod-eu", "prod-us"])
def test_each_region_runs_the_probe_in_its_vpc_on_the_apps_own_database_path(
    regional_synths, stack
):
    synth = regional_synths[stack]
    (probe,) = [
        f
        for f in synth.of_type(FUNCTION)
        if f.inputs["handler"] == "handlers.dr_probe.main.handler"
    ]
    api = synth.one(FUNCTION, lambda f: f.inputs["handler"] == "handlers.api.main.handler")
    variables = probe.inputs["environment"]["variables"]
    app = api.inputs["environment"]["variables"]
    # The same endpoints, login and role hint the app was deployed with: what it proves about
    # writing after a switchover holds for the app.
    for key in ("APP_ROLE_HINT", "DB_HOST", "DB_READER_HOST", "DB_USER", "DB_AUTH"):
        assert variables[key] == app[key], (stack, key)
    # The database's client group only: RDS Proxy and the AWS endpoints, nothing else.
    clients = f"{synth.named('database-clients-sg').name}-id"
    assert probe.inputs["vpcConfig"]["securityGroupIds"] == [clients], stack
    assert clients in api.inputs["vpcConfig"]["securityGroupIds"]
    assert probe.inputs["reservedConcurrentExecutions"] >= 1, "ARC refuses a throttled function"
    policy = json.loads(synth.named("dr-probe-function-policy").inputs["policy"])
    assert violations(policy) == []
    app_actions = {
        a
        for s in policy["Statement"]
        for a in s["Action"]
        if not a.startswith(("logs:", "xray:", "ec2:"))
    }
    assert app_actions == {"rds-db:connect"}, stack
    aliases = {
        a.inputs["name"]: a.inputs for a in synth.of_type(ALIAS) if a.name.startswith("dr-probe-")
    }
    # Beside the `live` alias every function has: one per custom step.
    assert set(aliases) == {"live", *names.DR_PROBE_ALIASES}
    for alias in aliases.values():
        assert alias["functionVersion"] == probe.outputs["version"], stack


# --- pure rules -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "code"),
    [
        ("eu-west-1", "euw1"),
        ("us-west-1", "usw1"),
        ("ap-southeast-2", "apse2"),
        ("eu-central-1", "euc1"),
    ],
)
def test_region_codes(region, code):
    assert names.region_code(region) == code


def test_plan_names_fit_aws_limit_and_fall_back_to_the_short_stem():
    assert names.region_switch_plan_name("prod", ("us-west-1", "eu-west-1")) == (
        "mobile-backend-prod-euw1-usw1"
    )
    long = names.region_switch_plan_name("staging-blue", ("eu-west-1", "ap-southeast-2"))
    assert long == "mb-staging-blue-apse2-euw1" and len(long) <= 32


def test_plan_pairs_need_two_regions():
    assert component.plan_pairs(["us-west-1", "eu-west-1"]) == [("eu-west-1", "us-west-1")]
    with pytest.raises(ValueError, match="two serving regions"):
        component.plan_pairs(["eu-west-1"])


def test_health_checks_group_by_region_across_plans():
    found = [
        [{"health_check_id": "b", "region": "eu-west-1"}, {"health_check_id": "c", "region": "x"}],
        [{"health_check_id": "a", "region": "eu-west-1"}, {"health_check_id": None, "region": "x"}],
    ]
    assert component.health_checks_by_region(found) == {"eu-west-1": ["a", "b"], "x": ["c"]}
