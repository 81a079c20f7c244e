"""The latency a phone sees, per route, region and environment, modelled hop by hop (R-PERF-1).

A request is viewer -> CloudFront edge -> API Gateway (regional) -> token authorizer (on a
cache miss) -> the api function -> RDS Proxy -> Aurora, plus the AWS calls the handler makes.
Each hop is a figure with a p50 and a p99 (bench/figures.py: published sources; this project's
own bench for the handler). The route's database round trips and AWS calls are the ones
``make bench`` counted on the wire (bench/profile.py); in a secondary region each forwarded
statement adds one round trip to the writer region, and under ``GLOBAL`` consistency each read
waits at least one round trip for the writer too.

Arithmetic, deterministic: the always-present hops are summed as independent normal
variables fitted to their p50 and p99 (mean = p50, sd = (p99 - p50) / z99); the occasional
events (the first request of a session: new connection and authorizer miss; cold starts of the
api and the authorizer) form a mixture over every combination of them, each with its
probability. P50/P95/P99 are that mixture's quantiles. A hop whose p50 equals its p99 shifts
every quantile by exactly its value.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bench import figures as fig
from bench.facts import StackFacts
from bench.figures import Figure
from bench.profile import RouteProfile

QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class Event:
    name: str
    probability: float
    cost: Figure
    # An event that can only happen inside another (the authorizer's cold start happens only
    # on an authorizer cache miss).
    within: str | None = None


@dataclass(frozen=True)
class Estimate:
    route: str
    stack: str
    environment: str
    region: str
    hops: tuple[Figure, ...]
    events: tuple[Event, ...]
    local_trips: int
    forwarded_trips: int
    aws_calls: int
    p50: float
    p95: float
    p99: float

    def misses(self) -> dict[str, float]:
        values = {"p50": self.p50, "p95": self.p95, "p99": self.p99}
        return {k: v for k, v in values.items() if v >= fig.SLO_MS[k]}


def _normal_cdf(x: float, mean: float, sd: float) -> float:
    if sd <= 0:
        return 1.0 if x >= mean else 0.0
    return 0.5 * (1 + math.erf((x - mean) / (sd * math.sqrt(2))))


def _components(
    hops: Sequence[Figure], events: Sequence[Event]
) -> list[tuple[float, float, float]]:
    """(weight, mean, sd) of each combination of events."""
    mean = sum(h.p50 for h in hops)
    variance = sum(((h.p99 - h.p50) / fig.Z99) ** 2 for h in hops)
    names = {e.name for e in events}
    for event in events:
        if event.within is not None and event.within not in names:
            raise ValueError(f"{event.name} is within {event.within}, which is not an event")
    parts = []
    for chosen in itertools.product((False, True), repeat=len(events)):
        happened = {e.name for e, on in zip(events, chosen, strict=True) if on}
        weight = 1.0
        extra_mean = extra_variance = 0.0
        for event, on in zip(events, chosen, strict=True):
            possible = event.within is None or event.within in happened
            if on and not possible:
                weight = 0.0
                break
            if not possible:
                continue
            weight *= event.probability if on else 1 - event.probability
            if on:
                extra_mean += event.cost.p50
                extra_variance += ((event.cost.p99 - event.cost.p50) / fig.Z99) ** 2
        if weight > 0:
            parts.append((weight, mean + extra_mean, math.sqrt(variance + extra_variance)))
    return parts


def quantiles(
    hops: Sequence[Figure], events: Sequence[Event] = (), qs: Iterable[float] = QUANTILES
) -> tuple[float, ...]:
    """Quantiles of the mixture, by bisection on its CDF (to 0.001 ms)."""
    parts = _components(hops, events)
    low = min(m - 10 * s for _, m, s in parts)
    high = max(m + 10 * s for _, m, s in parts)
    results = []
    for q in qs:
        lo, hi = low, high
        while hi - lo > 1e-3:
            mid = (lo + hi) / 2
            if sum(w * _normal_cdf(mid, m, s) for w, m, s in parts) >= q:
                hi = mid
            else:
                lo = mid
        results.append(round(hi, 3))
    return tuple(results)


def _repeat(figure: Figure, count: int) -> list[Figure]:
    return [figure] * count


def poisson_tail(mean: float, above: int) -> float:
    """P(N > above) for N ~ Poisson(mean); 1 when ``above`` is negative."""
    if above < 0:
        return 1.0
    term = cumulative = math.exp(-mean)
    for k in range(1, above + 1):
        term *= mean / k
        cumulative += term
    return max(0.0, 1.0 - cumulative)


def cold_share(provisioned: int, rate_per_s: float, duration_ms: float) -> float:
    """Share of invocations that start a new execution environment: the published on-demand
    share, for the requests that find every provisioned environment busy (an arrival sees the
    steady-state concurrency: Poisson with Little's law mean, rate x duration)."""
    concurrency = rate_per_s * duration_ms / 1000
    return fig.COLD_SHARE * poisson_tail(concurrency, provisioned - 1)


@dataclass(frozen=True)
class Warm:
    """The api's warm work for one route in one stack: hops and counts."""

    hops: tuple[Figure, ...]
    local_trips: int
    forwarded_trips: int
    aws_calls: int

    @property
    def mean_ms(self) -> float:
        return sum(h.p50 for h in self.hops)


def warm_work(
    profile: RouteProfile,
    facts: StackFacts,
    *,
    profiled_region: str = "",
    consistency: str | None = None,
    function: str = "api",
) -> Warm:
    """Handler time, database round trips and AWS calls of one route (or queued message) in
    one stack. A call the profile made to a region other than the one it ran in is a call to
    the peer region."""
    api = facts.functions[function]
    scale = fig.cpu_scale(api.memory_mb)
    if profile.handler_p50_ms is None or profile.handler_p99_ms is None:
        raise ValueError(
            f"{profile.route}: no handler timings in the profile; run `make bench` (the warm "
            "section records them)"
        )
    hops = [
        Figure(
            f"handler ({api.memory_mb} MB: this machine's time x {scale:.2f})",
            profile.handler_p50_ms * scale,
            profile.handler_p99_ms * scale,
            f"bench/profile.json (make bench); CPU share: {fig.FULL_VCPU_SOURCE}",
        )
    ]
    forwarded = 0 if facts.is_primary else profile.forwarded_trips
    local = len(profile.round_trips) - forwarded
    hops += _repeat(fig.PROXY_ROUND_TRIP, len(profile.round_trips))
    if forwarded:
        writer = fig.inter_region(facts.region, facts.primary_region)
        hops += _repeat(writer.scaled(1, f"forwarded to the writer: {writer.name}"), forwarded)
    mode = (consistency or facts.consistency or "EVENTUAL").upper()
    if mode == "GLOBAL" and not facts.is_primary and local:
        # Each read waits until the replica has applied what the writer had committed when
        # the read began: at least one round trip to the writer (a lower bound).
        wait = fig.inter_region(facts.region, facts.primary_region)
        hops += _repeat(wait.scaled(1, f"GLOBAL consistency read wait: {wait.name}"), local)
    for call in profile.aws_calls:
        hops.append(fig.AWS_CALL)
        if profiled_region and call.region and call.region != profiled_region:
            peer = next(r for r in facts.regions if r != facts.region)
            hops.append(fig.inter_region(facts.region, peer))
    return Warm(tuple(hops), local, forwarded, len(profile.aws_calls))


@dataclass
class Model:
    """The latency model of one stack, fed the recorded profile."""

    facts: StackFacts
    profiles: Mapping[str, RouteProfile]
    cold_init_ms: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    authorizer_ms: Mapping[str, float] = field(default_factory=dict)
    profiled_region: str = ""
    consistency: str | None = None

    def warm(self, profile: RouteProfile) -> Warm:
        return warm_work(
            profile,
            self.facts,
            profiled_region=self.profiled_region,
            consistency=self.consistency,
        )

    def mean_api_ms(self) -> float:
        works = [
            self.warm(p).mean_ms for route, p in self.profiles.items() if route in self.facts.routes
        ]
        return sum(works) / len(works) if works else 0.0

    def _init(self, function: str) -> Figure:
        facts = self.facts.functions[function]
        measured = self.cold_init_ms.get(function)
        if not measured:
            raise ValueError(
                f"no cold init figure for {function} in the profile: run `make bench` (its cold "
                "section records them)"
            )
        scale = fig.cpu_scale(facts.memory_mb)
        return Figure(
            f"{function} init ({facts.memory_mb} MB: this machine's x {scale:.2f})",
            measured["p50"] * scale,
            measured["p95"] * scale,
            "bench/profile.json cold init p50 and p95 (make bench)",
        )

    def _cold_cost(self, function: str, profile: RouteProfile | None) -> Figure:
        facts = self.facts.functions[function]
        parts: list[Figure]
        if facts.snap_start:
            # Restored with psycopg and boto3 already imported (handlers/snapstart.py), and
            # without a connection: the first query opens one.
            parts = [fig.SNAPSTART_RESTORE]
        else:
            parts = [fig.SANDBOX, self._init(function)]
            if profile is not None and profile.round_trips:
                parts.append(fig.FIRST_PSYCOPG)
            if profile is None or profile.aws_calls:
                parts.append(fig.FIRST_BOTO3)
        if profile is not None and profile.round_trips:
            parts += _repeat(fig.PROXY_ROUND_TRIP, fig.DB_CONNECT_ROUND_TRIPS)
        return Figure(
            f"{function} cold start" + (" (SnapStart restore)" if facts.snap_start else ""),
            sum(p.p50 for p in parts),
            sum(p.p99 for p in parts),
            "; ".join(dict.fromkeys(p.source for p in parts)),
        )

    def estimate(self, route: str) -> Estimate:
        facts = self.facts
        profile = self.profiles.get(route)
        if profile is None:
            raise KeyError(
                f"{route} is in the {facts.stack} API but not in bench/profile.json: add a "
                "request for it to bench/warm.py prepare_requests and run `make bench`"
            )
        work = self.warm(profile)
        hops = [
            fig.VIEWER_RTT,
            fig.edge_to_origin(facts.region),
            fig.API_GATEWAY,
            fig.LAMBDA_INVOKE,
            *work.hops,
        ]
        session_start = 1 / fig.REQUESTS_PER_SESSION
        first = [
            fig.VIEWER_RTT.scaled(
                fig.NEW_CONNECTION_VIEWER_TRIPS, "new viewer connection (TCP + TLS 1.3)"
            )
        ]
        events: list[Event] = []
        authorizer = facts.functions.get("authorizer")
        if facts.routes.get(route) and authorizer is not None:
            # A TTL of 0 turns API Gateway's authorizer cache off: every request misses.
            miss = 1.0 if facts.authorizer_ttl_seconds == 0 else session_start
            verify = self.authorizer_ms or {"p50": 0.0, "p99": 0.0}
            scale = fig.cpu_scale(authorizer.memory_mb)
            authorize = [
                fig.LAMBDA_INVOKE,
                Figure(
                    f"authorizer token check ({authorizer.memory_mb} MB: x {scale:.2f})",
                    verify["p50"] * scale,
                    verify["p99"] * scale,
                    "bench/profile.json (make bench)",
                ),
            ]
            if miss >= 1.0:
                hops += authorize
            else:
                first += authorize
            rate = fig.DESIGN_PEAK_RPS * miss
            share = cold_share(authorizer.provisioned, rate, sum(h.p50 for h in authorize))
            events.append(
                Event(
                    "authorizer cold start",
                    share,
                    self._cold_cost("authorizer", None),
                    within=None if miss >= 1.0 else "first request of a session",
                )
            )
        events.insert(
            0,
            Event(
                "first request of a session",
                session_start,
                Figure(
                    "new viewer connection" + (", authorizer cache miss" if len(first) > 1 else ""),
                    sum(h.p50 for h in first),
                    sum(h.p99 for h in first),
                    "; ".join(dict.fromkeys(h.source for h in first)),
                ),
            ),
        )
        api = facts.functions["api"]
        share = cold_share(api.provisioned, fig.DESIGN_PEAK_RPS, self.mean_api_ms())
        events.append(Event("api cold start", share, self._cold_cost("api", profile)))
        p50, p95, p99 = quantiles(hops, events)
        return Estimate(
            route=route,
            stack=facts.stack,
            environment=facts.environment,
            region=facts.region,
            hops=tuple(hops),
            events=tuple(events),
            local_trips=work.local_trips,
            forwarded_trips=work.forwarded_trips,
            aws_calls=work.aws_calls,
            p50=p50,
            p95=p95,
            p99=p99,
        )

    def estimates(self) -> list[Estimate]:
        return [self.estimate(route) for route in sorted(self.facts.routes)]


# The recorded exceptions in docs/performance.md: a table under this heading, one row per
# (route, region, environment) whose modelled P50 misses the SLO, with the number.
EXCEPTIONS_HEADING = "### Recorded latency exceptions"
_ROW = re.compile(
    r"^\|\s*`?(?P<route>(GET|PUT|POST|DELETE|PATCH|HEAD) [^|`]+?)`?\s*\|\s*(?P<region>[a-z0-9-]+)"
    r"\s*\|\s*(?P<environment>[a-z0-9-]+)\s*\|\s*(?P<p50>\d+) ms\s*\|"
)


def recorded_exceptions(markdown: str) -> dict[tuple[str, str, str], int]:
    """(route, region, environment) -> the P50 in ms the document records."""
    _, found, rest = markdown.partition(EXCEPTIONS_HEADING)
    if not found:
        return {}
    section = re.split(r"\n#{1,3} ", rest, maxsplit=1)[0]
    records = {}
    for line in section.splitlines():
        match = _ROW.match(line.strip())
        if match:
            key = (match["route"].strip(), match["region"], match["environment"])
            records[key] = int(match["p50"])
    return records
