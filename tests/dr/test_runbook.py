"""Switchover and failover end to end against stubbed RDS (moto lacks the two mutating calls)
and moto CloudWatch: pre-checks, ordering, arguments, post-checks, aborts."""

from __future__ import annotations

from dr.runbook import ABORTED, DECLINED, OK, UNVERIFIED, Runbook
from tests.dr.conftest import (
    DOWN,
    EU,
    EU_ARN,
    GLOBAL_ID,
    NOW,
    READER,
    US,
    US_ARN,
    US_CLUSTER,
    WRITER,
    ScriptedProbe,
    member,
    put_lag,
)

SWITCHOVER = (
    US,
    "SwitchoverGlobalCluster",
    {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": US_ARN},
)
IN_FLIGHT = {"Status": "failing-over", "FromDbClusterArn": EU_ARN, "ToDbClusterArn": US_ARN}


def make_runbook(aws, clock, lines, probe=None, timeout_s=60.0):
    return Runbook(
        aws,
        global_cluster_id=GLOBAL_ID,
        rpo_s=30.0,
        probe=probe,
        out=lines.append,
        clock=clock,
        sleep=clock.sleep,
        now=lambda: NOW,
        poll_interval_s=10.0,
        timeout_s=timeout_s,
    )


def queue_prechecks(stubbed, **global_kwargs):
    stubbed.describe_global(US, **global_kwargs)
    stubbed.describe_cluster(US_ARN)
    stubbed.describe_cluster(EU_ARN)


def test_switchover_happy_path_calls_aws_in_order_with_the_target_arn(stubbed, recorder, clock):
    # GIVEN EU is the writer, US is in sync (1.2 s lag) and both report healthy
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.expect(
        US,
        "switchover_global_cluster",
        {"GlobalCluster": {"GlobalClusterIdentifier": GLOBAL_ID}},
        {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": US_ARN},
    )
    stubbed.describe_global(US, status="switching-over", failover=IN_FLIGHT)
    stubbed.describe_global(US, writer=US)
    stubbed.describe_cluster(US_ARN)
    stubbed.describe_global(US, writer=US)
    probe = ScriptedProbe({US: [WRITER], EU: [READER]})
    lines: list[str] = []

    # WHEN the operator runs the switchover to US
    outcome = make_runbook(stubbed.aws(recorder), clock, lines, probe).run(
        "switchover", US, dry_run=False
    )

    # THEN it reads, switches over once with the target ARN, then verifies — in that order
    assert outcome.code == OK and outcome.changed
    assert (outcome.old_writer_region, outcome.new_writer_region) == (EU, US)
    assert [(region, op) for region, op, _ in recorder.calls] == [
        (US, "DescribeGlobalClusters"),
        (US, "DescribeDBClusters"),
        (EU, "DescribeDBClusters"),
        (US, "GetMetricStatistics"),
        (US, "SwitchoverGlobalCluster"),
        (US, "DescribeGlobalClusters"),
        (US, "DescribeGlobalClusters"),
        (US, "DescribeDBClusters"),
        (US, "DescribeGlobalClusters"),
    ]
    assert recorder.mutations == [SWITCHOVER]
    assert probe.asked == [US, EU]
    assert clock.sleeps == [10.0]  # one poll while the global cluster was switching over
    stubbed.assert_done()
    assert "[  10.0s] COMPLETE switchover: us-west-1 is the writer (10.0s after request)" in lines


def test_switchover_reads_the_rpo_lag_in_the_secondary_region(stubbed, recorder, clock):
    # GIVEN the secondary's lag metric
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    lines: list[str] = []

    # WHEN a dry run reads it
    make_runbook(stubbed.aws(recorder), clock, lines).run("switchover", US, dry_run=True)

    # THEN the query is the secondary cluster's AuroraGlobalDBRPOLag over the last 5 minutes
    (metric_call,) = [c for c in recorder.calls if c[1] == "GetMetricStatistics"]
    region, _, params = metric_call
    assert region == US
    assert params["MetricName"] == "AuroraGlobalDBRPOLag"
    assert params["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": US_CLUSTER}]
    assert (params["EndTime"] - params["StartTime"]).total_seconds() == 300
    assert params["EndTime"] == NOW
    assert (
        "[   0.0s] PRE  ok   replication lag: AuroraGlobalDBRPOLag 1.2 s (RPO 30 s) "
        "on mobile-backend-prod-us" in lines
    )


def test_dry_run_prints_the_plan_and_makes_no_mutating_call(stubbed, recorder, clock):
    # GIVEN healthy pre-conditions and a Stubber with NO mutating response queued
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    lines: list[str] = []

    # WHEN the operator asks for a dry run
    outcome = make_runbook(stubbed.aws(recorder), clock, lines).run("switchover", US, dry_run=True)

    # THEN the plan is printed, every queued read was consumed, nothing mutating was called
    assert outcome.code == OK and not outcome.changed
    assert recorder.mutations == []
    stubbed.assert_done()
    plan = [line for line in lines if " PLAN " in line]
    assert plan == [
        f"[   0.0s] PLAN 1/5 request switchover_global_cluster → {US_ARN}",
        "[   0.0s] PLAN 2/5 wait until mobile-backend-prod-us is the writer and the global "
        "cluster is available",
        "[   0.0s] PLAN 3/5 wait until cluster mobile-backend-prod-us is available",
        "[   0.0s] PLAN 4/5 new writer in us-west-1 accepts writes",
        "[   0.0s] PLAN 5/5 old writer in eu-west-1 is fenced (no longer writer)",
    ]
    assert lines[-1] == "[   0.0s] DRY RUN complete: pre-checks passed, no change made"


def test_mid_failover_global_cluster_aborts_before_any_change(stubbed, recorder, clock):
    # GIVEN a switchover already in flight
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed, status="failing-over", failover=IN_FLIGHT)
    lines: list[str] = []

    # WHEN the operator starts another one
    outcome = make_runbook(stubbed.aws(recorder), clock, lines).run("switchover", US, dry_run=False)

    # THEN it aborts with the reason and no mutating call
    assert outcome.code == ABORTED and not outcome.changed
    assert recorder.mutations == []
    assert (
        f"[   0.0s] PRE  FAIL global cluster idle: {GLOBAL_ID} status failing-over, "
        f"failing-over to {US_ARN}"
    ) in lines
    assert lines[-1] == "[   0.0s] ABORT pre-check failed (global cluster idle): no change made"


