"""The RTO/RPO budget: pure arithmetic, and extraction from synthesized resources shaped like
the ones the tiers declare (hand-built ``Resource`` records; the real stacks are in
test_whole_stack_budget.py)."""

from __future__ import annotations

import pytest

from contract import region_switch
from dr.budget import (
    BudgetInputsMissing,
    budget_from_synthesis,
    compute_budget,
    plan_budget,
    redrive_windows_from_synthesis,
)
from tests.infra.harness import Resource, Synthesis

DESIGN = {
    "health_check_interval_s": 10,
    "health_check_failure_threshold": 2,
    "dns_ttl_s": 10,
    "lag_alarm_threshold_s": 10,
    "global_db_rpo_s": 20,
    "cloudfront_connection_attempts": 1,
    "cloudfront_connection_timeout_s": 5,
}


def test_the_design_values_fit_the_targets_with_every_term_named():
    # WHEN the budget of the intended configuration is computed
    budget = compute_budget(**DESIGN)

    # THEN RTO = 10 x 2 + 6 + 10 + 1 x 5 = 41 s and RPO = 20 s, each term named
    assert [(t.name, t.seconds) for t in budget.rto_terms] == [
        ("health-check detection", 20),
        ("health-check probe timeout", 6),
        ("DNS TTL", 10),
        ("CloudFront origin re-resolution", 5),
    ]
    assert [(t.name, t.seconds) for t in budget.rpo_terms] == [("rds.global_db_rpo", 20)]
    assert (budget.rto_s, budget.rpo_s) == (41, 20)
    assert budget.ok and budget.violations == ()


def test_an_alias_record_ttl_breaks_the_rto():
    budget = compute_budget(**{**DESIGN, "dns_ttl_s": 60})
    assert budget.rto_s == 91
    assert budget.violations == ("RTO 91 s is not below the 60 s target",)


def test_cloudfront_defaults_alone_break_the_rto():
    # GIVEN the API origin left at CloudFront's 3 attempts x 10 s
    budget = compute_budget(
        **{**DESIGN, "cloudfront_connection_attempts": 3, "cloudfront_connection_timeout_s": 10}
    )
    assert budget.rto_s == 66
    assert budget.violations == ("RTO 66 s is not below the 60 s target",)


def test_rto_of_exactly_60_s_is_not_below_the_target():
    budget = compute_budget(**{**DESIGN, "dns_ttl_s": 29})
    assert budget.rto_s == 60 and not budget.ok


def test_rpo_and_alarm_threshold_above_30_s_are_reported():
    budget = compute_budget(**{**DESIGN, "global_db_rpo_s": 40, "lag_alarm_threshold_s": 45})
    assert budget.violations == (
        "RPO 40 s exceeds the 30 s target",
        "replication-lag alarm threshold 45 s is above the 30 s RPO target: "
        "lag in between goes unnoticed",
    )


def test_render_shows_the_arithmetic():
    assert compute_budget(**DESIGN).render().splitlines() == [
        "RTO worst case 41 s (target < 60 s):",
        "    20.0 s  health-check detection  (10 s interval x 2 failures)",
        "     6.0 s  health-check probe timeout  (4 s connect + 2 s response)",
        "    10.0 s  DNS TTL  (record TTL)",
        "     5.0 s  CloudFront origin re-resolution  "
        "(1 connection attempt(s) x 5 s on the old origin address)",
        "RPO worst case 20 s (target <= 30 s):",
        "    20.0 s  rds.global_db_rpo  (the primary blocks commits beyond this secondary lag)",
        "replication-lag alarm at 10 s",
        "within targets",
    ]


# --- from synthesized stacks ----------------------------------------------------------------
def resource(typ: str, name: str, **inputs) -> Resource:
    return Resource(
        urn=f"urn:pulumi:prod::mobile-backend::{typ}::{name}",
        type=typ,
        name=name,
        inputs=inputs,
        parent="",
        provider="",
        custom=True,
        mock_id=f"{name}-id",
    )


