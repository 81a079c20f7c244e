"""Switchover and failover end to end: read-only pre-checks (stubbed RDS, moto CloudWatch), then
an ARC Region switch plan execution (stubbed ARC answering with the synthesized stack's own
plan), watched to its end, then the runbook's own verification. Pre-check failures, refusals,
failed or stuck executions and approvals each stop it where they should."""

from __future__ import annotations

import pytest

from contract import region_switch as rs
from dr.runbook import ABORTED, DECLINED, OK, UNVERIFIED, Runbook, plan_execution
from dr.topology import PlanRef
from tests.dr.conftest import (
    DOWN,
    EU,
    EU_ARN,
    EXECUTION_ID,
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
    workflow_steps,
)

IN_FLIGHT = {"Status": "failing-over", "FromDbClusterArn": EU_ARN, "ToDbClusterArn": US_ARN}
ARC_MUTATIONS = ("StartPlanExecution", "ApprovePlanExecutionStep")


def make_runbook(aws, clock, lines, plans, probe=None, timeout_s=60.0):
    return Runbook(
        aws,
        global_cluster_id=GLOBAL_ID,
        plans=plans,
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


def queue_verification(stubbed, *, writer=US):
    """What the runbook reads after the execution: writer, target cluster, fencing."""
    target_arn = US_ARN if writer == US else EU_ARN
    stubbed.describe_global(writer, writer=writer)
    stubbed.describe_cluster(target_arn)
    stubbed.describe_global(writer, writer=writer)


def started(recorder) -> list[tuple[str, str, dict]]:
    return [
        (r, op, {k: v for k, v in p.items() if k != "comment"})
        for r, op, p in recorder.calls
        if op in ARC_MUTATIONS
    ]


def test_switchover_deactivates_the_writers_region_with_the_plan_and_verifies(
    stubbed, recorder, clock, held_plan, plans
):
    # GIVEN EU is the writer, US in sync, both regions in routing
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    stubbed.start(US, held_plan, target=EU, action="deactivate")
    stubbed.execution(US, held_plan, "inProgress", statuses={rs.STEP_ROUTE53_OUT: "running"})
    stubbed.execution(US, held_plan, "completed", recovery="PT4M30S")
    queue_verification(stubbed)
    probe = ScriptedProbe({US: [WRITER], EU: [READER]})
    lines: list[str] = []

    # WHEN the operator switches over to US
    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans, probe).run(
        "switchover", US, dry_run=False, approve=True
    )

    # THEN it reads, starts ONE graceful "deactivate eu-west-1" execution of the plan from the
    # US (the region the plan keeps), watches it to the end, then verifies on its own
    assert outcome.code == OK and outcome.changed, lines
    assert (outcome.old_writer_region, outcome.new_writer_region) == (EU, US)
    assert outcome.execution_id == EXECUTION_ID
    assert started(recorder) == [
        (
            US,
            "StartPlanExecution",
            {
                "planArn": held_plan["arn"],
                "targetRegion": EU,
                "action": "deactivate",
                "mode": "graceful",
            },
        )
    ]
    assert [(r, op) for r, op, _ in recorder.calls] == [
        (US, "DescribeGlobalClusters"),
        (US, "DescribeDBClusters"),
        (EU, "DescribeDBClusters"),
        (US, "GetMetricStatistics"),
        (US, "ListRoute53HealthChecksInRegion"),
        (US, "GetPlanInRegion"),
        (US, "StartPlanExecution"),
        (US, "GetPlanExecution"),
        (US, "GetPlanExecution"),
        (US, "DescribeGlobalClusters"),
        (US, "DescribeDBClusters"),
        (US, "DescribeGlobalClusters"),
    ]
    # No RDS mutation of its own: ARC's Aurora step moves the writer.
    assert not any(
        op.endswith("GlobalCluster") and "Describe" not in op for op in recorder.operations
    )
    assert probe.asked == [US, EU]
    assert clock.sleeps == [10.0]
    assert "[   0.0s] STEP route53-out: running" in lines
    assert "[  10.0s] EXECUTION exec-0001 completed" in lines
    assert lines[-1] == (
        "[  10.0s] COMPLETE switchover: us-west-1 is the writer (10.0s after the execution "
        "started; ARC's actual recovery time PT4M30S)"
    )
    stubbed.assert_done()