def test_target_not_available_aborts(stubbed, recorder, clock):
    # GIVEN the US cluster is being modified
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN, status="modifying")
    stubbed.describe_cluster(EU_ARN)
    lines: list[str] = []

    # WHEN switching over to it
    outcome = make_runbook(stubbed.aws(recorder), clock, lines).run("switchover", US, dry_run=False)

    # THEN nothing is changed
    assert outcome.code == ABORTED
    assert recorder.mutations == []
    assert (
        "[   0.0s] PRE  FAIL target cluster available: mobile-backend-prod-us status modifying"
        in lines
    )


def test_switching_to_the_current_writer_is_refused(stubbed, recorder, clock):
    # GIVEN US is already the writer
    stubbed.describe_global(US, writer=US)
    lines: list[str] = []

    # WHEN switching over to US
    outcome = make_runbook(stubbed.aws(recorder), clock, lines).run("switchover", US, dry_run=False)

    # THEN it aborts after one read
    assert outcome.code == ABORTED
    assert recorder.operations == ["DescribeGlobalClusters"]
    assert (
        "[   0.0s] PRE  FAIL target member: mobile-backend-prod-us is already the writer" in lines
    )


def test_declined_confirmation_changes_nothing(stubbed, recorder, clock):
    # GIVEN healthy pre-conditions
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    prompts: list[str] = []
    lines: list[str] = []

    # WHEN the operator answers no
    outcome = make_runbook(stubbed.aws(recorder), clock, lines).run(
        "switchover", US, dry_run=False, confirm=lambda p: prompts.append(p) or False
    )

    # THEN nothing mutating was called
    assert outcome.code == DECLINED and not outcome.changed
    assert recorder.mutations == []
    assert prompts == [
        f"switchover {GLOBAL_ID}: make mobile-backend-prod-us (us-west-1) the writer?"
    ]


