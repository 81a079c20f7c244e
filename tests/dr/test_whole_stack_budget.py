"""R-DR-2 on the real program: the RTO/RPO budget read from the three synthesized stacks (every
number from the resources the tiers declare, none assumed), and proof that the budget follows
the stack configuration rather than constants. Also R-DR-3's queue arithmetic: queued writes
outlast an Aurora promotion before anything reaches the DLQ. And R-DR-5's: the Region switch
plan declares the recovery time its own step timeouts add up to."""

from __future__ import annotations

import pytest

from contract import region_switch
from dr.budget import (
    PROMOTION_PLAN_S,
    RPO_TARGET_S,
    RTO_TARGET_S,
    Budget,
    PlanBudget,
    RedriveWindow,
    budget_from_synthesis,
    plan_budgets_from_synthesis,
    redrive_windows_from_synthesis,
)
from tests.infra.harness import Synthesis, global_stack_name, synthesize

RTO_TERMS = [
    "health-check detection",
    "health-check probe timeout",
    "DNS TTL",
    "CloudFront origin re-resolution",
]


def explain(budget: Budget) -> str:
    return "whole-stack budget:\n" + budget.render()


def test_the_deployed_configuration_fits_the_rto_and_rpo_targets(all_synths):
    # WHEN the budget is computed from everything the three stacks declare
    budget = budget_from_synthesis(all_synths)

    # THEN every term is present and named, and both targets hold (the message shows the sum)
    assert [t.name for t in budget.rto_terms] == RTO_TERMS, explain(budget)
    assert [t.name for t in budget.rpo_terms] == ["rds.global_db_rpo"], explain(budget)
    assert budget.rto_s < RTO_TARGET_S == 60, explain(budget)
    assert budget.rpo_s <= RPO_TARGET_S == 30, explain(budget)
    assert budget.lag_alarm_threshold_s <= RPO_TARGET_S, explain(budget)
    assert budget.violations == (), explain(budget)


def test_the_budget_reads_the_configured_values(all_synths):
    # GIVEN the configuration docs/dr.md shows (Pulumi.prod-*.yaml, edge and data tiers)
    budget = budget_from_synthesis(all_synths)

    # THEN each term is the configured number: 10 s x 2, 6 s, CNAME TTL 10 s, 1 x 5 s
    terms = {t.name: t.seconds for t in budget.rto_terms}
    assert terms == {
        "health-check detection": 20,
        "health-check probe timeout": 6,
        "DNS TTL": 10,
        "CloudFront origin re-resolution": 5,
    }, explain(budget)
    assert budget.rto_s == 41, explain(budget)
    # rds.global_db_rpo (dbRpoSeconds) and the AuroraGlobalDBRPOLag alarm (30 000 ms)
    assert budget.rpo_s == 30, explain(budget)
    assert budget.lag_alarm_threshold_s == 30, explain(budget)


@pytest.fixture(scope="module")
def with_overrides(global_synth):
    """The real edge with both regional stacks re-synthesized under config overrides (the
    worst region decides the budget, so lowering a value must reach every region)."""

    def build(overrides: dict) -> list[Synthesis]:
        regional = [
            synthesize(
                stack,
                overrides=overrides,
                stack_outputs={global_stack_name(stack): global_synth.outputs},
            )
            for stack in ("prod-eu", "prod-us")
        ]
        return [global_synth, *regional]

    return build


def test_the_budget_follows_the_health_check_and_ttl_config(all_synths, with_overrides):
    # GIVEN the deployed budget, then the regions with slower checks, then with a shorter TTL
    deployed = budget_from_synthesis(all_synths)
    slower = budget_from_synthesis(
        with_overrides(
            {
                "mobile-backend:healthCheck": {"interval": 30, "failureThreshold": 3},
                "mobile-backend:dnsTtlSeconds": "10",
            }
        )
    )
    shorter_ttl = budget_from_synthesis(
        with_overrides(
            {
                "mobile-backend:healthCheck": {"interval": 10, "failureThreshold": 1},
                "mobile-backend:dnsTtlSeconds": "5",
            }
        )
    )

    # THEN detection and TTL terms move with the config, and a slow check breaks the RTO
    assert slower.rto_terms[0].seconds == 30 * 3, explain(slower)
    assert slower.rto_s == deployed.rto_s + 90 - 20 == 111, explain(slower)
    assert slower.violations == ("RTO 111 s is not below the 60 s target",), explain(slower)
    assert shorter_ttl.rto_terms[0].seconds == 10 * 1, explain(shorter_ttl)
    assert shorter_ttl.rto_terms[2].seconds == 5, explain(shorter_ttl)
    assert shorter_ttl.rto_s == deployed.rto_s - 10 - 5 == 26, explain(shorter_ttl)