def test_dry_run_prints_the_workflow_arc_would_run_and_starts_nothing(
    stubbed, recorder, clock, held_plan, plans
):
    # GIVEN healthy pre-conditions and no mutating response queued
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    lines: list[str] = []

    # WHEN the operator asks for a dry run
    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=True
    )

    # THEN the plan's deactivate-EU workflow is printed from the plan ARC holds, step by step,
    # then the runbook's own checks; nothing was started
    assert outcome.code == OK and not outcome.changed
    assert recorder.mutations == []
    stubbed.assert_done()
    plan = [line.removeprefix("[   0.0s] PLAN ") for line in lines if " PLAN " in line]
    assert plan == [
        f"ARC Region switch: deactivate eu-west-1 (graceful) with plan {plans[0].name}, "
        "started in us-west-1",
        "1/5 approve [ManualApproval, ≤ 60 min] An operator with the approval role approves "
        "the switch",
        "2/5 route53-out [Route53HealthCheck, ≤ 5 min] Route 53 stops answering api.<domain> "
        "with eu-west-1",
        "3/5 aurora-writer [AuroraGlobalDatabase, ≤ 15 min] Aurora makes the remaining region "
        "the writer: switchover (graceful) or failover (ungraceful)",
        "4/5 verify-writer [CustomActionLambda, ≤ 5 min] The activating region's cluster is the "
        "writer and commits a write; the new writer is recorded",
        "5/5 smoke [CustomActionLambda, ≤ 5 min] The app's own path (deployed role hint and "
        "endpoints) commits a write",
        "then verify: mobile-backend-prod-us is the writer and the global cluster is available",
        "then verify: cluster mobile-backend-prod-us is available",
        "then verify: new writer in us-west-1 accepts writes",
        "then verify: old writer in eu-west-1 is fenced (no longer writer)",
    ]
    assert lines[-1] == "[   0.0s] DRY RUN complete: pre-checks passed, no change made"


def test_switching_back_activates_the_region_the_plan_took_out(
    stubbed, recorder, clock, held_plan, plans
):
    # GIVEN the US is the writer and the plan holds the EU out of routing (its check unhealthy)
    put_lag(EU, "mobile-backend-prod-eu", 900)
    stubbed.describe_global(EU, writer=US)
    stubbed.describe_cluster(EU_ARN)
    stubbed.describe_cluster(US_ARN)
    stubbed.plan_reads(EU, held_plan, statuses={EU: "unhealthy"})
    stubbed.start(EU, held_plan, target=EU, action="activate")
    stubbed.execution(EU, held_plan, "completed", action="activate", workflow_region=EU)
    queue_verification(stubbed, writer=EU)
    lines: list[str] = []

    # WHEN the operator switches back to the EU
    outcome = make_runbook(
        stubbed.aws(recorder), clock, lines, plans, ScriptedProbe({EU: [WRITER], US: [READER]})
    ).run("switchover", EU, dry_run=False)

    # THEN the plan's "activate eu-west-1" workflow runs, started in the EU: it makes the EU
    # writer and only then puts it back into routing
    assert outcome.code == OK, lines
    assert started(recorder) == [
        (
            EU,
            "StartPlanExecution",
            {
                "planArn": held_plan["arn"],
                "targetRegion": EU,
                "action": "activate",
                "mode": "graceful",
            },
        )
    ]
    assert workflow_steps(held_plan, "activate", EU)[-1] == rs.STEP_ROUTE53_IN
    stubbed.assert_done()