def test_aws_refusing_the_switchover_is_reported_as_no_change(stubbed, recorder, clock):
    # GIVEN AWS rejects the request (e.g. the clusters' versions are not switchover-compatible)
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.stubbers[US].add_client_error(
        "switchover_global_cluster",
        service_error_code="InvalidGlobalClusterStateFault",
        service_message="not in a valid state",
        expected_params={"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": US_ARN},
    )
    lines: list[str] = []

    # WHEN the switchover is requested
    outcome = make_runbook(stubbed.aws(recorder), clock, lines).run("switchover", US, dry_run=False)

    # THEN the runbook says nothing changed and stops
    assert outcome.code == ABORTED and not outcome.changed
    assert lines[-1] == "[   0.0s] ABORT AWS refused the request: no change made"
    stubbed.assert_done()


def test_post_check_timeout_is_reported_as_unverified(stubbed, recorder, clock):
    # GIVEN the switchover is accepted but the global cluster never finishes
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.expect(
        US,
        "switchover_global_cluster",
        {"GlobalCluster": {"GlobalClusterIdentifier": GLOBAL_ID}},
        {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": US_ARN},
    )
    for _ in range(3):
        stubbed.describe_global(US, status="switching-over", failover=IN_FLIGHT)
    lines: list[str] = []

    # WHEN the post-check waits 20 s with 10 s polls
    outcome = make_runbook(stubbed.aws(recorder), clock, lines, timeout_s=20.0).run(
        "switchover", US, dry_run=False
    )

    # THEN it stops at the deadline and tells the operator to look
    assert outcome.code == UNVERIFIED and outcome.changed
    assert clock.sleeps == [10.0, 10.0]
    assert lines[-2] == (
        "[  20.0s] FAIL 2/5 after 20.0s: timed out after 20s waiting for the target to become "
        "writer: global cluster switching-over, failing-over, writer eu-west-1"
    )
    stubbed.assert_done()


def test_old_region_still_claiming_writer_fails_the_fencing_check(stubbed, recorder, clock):
    # GIVEN the switchover completes but the EU API keeps reporting role writer
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.expect(
        US,
        "switchover_global_cluster",
        {"GlobalCluster": {"GlobalClusterIdentifier": GLOBAL_ID}},
        {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": US_ARN},
    )
    stubbed.describe_global(US, writer=US)
    stubbed.describe_cluster(US_ARN)
    stubbed.describe_global(US, writer=US)
    stubbed.describe_global(US, writer=US)
    probe = ScriptedProbe({US: [WRITER], EU: [WRITER]})
    lines: list[str] = []

    # WHEN the runbook verifies fencing with a 10 s deadline
    outcome = make_runbook(stubbed.aws(recorder), clock, lines, probe, timeout_s=10.0).run(
        "switchover", US, dry_run=False
    )

    # THEN the split-brain symptom is reported, not hidden
    assert outcome.code == UNVERIFIED
    assert "eu-west-1 API still reports role writer" in lines[-2]


# --- failover: the EU region is gone -----------------------------------------------------------
def queue_failover_happy(stubbed):
    stubbed.expect(
        US,
        "failover_global_cluster",
        {"GlobalCluster": {"GlobalClusterIdentifier": GLOBAL_ID}},
        {
            "GlobalClusterIdentifier": GLOBAL_ID,
            "TargetDbClusterIdentifier": US_ARN,
            "AllowDataLoss": True,
        },
    )
    stubbed.describe_global(US, writer=US)
    stubbed.describe_cluster(US_ARN)
    # After a failover the old primary stays listed as a secondary awaiting resync.
    stubbed.describe_global(
        US,
        members=[member(US_ARN, writer=True), member(EU_ARN, writer=False, sync="pending-resync")],
    )


def test_failover_with_the_old_region_lost_aborts_without_allow_data_loss(stubbed, recorder, clock):
    # GIVEN eu-west-1 does not answer
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN)
    lines: list[str] = []

    # WHEN failing over without --allow-data-loss
    outcome = make_runbook(stubbed.aws(recorder, lost={EU}), clock, lines).run(
        "failover", US, dry_run=False
    )

    # THEN the lost region is reported unreachable and nothing is changed
    assert outcome.code == ABORTED
    assert recorder.mutations == []
    assert any(
        "PRE  WARN source region reachable: eu-west-1 unreachable (EndpointConnectionError" in line
        for line in lines
    )
    assert "PRE  WARN engine versions equal: us-west-1 16.4; unreadable: eu-west-1" in lines[-4]
    assert lines[-1] == (
        "[   0.0s] ABORT pre-check failed (source region reachable, engine versions equal): "
        "no change made; re-run with --allow-data-loss to fail over anyway"
    )
    stubbed.assert_done()


def test_failover_with_allow_data_loss_promotes_the_target(stubbed, recorder, clock):
    # GIVEN eu-west-1 does not answer and US lags 45 s (beyond the RPO)
    put_lag(US, US_CLUSTER, 45000)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN)
    queue_failover_happy(stubbed)
    probe = ScriptedProbe({US: [DOWN, WRITER], EU: [DOWN]})
    lines: list[str] = []

    # WHEN failing over with --allow-data-loss
    outcome = make_runbook(stubbed.aws(recorder, lost={EU}), clock, lines, probe).run(
        "failover", US, dry_run=False, allow_data_loss=True
    )

    # THEN failover_global_cluster is called once with AllowDataLoss and the target ARN,
    # the new writer is probed until it accepts writes, and the old region counts as fenced
    assert outcome.code == OK and outcome.changed
    assert recorder.mutations == [
        (
            US,
            "FailoverGlobalCluster",
            {
                "GlobalClusterIdentifier": GLOBAL_ID,
                "TargetDbClusterIdentifier": US_ARN,
                "AllowDataLoss": True,
            },
        )
    ]
    assert probe.asked == [US, US, EU]
    assert clock.sleeps == [10.0]
    assert any(
        "PRE  WARN replication lag: AuroraGlobalDBRPOLag 45.0 s (RPO 30 s)" in x for x in lines
    )
    assert lines[-2:] == [
        "[  10.0s] DONE 5/5 in 0.0s: mobile-backend-prod-eu is a secondary; unreachable: timed out",
        "[  10.0s] COMPLETE failover: us-west-1 is the writer (10.0s after request)",
    ]
    stubbed.assert_done()