def regional(region: str, *, interval=10, threshold=2, ttl=10, aliases=None) -> Synthesis:
    record = {
        "latencyRoutingPolicies": [{"region": region}],
        "setIdentifier": region,
        "healthCheckId": f"api-health-{region}-id",
    }
    record.update({"aliases": aliases} if aliases else {"ttl": ttl, "records": ["x"]})
    resources = [
        resource(
            "aws:route53/healthCheck:HealthCheck",
            f"api-health-{region}",
            type="HTTPS",
            resourcePath="/health",
            requestInterval=interval,
            failureThreshold=threshold,
        ),
        resource("aws:route53/record:Record", f"api-latency-{region}", type="CNAME", **record),
        resource(
            "aws:rds/clusterParameterGroup:ClusterParameterGroup",
            f"aurora-params-{region}",
            family="aurora-postgresql16",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "rds.global_db_rpo", "value": "20", "applyMethod": "immediate"},
            ],
        ),
        resource(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            f"aurora-rpo-lag-{region}",
            metricName="AuroraGlobalDBRPOLag",
            namespace="AWS/RDS",
            threshold=10000,
            comparisonOperator="GreaterThanThreshold",
        ),
        # Not a latency record, not an endpoint check: both must be ignored.
        resource("aws:route53/record:Record", f"apex-{region}", type="A", ttl=300),
        resource("aws:route53/healthCheck:HealthCheck", f"calc-{region}", type="CALCULATED"),
    ]
    return Synthesis(f"prod-{region[:2]}", resources, {}, {})


def edge(*, attempts=1, timeout=5) -> Synthesis:
    distribution = resource(
        "aws:cloudfront/distribution:Distribution",
        "cdn",
        origins=[
            {"originId": "web", "s3OriginConfig": {}, "domainName": "web.s3"},
            {
                "originId": "api",
                "domainName": "api.mobile.examplehealth.eu",
                "connectionAttempts": attempts,
                "connectionTimeout": timeout,
                "customOriginConfig": {"originProtocolPolicy": "https-only"},
            },
        ],
    )
    return Synthesis("prod-global", [distribution], {}, {})


def test_budget_from_synthesis_reads_every_number():
    # GIVEN stacks declaring 10 s x 2 checks, 10 s CNAME TTLs, a 20 s global_db_rpo,
    # a 10 000 ms lag alarm and an API origin of 1 x 5 s
    synths = {
        "prod-global": edge(),
        "prod-eu": regional("eu-west-1"),
        "prod-us": regional("us-west-1"),
    }

    # WHEN the budget is read from them
    budget = budget_from_synthesis(synths)

    # THEN it is the design's budget
    assert (budget.rto_s, budget.rpo_s, budget.lag_alarm_threshold_s) == (41, 20, 10)
    assert budget.rto_terms[2].source == "TTL of api-latency-eu-west-1"


def test_lowering_the_interval_or_the_ttl_lowers_the_budget():
    base = budget_from_synthesis([edge(), regional("eu-west-1", interval=30, ttl=60)])
    faster_checks = budget_from_synthesis([edge(), regional("eu-west-1", interval=10, ttl=60)])
    shorter_ttl = budget_from_synthesis([edge(), regional("eu-west-1", interval=30, ttl=10)])
    assert base.rto_s == 30 * 2 + 6 + 60 + 5 == 131
    assert faster_checks.rto_s == 131 - 40
    assert shorter_ttl.rto_s == 131 - 50


def test_the_worst_region_wins():
    budget = budget_from_synthesis(
        [edge(), regional("eu-west-1"), regional("us-west-1", threshold=3, ttl=30)]
    )
    assert budget.rto_s == 10 * 3 + 6 + 30 + 5


def test_alias_latency_records_take_the_api_gateway_ttl_and_break_the_rto():
    aliases = [
        {
            "name": "d-abc.execute-api.eu-west-1.amazonaws.com",
            "zoneId": "Z",
            "evaluateTargetHealth": True,
        }
    ]
    budget = budget_from_synthesis([edge(), regional("eu-west-1", aliases=aliases)])
    assert budget.rto_terms[2].seconds == 60
    assert budget.violations == ("RTO 91 s is not below the 60 s target",)