def test_an_approval_step_waits_for_the_approver_and_says_how(
    stubbed, recorder, clock, held_plan, plans
):
    # GIVEN the execution stops at its approval step, then someone approves it elsewhere
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    stubbed.start(US, held_plan, target=EU, action="deactivate")
    waiting = {rs.STEP_APPROVE: "pendingApproval"}
    stubbed.execution(US, held_plan, "pendingManualApproval", statuses=waiting)
    stubbed.execution(US, held_plan, "pendingManualApproval", statuses=waiting)
    stubbed.execution(US, held_plan, "completed")
    queue_verification(stubbed)
    lines: list[str] = []

    # WHEN the runbook watches without --approve
    outcome = make_runbook(
        stubbed.aws(recorder), clock, lines, plans, ScriptedProbe({US: [WRITER], EU: [READER]})
    ).run("switchover", US, dry_run=False)

    # THEN it never approves by itself, tells the operator once how to, and goes on after
    assert outcome.code == OK
    assert [op for _, op, _ in started(recorder)] == ["StartPlanExecution"]
    told = [line for line in lines if "WAITING" in line]
    assert told == [
        f"[   0.0s] WAITING step approve needs approval: with the approval role, run "
        f"`python -m dr approve {EXECUTION_ID} --step approve` (or the ARC console)"
    ]
    stubbed.assert_done()


def test_approve_flag_approves_the_pending_step_with_the_callers_credentials(
    stubbed, recorder, clock, held_plan, plans
):
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    stubbed.start(US, held_plan, target=EU, action="deactivate")
    stubbed.execution(
        US, held_plan, "pendingManualApproval", statuses={rs.STEP_APPROVE: "pendingApproval"}
    )
    stubbed.arc(
        US,
        "approve_plan_execution_step",
        {},
        {
            "planArn": held_plan["arn"],
            "executionId": EXECUTION_ID,
            "stepName": rs.STEP_APPROVE,
            "approval": "approve",
            "comment": "python -m dr",
        },
    )
    stubbed.execution(US, held_plan, "completed")
    queue_verification(stubbed)
    lines: list[str] = []

    outcome = make_runbook(
        stubbed.aws(recorder), clock, lines, plans, ScriptedProbe({US: [WRITER], EU: [READER]})
    ).run("switchover", US, dry_run=False, approve=True)

    assert outcome.code == OK
    assert [op for _, op, _ in started(recorder)] == [
        "StartPlanExecution",
        "ApprovePlanExecutionStep",
    ]
    assert "[   0.0s] APPROVED step approve" in lines
    stubbed.assert_done()


@pytest.mark.parametrize(
    "state", ["failed", "canceled", "pausedByFailedStep", "planExecutionTimedOut"]
)
def test_an_execution_that_does_not_complete_is_unverified_and_not_verified_further(
    stubbed, recorder, clock, held_plan, plans, state
):
    # GIVEN ARC stops the execution at the Aurora step
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    stubbed.start(US, held_plan, target=EU, action="deactivate")
    stubbed.execution(US, held_plan, state, statuses={rs.STEP_AURORA: "failed"})
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=False
    )

    # THEN the change counts as requested but unverified, and nothing else is read
    assert outcome.code == UNVERIFIED and outcome.changed
    assert recorder.operations[-1] == "GetPlanExecution"
    assert "[   0.0s] STEP aurora-writer: failed" in lines
    assert f"[   0.0s] FAIL execution {EXECUTION_ID}: {state}" in lines
    stubbed.assert_done()


def test_an_execution_still_running_at_the_sum_of_its_timeouts_is_unverified(
    stubbed, recorder, clock, held_plan, plans
):
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    stubbed.start(US, held_plan, target=EU, action="deactivate")
    # Approval 60 + Route 53 5 + Aurora 15 + 2 x 5 custom = 90 min: 541 polls 10 s apart.
    deadline_polls = 90 * 6 + 1
    for _ in range(deadline_polls):
        stubbed.execution(US, held_plan, "inProgress")
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=False
    )

    assert outcome.code == UNVERIFIED
    assert len(clock.sleeps) == deadline_polls - 1
    assert f"FAIL execution {EXECUTION_ID}: still running at its deadline" in lines[-2]
    stubbed.assert_done()


def test_arc_refusing_the_execution_is_reported_as_no_change(
    stubbed, recorder, clock, held_plan, plans
):
    # GIVEN ARC rejects the start (e.g. another execution is in progress)
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    stubbed.arc_stubbers[US].add_client_error(
        "start_plan_execution",
        service_error_code="IllegalStateException",
        service_message="an execution is in progress",
    )
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=False
    )

    assert outcome.code == ABORTED and not outcome.changed
    assert lines[-1] == "[   0.0s] ABORT ARC refused the execution: no change made"
    stubbed.assert_done()


