"""R-PERF-1: the latency model's arithmetic, and every route's modelled P50 against the SLO.

The model is deterministic: these tests check its arithmetic exactly (a hop whose p50 equals
its p99 shifts every quantile by its value; a forwarded statement costs one inter-region round
trip in the secondary and nothing extra in the primary), and hold every route in every region
of every environment to P50 < 100 ms unless docs/performance.md records the miss with its
number. The stacks come from the session's synthesis fixtures.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench import figures as fig
from bench import profile as route_profile
from bench.facts import stack_facts
from bench.figures import Figure
from bench.latency import (
    EXCEPTIONS_HEADING,
    Event,
    cold_share,
    quantiles,
    recorded_exceptions,
    warm_work,
)
from bench.model import models
from bench.profile import RoundTrip, RouteProfile

ROOT = Path(__file__).resolve().parents[2]
HOPS = [Figure("a", 40, 60, "s"), Figure("b", 10, 30, "s"), Figure("c", 1, 2, "s")]


def test_without_events_the_p50_is_the_sum_of_the_hops_p50s():
    p50, p95, p99 = quantiles(HOPS)
    assert p50 == pytest.approx(51, abs=0.002)
    # Independent normal hops: the tails add in quadrature, not linearly.
    spread = sum(((h.p99 - h.p50) / fig.Z99) ** 2 for h in HOPS) ** 0.5
    assert p99 == pytest.approx(51 + fig.Z99 * spread, abs=0.002)
    assert p50 < p95 < p99 < sum(h.p99 for h in HOPS)


def test_a_fixed_hop_shifts_every_quantile_by_exactly_its_value():
    events = [Event("first", 0.1, Figure("x", 90, 150, "s"))]
    before = quantiles(HOPS, events)
    after = quantiles([*HOPS, Figure("forwarded", 153.2, 153.2, "s")], events)
    for old, new in zip(before, after, strict=True):
        assert new - old == pytest.approx(153.2, abs=0.003)


def test_events_move_the_quantiles_their_probability_reaches():
    fixed = [Figure("fixed", 50, 50, "s")]
    likely = quantiles(fixed, [Event("likely", 0.6, Figure("x", 100, 100, "s"))])
    assert likely == pytest.approx((150, 150, 150), abs=0.01)
    rare = quantiles(fixed, [Event("rare", 0.02, Figure("x", 1000, 1000, "s"))])
    assert rare == pytest.approx((50, 50, 1050), abs=0.01)
    # With spread hops, a 2 % event still owns the 99th percentile, not the median.
    spread = quantiles(HOPS, [Event("rare", 0.02, Figure("x", 1000, 1000, "s"))])
    assert spread[0] == pytest.approx(quantiles(HOPS)[0], abs=1) and spread[2] > 951


def test_an_event_within_another_happens_only_with_it():
    outer = Event("session", 0.1, Figure("none", 0, 0, "s"))
    inner = Event("cold", 0.5, Figure("huge", 10_000, 10_000, "s"), within="session")
    p94, p96 = quantiles([Figure("d", 10, 10, "s")], [outer, inner], qs=(0.94, 0.96))
    # 10 % x 50 % = 5 % of requests are slow: the 94th percentile is fast, the 96th is not.
    assert p94 == pytest.approx(10, abs=0.01) and p96 == pytest.approx(10_010, abs=0.01)
    with pytest.raises(ValueError, match="not an event"):
        quantiles(HOPS, [Event("orphan", 0.1, HOPS[0], within="nothing")])


def test_cold_share_is_the_published_share_without_provisioned_concurrency():
    assert cold_share(0, 10, 50) == fig.COLD_SHARE
    shares = [cold_share(pc, 10, 50) for pc in range(6)]
    assert shares == sorted(shares, reverse=True) and shares[-1] < fig.COLD_SHARE / 1000
    # One environment kept ready for a mean concurrency of 0.5: requests that find it busy.
    assert cold_share(1, 10, 50) == pytest.approx(fig.COLD_SHARE * (1 - 2.718281828**-0.5))


@pytest.fixture(scope="module")
def all_models(all_synths, dev_synths):
    return {m.facts.stack: m for m in models({**all_synths, **dev_synths})}


def writes(count: int) -> RouteProfile:
    return RouteProfile(
        "PUT /me/preferences",
        [RoundTrip(("INSERT INTO x VALUES ($1)",), True)] * count,
        handler_p50_ms=0.5,
        handler_p99_ms=1.0,
    )


def test_a_forwarded_statement_costs_one_inter_region_round_trip_in_the_secondary(all_models):
    eu, us = all_models["prod-eu"].facts, all_models["prod-us"].facts
    rtt = fig.inter_region("eu-west-1", "us-west-1").p50
    for count in (1, 3):
        primary, secondary = warm_work(writes(count), eu), warm_work(writes(count), us)
        assert (primary.forwarded_trips, secondary.forwarded_trips) == (0, count)
        # The same statements through the proxy in both regions, plus the forwarding.
        assert secondary.mean_ms - primary.mean_ms == pytest.approx(count * rtt)


def test_global_consistency_makes_every_secondary_read_wait_for_the_writer(all_models):
    us = all_models["prod-us"].facts
    reads = RouteProfile("GET /me", [RoundTrip(("SELECT 1",), False)] * 2, [], 0.5, 1.0)
    eventual = warm_work(reads, us, consistency="EVENTUAL").mean_ms
    waiting = warm_work(reads, us, consistency="GLOBAL").mean_ms
    assert waiting - eventual == pytest.approx(2 * fig.inter_region("us-west-1", "eu-west-1").p50)
    eu = all_models["prod-eu"].facts
    assert warm_work(reads, eu, consistency="GLOBAL").mean_ms == warm_work(reads, eu).mean_ms


def test_the_consistency_mode_is_read_from_the_synthesized_parameter_group(all_models):
    assert {m.facts.consistency for m in all_models.values()} == {"EVENTUAL"}


def test_snap_start_replaces_init_with_a_restore_in_the_cold_start(all_models):
    model = all_models["prod-eu"]
    api = model.facts.functions["api"]
    snapped = replace(
        model,
        facts=replace(
            model.facts,
            functions={
                **model.facts.functions,
                "api": replace(api, provisioned=0, snap_start=True),
            },
        ),
    )
    cold = {e.name: e for e in snapped.estimate("GET /me").events}["api cold start"]
    connect = fig.DB_CONNECT_ROUND_TRIPS * fig.PROXY_ROUND_TRIP.p50
    assert cold.cost.p50 == pytest.approx(fig.SNAPSTART_RESTORE.p50 + connect)
    assert cold.probability == fig.COLD_SHARE
    plain = {e.name: e for e in model.estimate("GET /me").events}["api cold start"]
    assert plain.cost.p50 > cold.cost.p50


def test_public_routes_skip_the_authorizer_and_a_zero_ttl_misses_every_time(all_models):
    model = all_models["prod-eu"]
    health = model.estimate("GET /health")
    assert "authorizer" not in health.events[0].cost.name
    assert not any(e.name == "authorizer cold start" for e in health.events)
    uncached = replace(model, facts=replace(model.facts, authorizer_ttl_seconds=0))
    names = [h.name for h in uncached.estimate("GET /me").hops]
    assert any(name.startswith("authorizer token check") for name in names)


def test_every_route_of_every_stack_is_profiled(all_models):
    profiled = set(route_profile.routes_from(route_profile.load()))
    for model in all_models.values():
        missing = set(model.facts.routes) - profiled
        assert not missing, (
            f"{model.facts.stack}: {sorted(missing)} not in bench/profile.json: add a request "
            "to bench/warm.py prepare_requests and run `make bench`"
        )


def test_every_p50_meets_the_slo_or_is_a_recorded_exception_with_its_number(all_models):
    document = (ROOT / "docs" / "performance.md").read_text()
    assert EXCEPTIONS_HEADING in document
    recorded = recorded_exceptions(document)
    misses = {}
    for model in all_models.values():
        for estimate in model.estimates():
            if estimate.p50 >= fig.SLO_MS["p50"]:
                misses[(estimate.route, estimate.region, estimate.environment)] = round(
                    estimate.p50
                )
    unrecorded = {k: v for k, v in misses.items() if k not in recorded}
    assert not unrecorded, f"P50 misses not recorded in docs/performance.md: {unrecorded}"
    stale = {k: v for k, v in recorded.items() if k not in misses}
    assert not stale, f"recorded exceptions that no longer miss (remove them): {stale}"
    wrong = {k: (recorded[k], v) for k, v in misses.items() if recorded[k] != v}
    assert not wrong, f"recorded P50 (documented, modelled) out of date: {wrong}"


def test_exceptions_table_parser_reads_only_its_section():
    text = (
        "intro\n| GET /x | eu-west-1 | prod | 120 ms | no |\n"
        f"{EXCEPTIONS_HEADING}\n\n| route | region | environment | P50 | why |\n"
        "|---|---|---|---|---|\n"
        "| `PUT /me/preferences` | us-west-1 | prod | 233 ms | one forwarded write |\n"
        "\n## Next section\n| GET /y | eu-west-1 | prod | 130 ms | no |\n"
    )
    assert recorded_exceptions(text) == {("PUT /me/preferences", "us-west-1", "prod"): 233}


def test_stack_facts_come_from_the_synthesized_graph(all_synths):
    facts = stack_facts(all_synths["prod-eu"])
    assert (facts.region, facts.primary_region, facts.is_primary) == (
        "eu-west-1",
        "eu-west-1",
        True,
    )
    assert facts.routes["GET /health"] is False and facts.routes["GET /me"] is True
    assert facts.functions["api"].provisioned == 2 and facts.functions["api"].memory_mb == 1024
    assert facts.authorizer_ttl_seconds > 0
    assert stack_facts(all_synths["prod-us"]).is_primary is False