def test_unset_health_check_and_origin_values_fall_back_to_aws_defaults():
    # GIVEN a check without interval/threshold and a distribution without attempts/timeout
    synth = regional("eu-west-1")
    check = synth.resources[0]
    del check.inputs["requestInterval"], check.inputs["failureThreshold"]
    budget = budget_from_synthesis([edge(attempts=None, timeout=None), synth])
    assert budget.rto_terms[0].seconds == 30 * 3
    assert budget.rto_terms[3].seconds == 3 * 10


def test_missing_inputs_are_all_named():
    # GIVEN stacks that declare none of the DR resources yet
    empty = Synthesis("prod-eu", [resource("aws:ec2/vpc:Vpc", "vpc")], {}, {})

    # WHEN the budget is asked for
    with pytest.raises(BudgetInputsMissing) as error:
        budget_from_synthesis([empty])

    # THEN the error names each missing piece
    assert str(error.value).splitlines() == [
        "cannot compute the RTO/RPO budget:",
        "  - no aws:route53/healthCheck:HealthCheck in stacks prod-eu "
        "(R-API-5 health check on /health)",
        "  - no latency-routed aws:route53/record:Record in stacks prod-eu "
        "(R-API-5 api.<domain> records)",
        "  - no rds.global_db_rpo parameter in any "
        "aws:rds/clusterParameterGroup:ClusterParameterGroup in stacks prod-eu",
        "  - no aws:cloudwatch/metricAlarm:MetricAlarm on AuroraGlobalDBRPOLag with a threshold "
        "in stacks prod-eu",
    ]


def test_an_alarm_built_from_metric_queries_counts():
    synth = regional("eu-west-1")
    alarm = synth.resources[3]
    del alarm.inputs["metricName"]
    alarm.inputs["metricQueries"] = [
        {"id": "lag", "metric": {"metricName": "AuroraGlobalDBRPOLag", "namespace": "AWS/RDS"}}
    ]
    assert budget_from_synthesis([edge(), synth]).lag_alarm_threshold_s == 10


def test_secret_wrapped_origins_are_unwrapped():
    # GIVEN origins computed from a secret (the origin-verify header), as the engine sends them
    cdn = edge(attempts=2, timeout=4)
    distribution = cdn.resources[0]
    distribution.inputs["origins"] = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": distribution.inputs["origins"],
    }

    # WHEN the budget is read THEN the API origin's own values count
    budget = budget_from_synthesis([cdn, regional("eu-west-1")])
    assert budget.rto_terms[3].seconds == 2 * 4


# --- R-DR-3 redrive window ----------------------------------------------------------------------
def queue_stack(*, redrive: str | None, visibility=181, consumed=True) -> Synthesis:
    queue = resource("aws:sqs/queue:Queue", "queue", visibilityTimeoutSeconds=visibility)
    queue.inputs["name"] = "events"
    if redrive is not None:
        queue.inputs["redrivePolicy"] = redrive
    # A queue nobody consumes (a DLQ) has no window of its own.
    resources = [queue, resource("aws:sqs/queue:Queue", "dlq")]
    if consumed:
        resources.append(
            resource(
                "aws:lambda/eventSourceMapping:EventSourceMapping",
                "mapping",
                eventSourceArn="arn:aws:sqs:eu-west-1:123456789012:queue",
            )
        )
    return Synthesis("prod-eu", resources, {}, {})


def test_redrive_window_is_receives_times_visibility():
    synth = queue_stack(redrive='{"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": 12}')
    (window,) = redrive_windows_from_synthesis([synth])
    assert (window.queue, window.seconds) == ("prod-eu/events", 12 * 181)
    assert window.violations == ()


def test_a_consumed_queue_without_redrive_or_no_consumer_at_all_is_named():
    with pytest.raises(BudgetInputsMissing, match="queue queue is consumed but has no redrive"):
        redrive_windows_from_synthesis([queue_stack(redrive=None)])
    with pytest.raises(BudgetInputsMissing, match="no SQS queue consumed"):
        redrive_windows_from_synthesis([queue_stack(redrive="{}", consumed=False)])