def test_mid_failover_global_cluster_aborts_before_reading_the_plan(
    stubbed, recorder, clock, plans
):
    # GIVEN a switchover already in flight
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed, status="failing-over", failover=IN_FLIGHT)
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=False
    )

    # THEN it aborts with the reason, no ARC call at all
    assert outcome.code == ABORTED and not outcome.changed
    assert not any(op.endswith(("Execution", "Region")) for op in recorder.operations)
    assert (
        f"[   0.0s] PRE  FAIL global cluster idle: {GLOBAL_ID} status failing-over, "
        f"failing-over to {US_ARN}"
    ) in lines
    assert lines[-1] == "[   0.0s] ABORT pre-check failed (global cluster idle): no change made"


def test_target_not_available_aborts(stubbed, recorder, clock, plans):
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN, status="modifying")
    stubbed.describe_cluster(EU_ARN)
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=False
    )

    assert outcome.code == ABORTED
    assert recorder.mutations == []
    assert (
        "[   0.0s] PRE  FAIL target cluster available: mobile-backend-prod-us status modifying"
        in lines
    )


def test_switching_to_the_current_writer_is_refused(stubbed, recorder, clock, plans):
    stubbed.describe_global(US, writer=US)
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=False
    )

    assert outcome.code == ABORTED
    assert recorder.operations == ["DescribeGlobalClusters"]
    assert (
        "[   0.0s] PRE  FAIL target member: mobile-backend-prod-us is already the writer" in lines
    )


def test_declined_confirmation_starts_nothing(stubbed, recorder, clock, held_plan, plans):
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    prompts: list[str] = []
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "switchover", US, dry_run=False, confirm=lambda p: prompts.append(p) or False
    )

    assert outcome.code == DECLINED and not outcome.changed
    assert recorder.mutations == []
    assert prompts == [
        f"switchover {GLOBAL_ID}: deactivate eu-west-1 (graceful) with plan {plans[0].name} "
        "to make mobile-backend-prod-us (us-west-1) the writer?"
    ]


def test_no_plan_for_the_pair_aborts(stubbed, recorder, clock):
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    other = [PlanRef("p", "arn:aws:arc-region-switch::1:plan/p:abcdef", (EU, "ap-southeast-2"))]
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, other).run(
        "switchover", US, dry_run=False
    )

    assert outcome.code == ABORTED and recorder.mutations == []
    assert lines[-1] == (
        "[   0.0s] ABORT no Region switch plan covers eu-west-1 and us-west-1 (plans: p "
        "['eu-west-1', 'ap-southeast-2']): no change made"
    )


def test_old_region_still_claiming_writer_fails_the_fencing_check(
    stubbed, recorder, clock, held_plan, plans
):
    # GIVEN ARC completes but the EU API keeps reporting role writer
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    stubbed.start(US, held_plan, target=EU, action="deactivate")
    stubbed.execution(US, held_plan, "completed")
    stubbed.describe_global(US, writer=US)
    stubbed.describe_cluster(US_ARN)
    stubbed.describe_global(US, writer=US)
    stubbed.describe_global(US, writer=US)
    probe = ScriptedProbe({US: [WRITER], EU: [WRITER]})
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans, probe, 10.0).run(
        "switchover", US, dry_run=False
    )

    # THEN the split-brain symptom is reported, not hidden behind ARC's "completed"
    assert outcome.code == UNVERIFIED
    assert "eu-west-1 API still reports role writer" in lines[-2]


# --- failover: the EU region is gone -----------------------------------------------------------
def test_failover_with_the_old_region_lost_aborts_without_allow_data_loss(
    stubbed, recorder, clock, plans
):
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN)
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder, lost={EU}), clock, lines, plans).run(
        "failover", US, dry_run=False
    )

    assert outcome.code == ABORTED
    assert recorder.mutations == []
    assert lines[-1] == (
        "[   0.0s] ABORT pre-check failed (source region reachable, engine versions equal): "
        "no change made; re-run with --allow-data-loss to fail over anyway"
    )
    stubbed.assert_done()


