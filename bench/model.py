"""``python -m bench.model``: the latency and cost tables of every environment's stacks.

Synthesizes each environment's global and regional stacks under the tests' Pulumi mocks (a
fresh interpreter: the mock runtime is process-wide), feeds the latency model
(bench/latency.py) the recorded route profile (bench/profile.json) and the cost model
(bench/cost.py) the graphs, and prints: P50/P95/P99 per route, region and environment against
the SLOs with every miss marked; idle cost per stack and environment against the budgets in
the stack files; cost per million requests of each route. ``make bench`` runs it last.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import cost as costs  # noqa: E402
from bench import figures as fig  # noqa: E402
from bench import profile as route_profile  # noqa: E402
from bench.facts import is_regional, stack_facts  # noqa: E402
from bench.latency import Estimate, Model, recorded_exceptions  # noqa: E402
from bench.prices import PRICE_REGION, PRICED_ON, PRICES  # noqa: E402
from bench.stats import table  # noqa: E402

if TYPE_CHECKING:
    from local.synthesis import Synthesis

ENVIRONMENTS = ("prod", "dev")
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"


def synthesize_environments(environments: Sequence[str] = ENVIRONMENTS) -> dict[str, Synthesis]:
    """Every stack of ``environments``, regional stacks fed their global stack's outputs."""
    from local.region import environment_stacks
    from local.synthesis import global_stack_name, stage_build, synthesize

    scratch = Path(tempfile.mkdtemp(prefix="bench-model-"))
    os.environ.setdefault("MOBILE_BACKEND_BUILD_DIR", str(stage_build(scratch)))
    synths: dict[str, Synthesis] = {}
    for environment in environments:
        global_name, regional = environment_stacks(environment)
        global_synth = synthesize(global_name)
        synths[global_name] = global_synth
        for stack in regional.values():
            synths[stack] = synthesize(
                stack, stack_outputs={global_stack_name(stack): global_synth.outputs}
            )
    return synths


def models(
    synths: Mapping[str, Synthesis], data: Mapping | None = None, consistency: str | None = None
) -> list[Model]:
    """One latency model per regional stack, in stack order."""
    data = route_profile.load() if data is None else data
    profiles = route_profile.routes_from(data)
    meta = data.get("meta") or {}
    return [
        Model(
            facts=stack_facts(synth),
            profiles=profiles,
            cold_init_ms=data.get("cold_init_ms") or {},
            authorizer_ms=data.get("authorizer_ms") or {},
            profiled_region=meta.get("region", ""),
            consistency=consistency,
        )
        for _, synth in sorted(synths.items())
        if is_regional(synth)
    ]


def _cell(value: float, slo: str, recorded: bool) -> str:
    miss = value >= fig.SLO_MS[slo]
    mark = (" R" if recorded else " !") if miss else ""
    return f"{value:.0f}{mark}"


def latency_report(estimates: Sequence[Estimate], exceptions: Mapping) -> str:
    lines = []
    by_environment: dict[str, list[Estimate]] = {}
    for estimate in estimates:
        by_environment.setdefault(estimate.environment, []).append(estimate)
    for environment, found in by_environment.items():
        regions = sorted({e.region for e in found})
        routes = sorted({e.route for e in found})
        header = ["route", "DB trips (fwd)"]
        for region in regions:
            header += [f"{region} P50", "P95", "P99"]
        rows = []
        for route in routes:
            cells = {e.region: e for e in found if e.route == route}
            trips = {
                f"{c.local_trips + c.forwarded_trips} ({c.forwarded_trips})" for c in cells.values()
            }
            row = [route, " / ".join(sorted(trips))]
            for region in regions:
                e = cells[region]
                recorded = (route, region, environment) in exceptions
                row += [
                    _cell(e.p50, "p50", recorded),
                    _cell(e.p95, "p95", False),
                    _cell(e.p99, "p99", False),
                ]
            rows.append(row)
        lines.append(
            f"\nlatency a phone sees, {environment} (ms; SLO P50 < 100, P95 < 300, P99 < 500; "
            "! misses, R misses recorded in docs/performance.md):"
        )
        lines.append(table(header, rows))
    return "\n".join(lines)


def breakdown(estimate: Estimate) -> str:
    """The hops and events of one estimate, to show the arithmetic."""
    lines = [f"\n{estimate.route}, {estimate.environment} {estimate.region}: hops (p50 / p99 ms)"]
    for hop in estimate.hops:
        lines.append(f"  {hop.p50:8.1f} / {hop.p99:7.1f}  {hop.name}")
    lines.append(f"  {sum(h.p50 for h in estimate.hops):8.1f}            sum of the p50s")
    for event in estimate.events:
        lines.append(
            f"  event {event.probability:.3%}: {event.name} +{event.cost.p50:.0f} / "
            f"{event.cost.p99:.0f} ms"
        )
    lines.append(f"  => P50 {estimate.p50:.0f}, P95 {estimate.p95:.0f}, P99 {estimate.p99:.0f} ms")
    return "\n".join(lines)


def figure_sources(estimates: Sequence[Estimate]) -> str:
    seen: dict[str, str] = {}
    for estimate in estimates:
        for hop in [*estimate.hops, *(e.cost for e in estimate.events)]:
            seen.setdefault(hop.name, hop.source)
    lines = [f"\nfigures and their sources (read {fig.READ_ON}):"]
    lines += [f"  {name}: {source}" for name, source in sorted(seen.items())]
    lines.append(f"  cold start share: {fig.COLD_SHARE:.0%}, {fig.COLD_SHARE_SOURCE}")
    lines.append(
        f"  sessions: {fig.REQUESTS_PER_SESSION} requests each (assumption); load: "
        f"{fig.DESIGN_PEAK_RPS * 60:.0f} requests/minute in one region (DESIGN.md design peak)"
    )
    return "\n".join(lines)