def test_failover_never_degrades_checks_on_the_target(stubbed, recorder, clock):
    # GIVEN the target cluster itself is not available
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN, status="stopped")
    lines: list[str] = []

    # WHEN failing over even with --allow-data-loss
    outcome = make_runbook(stubbed.aws(recorder, lost={EU}), clock, lines).run(
        "failover", US, dry_run=False, allow_data_loss=True
    )

    # THEN it still aborts
    assert outcome.code == ABORTED
    assert recorder.mutations == []


def test_failover_with_everything_healthy_suggests_a_switchover(stubbed, recorder, clock):
    # GIVEN both regions healthy and in sync
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    lines: list[str] = []

    # WHEN a failover dry run is asked for
    outcome = make_runbook(stubbed.aws(recorder), clock, lines).run("failover", US, dry_run=True)

    # THEN the plan names the data-loss call and the runbook points at the lossless one
    assert outcome.code == OK and recorder.mutations == []
    assert (
        "[   0.0s] NOTE the current writer is reachable and in sync: a switchover would lose "
        "nothing (python -m dr switchover)"
    ) in lines
    assert (
        f"[   0.0s] PLAN 1/5 request failover_global_cluster AllowDataLoss=True → {US_ARN}" in lines
    )


def test_a_failover_slower_than_the_rto_is_called_out(stubbed, recorder, clock):
    # GIVEN the promoted region's API needs 70 s before it reports writer
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN)
    queue_failover_happy(stubbed)
    probe = ScriptedProbe({US: [DOWN] * 7 + [WRITER], EU: [DOWN]})
    lines: list[str] = []

    # WHEN failing over with the EU region lost
    outcome = make_runbook(stubbed.aws(recorder, lost={EU}), clock, lines, probe, 120.0).run(
        "failover", US, dry_run=False, allow_data_loss=True
    )

    # THEN it completes, and says the RTO was not met and why that is possible
    assert outcome.code == OK
    assert lines[-1] == (
        "[  70.0s] NOTE promotion and verification took 70s, not below the 60s RTO: AWS does "
        "not guarantee Aurora promotion time (docs/dr.md); record it in the incident timeline"
    )