# --- the latency record must fail with an endpoint check --------------------------------------
def with_calculated_check(region: str, *, threshold: int | None) -> Synthesis:
    """The region's record heeding a calculated check over its endpoint check and a plan's."""
    synth = regional(region)
    endpoint = synth.resources[0]
    plan_check = resource(
        "aws:route53/healthCheck:HealthCheck", f"arc-{region}", type="RECOVERY_CONTROL"
    )
    children = [endpoint.mock_id, plan_check.mock_id]
    calculated = resource(
        "aws:route53/healthCheck:HealthCheck",
        f"routing-{region}",
        type="CALCULATED",
        childHealthchecks=children,
        childHealthThreshold=len(children) if threshold is None else threshold,
    )
    synth.resources[1].inputs["healthCheckId"] = calculated.mock_id
    synth.resources += [plan_check, calculated]
    return synth


def test_a_calculated_check_needing_every_child_keeps_the_automatic_failover():
    budget = budget_from_synthesis([edge(), with_calculated_check("eu-west-1", threshold=None)])
    assert budget.rto_s == 41


@pytest.mark.parametrize("threshold", [0, 1])
def test_a_calculated_check_satisfied_without_its_endpoint_child_is_named(threshold):
    # A threshold below the child count keeps the record answering while the region is down.
    with pytest.raises(BudgetInputsMissing, match="latency record api-latency-eu-west-1 heeds no"):
        budget_from_synthesis([edge(), with_calculated_check("eu-west-1", threshold=threshold)])


def test_a_latency_record_without_a_health_check_is_named():
    synth = regional("eu-west-1")
    del synth.resources[1].inputs["healthCheckId"]
    with pytest.raises(BudgetInputsMissing, match="nothing takes its region out automatically"):
        budget_from_synthesis([edge(), synth])


# --- the Region switch plan -------------------------------------------------------------------
def test_plan_objectives_add_the_step_timeouts_without_the_approval():
    # GIVEN the plan's workflows with approvals (prod), a 10 s TTL and a 1 x 5 s API origin
    flows = region_switch.workflows(("eu-west-1", "us-west-1"), approval=True)

    # WHEN its objectives are computed
    budget = plan_budget(
        flows,
        dns_ttl_s=10,
        cloudfront_connection_attempts=1,
        cloudfront_connection_timeout_s=5,
        redrive_window_s=1810,
    )

    # THEN each is its steps' timeouts, named, and the 60-minute approval is in none
    assert [(t.name, t.seconds) for t in budget.serving] == [
        ("Route 53 step route53-out", 300),
        ("DNS TTL", 10),
        ("CloudFront origin re-resolution", 5),
    ]
    assert [(t.name, t.seconds) for t in budget.writer] == [
        ("Route 53 step route53-out", 300),
        ("Aurora step aurora-writer", 900),
    ]
    assert budget.recovery_s == 1800 and budget.recovery_time_objective_minutes == 30
    assert budget.recovery_time_objective_minutes == region_switch.recovery_time_objective_minutes(
        flows
    )
    assert budget.violations == ()
    rendered = budget.render()
    assert "plan recoveryTimeObjectiveMinutes = 30" in rendered
    assert "AWS does not guarantee:" in rendered


def test_a_plan_without_approval_has_the_same_objectives():
    with_approval = plan_budget(
        region_switch.workflows(("a-b-1", "c-d-1"), approval=True), dns_ttl_s=10
    )
    without = plan_budget(region_switch.workflows(("a-b-1", "c-d-1"), approval=False), dns_ttl_s=10)
    assert (with_approval.serving_s, with_approval.writer_s, with_approval.recovery_s) == (
        without.serving_s,
        without.writer_s,
        without.recovery_s,
    )


def test_queued_writes_must_outlast_twice_the_aurora_step():
    budget = plan_budget(
        region_switch.workflows(("a-b-1", "c-d-1"), approval=False),
        dns_ttl_s=10,
        redrive_window_s=905,
    )
    assert budget.violations == (
        "queued writes reach the DLQ after 905 s, under 2 x the plan's 900 s Aurora step: "
        "raise dlqMaxReceiveCount or shorten the step",
    )