def test_queued_writes_outlast_a_promotion_in_every_region(regional_synths):
    # WHEN the redrive window of every queue a subscriber consumes is read
    windows = redrive_windows_from_synthesis(regional_synths)

    # THEN each region's events queue holds a failing write 10 x 181 s before the DLQ:
    # twice the 15-minute promotion we plan for
    assert {w.queue for w in windows} == {
        "prod-eu/mobile-backend-prod-events",
        "prod-us/mobile-backend-prod-events",
    }
    for window in windows:
        assert window.violations == (), window.violations
        assert (window.max_receive_count, window.visibility_timeout_s) == (10, 181), window.line()
        assert window.seconds >= 2 * PROMOTION_PLAN_S, window.line()


def test_the_old_default_of_five_receives_was_too_short():
    # 5 x 181 s ~ 15 min: a promotion at the edge of the plan would dead-letter writes
    window = RedriveWindow("prod-eu/events", 5, 181, 4 * 86400)
    assert window.violations == (
        "prod-eu/events: 5 receives x 181 s visibility = 905 s is under 2 x the 15-minute "
        "promotion we plan for (1800 s): raise dlqMaxReceiveCount",
    )


# --- R-DR-5: the Region switch plan's objectives ---------------------------------------------
def explain_plan(budget: PlanBudget) -> str:
    return "plan budget:\n" + budget.render()


def test_the_plan_declares_the_recovery_time_its_step_timeouts_add_up_to(all_synths):
    # WHEN the plan's objectives are computed from the synthesized plan and the other stacks
    ((name, (budget, declared)),) = plan_budgets_from_synthesis(all_synths).items()

    # THEN serving (a region out of routing) is the Route 53 step + TTL + CloudFront,
    # the writer is back after the Route 53 and Aurora steps, and the declared RTO is the whole
    # automatic workflow (approval excluded): 5 + 15 + 5 + 5 minutes
    assert name == "mobile-backend-prod-euw1-usw1"
    assert budget.serving_s == 5 * 60 + 10 + 5, explain_plan(budget)
    assert budget.writer_s == (5 + 15) * 60, explain_plan(budget)
    assert budget.recovery_s == (5 + 15 + 5 + 5) * 60, explain_plan(budget)
    assert declared == budget.recovery_time_objective_minutes == 30, explain_plan(budget)
    assert not any(t.name.startswith("approval") for t in budget.recovery), explain_plan(budget)
    # Queued writes (R-DR-3) outlast the plan's writer gap twice over.
    assert budget.violations == (), explain_plan(budget)
    assert "Aurora promotion" in budget.render()


def test_a_longer_aurora_step_lengthens_the_declared_rto_and_breaks_the_queue_budget(
    regional_synths, monkeypatch
):
    # GIVEN the global stack re-synthesized with a 30-minute Aurora step
    monkeypatch.setattr(region_switch, "AURORA_TIMEOUT_MINUTES", 30)
    longer = synthesize("prod-global")

    # WHEN its plan's budget is computed with the same regional stacks
    ((_, (budget, declared)),) = plan_budgets_from_synthesis(
        [longer, *regional_synths.values()]
    ).items()

    # THEN the declared RTO follows (45 min) and the 30-minute redrive window no longer covers
    # twice the writer gap
    assert declared == budget.recovery_time_objective_minutes == 45, explain_plan(budget)
    assert budget.violations == (
        "queued writes reach the DLQ after 1810 s, under 2 x the plan's 1800 s Aurora step: "
        "raise dlqMaxReceiveCount or shorten the step",
    ), explain_plan(budget)