def idle_costs(synths: Mapping[str, Synthesis]) -> list[costs.StackCost]:
    return [costs.idle_cost(synth) for _, synth in sorted(synths.items())]


def idle_report(found: Sequence[costs.StackCost]) -> str:
    kinds: list[str] = []
    for stack in found:
        kinds += [k for k in stack.by_kind() if k not in kinds]
    rows = []
    for stack in found:
        by_kind = stack.by_kind()
        budget = "-" if stack.budget is None else f"{stack.budget:,.0f}"
        verdict = (
            "" if stack.budget is None else (" ok" if stack.total <= stack.budget else " OVER")
        )
        rows.append(
            [
                stack.stack,
                f"{stack.total:,.2f}",
                *(f"{by_kind.get(k, 0):,.2f}" for k in kinds),
                budget + verdict,
            ]
        )
    lines = [
        f"\nidle cost per month (USD; {PRICE_REGION} list prices of {PRICED_ON}, bench/prices.py):"
    ]
    lines.append(table(["stack", "total", *kinds, "budget"], rows))
    environments: dict[str, list[costs.StackCost]] = {}
    for stack in found:
        environments.setdefault(stack.environment, []).append(stack)
    for environment, stacks in environments.items():
        total = sum(s.total for s in stacks)
        budgets = [s.budget for s in stacks]
        budget = (
            f"; budget {sum(b for b in budgets if b):,.0f}"
            if all(b is not None for b in budgets)
            else ""
        )
        lines.append(f"environment {environment}: {total:,.2f} USD a month idle{budget}")
    unpriced = sorted({t for s in found for t in s.unpriced})
    if unpriced:
        lines.append("UNPRICED resource types (add them to bench/cost.py): " + ", ".join(unpriced))
    return "\n".join(lines)


def route_costs(
    synths: Mapping[str, Synthesis], found: Sequence[Model], data: Mapping | None = None
) -> list[costs.RouteCost]:
    data = route_profile.load() if data is None else data
    profiles = route_profile.routes_from(data)
    subscriber = profiles.get(route_profile.SUBSCRIBER_LABEL)
    results = []
    for model in found:
        regional = synths[model.facts.stack]
        global_name = next(
            name
            for name, s in synths.items()
            if not is_regional(s) and environment_of(s) == model.facts.environment
        )
        acls = costs.web_acls_in_path(synths[global_name], regional)
        secondaries = len(model.facts.regions) - 1
        for route in sorted(model.facts.routes):
            results.append(
                costs.route_cost(
                    model,
                    route,
                    access_log_bytes=costs.access_log_bytes(regional),
                    web_acls=acls,
                    secondary_regions=secondaries,
                    subscriber=subscriber,
                )
            )
    return results


def environment_of(synth: Synthesis) -> str:
    from contract import names

    return synth.config.get(f"{names.PROJECT}:environment", "prod")


def route_cost_report(found: Sequence[costs.RouteCost]) -> str:
    stacks = sorted({c.stack for c in found})
    routes = sorted({c.route for c in found})
    cells = {(c.route, c.stack): c.per_million for c in found}
    rows = [[route, *(f"{cells[(route, s)]:.2f}" for s in stacks)] for route in routes]
    lines = ["\ncost per million requests of each route (USD; usage on top of the idle cost):"]
    lines.append(table(["route", *stacks], rows))
    return "\n".join(lines)


def price_table() -> str:
    rows = [
        [key, f"{p.usd:g}", p.unit[:60], "yes" if p.seen else "verify"] for key, p in PRICES.items()
    ]
    return f"\nprice table ({PRICE_REGION}, {PRICED_ON}; sources in bench/prices.py):\n" + table(
        ["price", "USD", "unit", "seen in a stored page"], rows
    )


def main() -> int:
    import contextlib

    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        synths = synthesize_environments()
    data = route_profile.load()
    meta = data.get("meta") or {}
    print(
        f"route profile: bench/profile.json, recorded {meta.get('recorded', '?')} on "
        f"{meta.get('machine', '?')} ({meta.get('requests_per_route', '?')} requests per route)"
    )
    found = models(synths, data)
    estimates = [e for model in found for e in model.estimates()]
    exceptions = recorded_exceptions(PERFORMANCE_DOC.read_text())
    print(latency_report(estimates, exceptions))
    for estimate in estimates:
        if (estimate.route, estimate.environment) == ("PUT /me/preferences", "prod"):
            print(breakdown(estimate))
    misses = [e for e in estimates if "p50" in e.misses()]
    unrecorded = [e for e in misses if (e.route, e.region, e.environment) not in exceptions]
    print(
        f"\nP50 misses: {len(misses)} ({len(misses) - len(unrecorded)} recorded as exceptions in "
        f"docs/performance.md, {len(unrecorded)} not)"
    )
    global_model = [m for m in found if m.facts.environment == "prod" and not m.facts.is_primary]
    for model in global_model:
        what_if = Model(
            model.facts,
            model.profiles,
            model.cold_init_ms,
            model.authorizer_ms,
            model.profiled_region,
            consistency="GLOBAL",
        )
        sample = what_if.estimate("GET /me")
        print(
            f"what if dbWriteForwardConsistency were GLOBAL: GET /me in {model.facts.region} "
            f"P50 {sample.p50:.0f} ms (each read waits for the writer)"
        )
    print(figure_sources(estimates))
    stack_costs = idle_costs(synths)
    print(idle_report(stack_costs))
    print(route_cost_report(route_costs(synths, found, data)))
    print(price_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