def test_failover_runs_the_plan_ungracefully_from_the_survivor_and_verifies_itself(
    stubbed, recorder, clock, held_plan, plans
):
    # GIVEN eu-west-1 does not answer and US lags 45 s (beyond the RPO)
    put_lag(US, US_CLUSTER, 45000)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN)
    stubbed.plan_reads(US, held_plan)
    stubbed.start(US, held_plan, target=EU, action="deactivate", mode="ungraceful")
    # ARC skips the custom steps in ungraceful mode.
    skipped = {rs.STEP_VERIFY_WRITER: "skipped", rs.STEP_SMOKE: "skipped"}
    stubbed.execution(US, held_plan, "completed", mode="ungraceful", statuses=skipped)
    stubbed.describe_global(US, writer=US)
    stubbed.describe_cluster(US_ARN)
    # After a failover the old primary stays listed as a secondary awaiting resync.
    stubbed.describe_global(
        US,
        members=[member(US_ARN, writer=True), member(EU_ARN, writer=False, sync="pending-resync")],
    )
    probe = ScriptedProbe({US: [DOWN, WRITER], EU: [DOWN]})
    lines: list[str] = []

    # WHEN failing over with --allow-data-loss
    outcome = make_runbook(stubbed.aws(recorder, lost={EU}), clock, lines, plans, probe).run(
        "failover", US, dry_run=False, allow_data_loss=True
    )

    # THEN one ungraceful "deactivate eu-west-1", started in the US, nothing asked of the EU's
    # ARC; the skipped custom steps are made up for by the runbook's own write probe
    assert outcome.code == OK and outcome.changed, lines
    assert started(recorder) == [
        (
            US,
            "StartPlanExecution",
            {
                "planArn": held_plan["arn"],
                "targetRegion": EU,
                "action": "deactivate",
                "mode": "ungraceful",
            },
        )
    ]
    assert "[   0.0s] STEP verify-writer: skipped" in lines
    assert probe.asked == [US, US, EU]
    assert any(
        "PLAN 4/5 verify-writer [CustomActionLambda, ≤ 5 min]" in line
        and line.endswith("SKIPPED by ARC (ungraceful)")
        for line in lines
    )
    stubbed.assert_done()


def test_failover_never_degrades_checks_on_the_target(stubbed, recorder, clock, plans):
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN, status="stopped")
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder, lost={EU}), clock, lines, plans).run(
        "failover", US, dry_run=False, allow_data_loss=True
    )

    assert outcome.code == ABORTED
    assert recorder.mutations == []


def test_failover_with_everything_healthy_suggests_a_switchover(
    stubbed, recorder, clock, held_plan, plans
):
    put_lag(US, US_CLUSTER, 1200)
    queue_prechecks(stubbed)
    stubbed.plan_reads(US, held_plan)
    lines: list[str] = []

    outcome = make_runbook(stubbed.aws(recorder), clock, lines, plans).run(
        "failover", US, dry_run=True
    )

    assert outcome.code == OK and recorder.mutations == []
    assert (
        "[   0.0s] NOTE the current writer is reachable and in sync: a switchover would lose "
        "nothing (python -m dr switchover)"
    ) in lines
    assert any("deactivate eu-west-1 (ungraceful)" in line for line in lines)


# --- which execution ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("writer", "target", "deactivated", "expected"),
    [
        (EU, US, False, ("deactivate", EU, US)),  # switch to the secondary
        (US, EU, True, ("activate", EU, EU)),  # and back, the plan having taken the EU out
        (None, US, False, ("deactivate", EU, US)),  # the writer unknown: leave the peer
    ],
)
def test_the_execution_that_moves_the_writer(plans, writer, target, deactivated, expected):
    planned = plan_execution(
        plans[0],
        writer_region=writer,
        target_region=target,
        target_deactivated=deactivated,
        ungraceful=False,
    )
    # (action, the region it acts on, the region that starts and watches it)
    assert (planned.action, planned.target_region, planned.region) == expected
