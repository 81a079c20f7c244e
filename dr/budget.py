"""The RTO/RPO budget of a region loss (R-DR-2), as pure arithmetic with every term named.

RTO (worst case, from the last good answer of the lost region to clients reaching the survivor):
  health-check detection   request interval x failure threshold
  probe timeout            a probe may take 4 s to connect + 2 s to answer before it counts
  DNS record TTL           resolvers may serve the old answer that long (an alias record has
                           its target's TTL: 60 s for API Gateway; a CNAME's TTL is ours)
  CloudFront re-resolution CloudFront honours the TTL, but a request bound to the dead origin
                           address just before it re-resolves keeps trying for the origin's
                           ``connectionAttempts`` x ``connectionTimeout`` (AWS defaults 3 x 10 s)
RPO (worst case data loss on an unplanned failover):
  ``rds.global_db_rpo``    the primary blocks commits when no secondary is within it, so a
                           secondary never misses more than that
The replication-lag alarm threshold is not a term: it is detection. It must sit at or below the
RPO target, or lag between the two goes unnoticed. ``budget_from_synthesis`` reads every number
from synthesized stacks (``tests.infra.harness.Synthesis``) and names what it cannot find.

Writes during a writer outage (R-DR-3) wait in the SQS queue: a message the subscriber fails is
received again every visibility timeout and moved to the DLQ after ``maxReceiveCount`` receives,
so ``maxReceiveCount x visibility timeout`` is how long a writer may be missing before writes
need a manual redrive. ``redrive_windows_from_synthesis`` reads it for every consumed queue.

The ARC Region switch plan (R-DR-5) has objectives of its own, each the sum of its steps'
timeouts (``PlanBudget``, ``plan_budget_from_synthesis``): **serving** (a plan takes a region
out of latency routing: the Route 53 step, then the DNS TTL and CloudFront's re-resolution),
the **writer** (the writer is back: the Route 53 step when the writer's region is the one
leaving, then the Aurora step) and **recovery** (the writer verified: plus the custom steps),
which is the plan's ``recoveryTimeObjectiveMinutes``. Approvals are not counted: the clock
starts when the human says go. What AWS does not guarantee is named with them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contract import region_switch as rs

RTO_TARGET_S = 60.0  # "RTO < 1 min": strictly below
RPO_TARGET_S = 30.0  # "RPO <= 30 s"
PROBE_CONNECT_S = 4.0
PROBE_RESPONSE_S = 2.0
API_GATEWAY_ALIAS_TTL_S = 60
CLOUDFRONT_CONNECTION_ATTEMPTS = 3  # CloudFront's defaults for an origin
CLOUDFRONT_CONNECTION_TIMEOUT_S = 10.0
ROUTE53_DEFAULT_INTERVAL_S = 30  # what AWS uses when requestInterval is not set
ROUTE53_DEFAULT_THRESHOLD = 3
RDS_MIN_GLOBAL_DB_RPO_S = 20
LAG_METRICS = ("AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag")
ENDPOINT_CHECK_TYPES = frozenset({"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"})

HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"
PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
QUEUE = "aws:sqs/queue:Queue"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
REGION_SWITCH_PLAN = "aws:arcregionswitch/plan:Plan"
BUDGET_TYPES = frozenset(
    {
        HEALTH_CHECK,
        RECORD,
        PARAMETER_GROUP,
        METRIC_ALARM,
        DISTRIBUTION,
        QUEUE,
        EVENT_SOURCE_MAPPING,
        REGION_SWITCH_PLAN,
    }
)
# AWS bounds no Aurora promotion; a managed failover is typically about a minute and a
# switchover under write load can take several. We plan for the plan's Aurora step timeout
# (15 minutes) and want the queue to hold writes for twice that before anything reaches the DLQ.
PROMOTION_PLAN_S = rs.AURORA_TIMEOUT_MINUTES * 60
REDRIVE_HEADROOM = 2
SQS_DEFAULT_VISIBILITY_S = 30


@dataclass(frozen=True)
class Term:
    name: str
    seconds: float
    source: str

    def line(self) -> str:
        return f"  {self.seconds:6.1f} s  {self.name}  ({self.source})"


@dataclass(frozen=True)
class Budget:
    rto_terms: tuple[Term, ...]
    rpo_terms: tuple[Term, ...]
    lag_alarm_threshold_s: float
    rto_target_s: float = RTO_TARGET_S
    rpo_target_s: float = RPO_TARGET_S

    @property
    def rto_s(self) -> float:
        return sum(t.seconds for t in self.rto_terms)

    @property
    def rpo_s(self) -> float:
        return sum(t.seconds for t in self.rpo_terms)

    @property
    def violations(self) -> tuple[str, ...]:
        found = []
        if self.rto_s >= self.rto_target_s:
            found.append(f"RTO {self.rto_s:g} s is not below the {self.rto_target_s:g} s target")
        if self.rpo_s > self.rpo_target_s:
            found.append(f"RPO {self.rpo_s:g} s exceeds the {self.rpo_target_s:g} s target")
        if self.lag_alarm_threshold_s > self.rpo_target_s:
            found.append(
                f"replication-lag alarm threshold {self.lag_alarm_threshold_s:g} s is above the "
                f"{self.rpo_target_s:g} s RPO target: lag in between goes unnoticed"
            )
        return tuple(found)

    @property
    def ok(self) -> bool:
        return not self.violations

    def render(self) -> str:
        lines = [f"RTO worst case {self.rto_s:g} s (target < {self.rto_target_s:g} s):"]
        lines += [t.line() for t in self.rto_terms]
        lines.append(f"RPO worst case {self.rpo_s:g} s (target <= {self.rpo_target_s:g} s):")
        lines += [t.line() for t in self.rpo_terms]
        lines.append(f"replication-lag alarm at {self.lag_alarm_threshold_s:g} s")
        lines += [f"VIOLATION {v}" for v in self.violations] or ["within targets"]
        return "\n".join(lines)


def compute_budget(
    *,
    health_check_interval_s: float,
    health_check_failure_threshold: int,
    dns_ttl_s: float,
    lag_alarm_threshold_s: float,
    global_db_rpo_s: float,
    probe_timeout_s: float = PROBE_CONNECT_S + PROBE_RESPONSE_S,
    cloudfront_connection_attempts: int = CLOUDFRONT_CONNECTION_ATTEMPTS,
    cloudfront_connection_timeout_s: float = CLOUDFRONT_CONNECTION_TIMEOUT_S,
    dns_ttl_source: str = "record TTL",
    rto_target_s: float = RTO_TARGET_S,
    rpo_target_s: float = RPO_TARGET_S,
) -> Budget:
    """Worst-case RTO and RPO of a region loss, each term named."""
    if health_check_interval_s <= 0 or health_check_failure_threshold < 1 or dns_ttl_s < 0:
        raise ValueError("interval must be > 0, threshold >= 1 and TTL >= 0")
    detection = health_check_interval_s * health_check_failure_threshold
    rto = (
        Term(
            "health-check detection",
            detection,
            f"{health_check_interval_s:g} s interval x {health_check_failure_threshold} failures",
        ),
        Term("health-check probe timeout", probe_timeout_s, "4 s connect + 2 s response"),
        Term("DNS TTL", dns_ttl_s, dns_ttl_source),
        Term(
            "CloudFront origin re-resolution",
            cloudfront_connection_attempts * cloudfront_connection_timeout_s,
            f"{cloudfront_connection_attempts} connection attempt(s) x "
            f"{cloudfront_connection_timeout_s:g} s on the old origin address",
        ),
    )
    rpo = (
        Term(
            "rds.global_db_rpo",
            global_db_rpo_s,
            "the primary blocks commits beyond this secondary lag",
        ),
    )
    return Budget(rto, rpo, lag_alarm_threshold_s, rto_target_s, rpo_target_s)


# --- from synthesized stacks -------------------------------------------------------------
class BudgetInputsMissing(LookupError):
    """The synthesized stacks lack something the budget needs; the message lists all of it."""


# How the Pulumi engine marks a secret value on the wire (``rpc.py``'s signature key and the
# secret signature): a mocked resource's input computed from a secret (the distribution's
# origins carry the origin-verify header) arrives as ``{SIG: SECRET_SIG, "value": ...}``.
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a wire marker, not a secret


def _plain(value: Any) -> Any:
    """``value`` with every secret wrapper removed, at any depth."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SECRET_SIG and "value" in value:
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class _Declared:
    """A synthesized resource reduced to what the budget reads, secrets unwrapped."""

    type: str
    name: str
    inputs: dict[str, Any]
    # The id the resource answered with (what another resource's input holds).
    mock_id: str = ""


def _resources(synths: list[Any]) -> list[tuple[str, _Declared]]:
    return [
        (s.stack, _Declared(r.type, r.name, _plain(dict(r.inputs)), getattr(r, "mock_id", "")))
        for s in synths
        for r in s.resources
        if r.type in BUDGET_TYPES
    ]


def _is_latency_record(inputs: dict[str, Any]) -> bool:
    return bool(inputs.get("latencyRoutingPolicies") or inputs.get("latencyRoutingPolicy"))


def _fails_with_an_endpoint(check_id: Any, checks_by_id: dict[str, _Declared]) -> bool:
    """Whether the record's check turns unhealthy when an endpoint check fails: it is one, or
    it is a calculated check over one that needs every child healthy (a Region switch plan's
    checks ride along as the other children)."""
    check = checks_by_id.get(str(check_id)) if check_id else None
    if check is None:
        return False
    kind = check.inputs.get("type", "HTTPS")
    if kind in ENDPOINT_CHECK_TYPES:
        return True
    if kind != "CALCULATED":
        return False
    children = [checks_by_id.get(str(c)) for c in check.inputs.get("childHealthchecks") or []]
    endpoint = any(
        c is not None and c.inputs.get("type", "HTTPS") in ENDPOINT_CHECK_TYPES for c in children
    )
    return endpoint and check.inputs.get("childHealthThreshold") == len(children)


def _alarm_metric(inputs: dict[str, Any]) -> str | None:
    if inputs.get("metricName") in LAG_METRICS:
        return inputs["metricName"]
    for query in inputs.get("metricQueries") or []:
        metric = (query.get("metric") or {}).get("metricName")
        if metric in LAG_METRICS:
            return metric
    return None


def _api_origin(resources: list[tuple[str, _Declared]]) -> tuple[int, float] | None:
    """(connection attempts, timeout) of the worst API origin, the custom (non-S3) one; unset
    values are CloudFront's defaults."""
    api_origins = [
        origin
        for _, r in resources
        if r.type == DISTRIBUTION
        for origin in r.inputs.get("origins") or []
        if origin.get("customOriginConfig")
    ]
    if not api_origins:
        return None
    worst = max(
        api_origins,
        key=lambda o: (
            (o.get("connectionAttempts") or CLOUDFRONT_CONNECTION_ATTEMPTS)
            * (o.get("connectionTimeout") or CLOUDFRONT_CONNECTION_TIMEOUT_S)
        ),
    )
    return (
        int(worst.get("connectionAttempts") or CLOUDFRONT_CONNECTION_ATTEMPTS),
        float(worst.get("connectionTimeout") or CLOUDFRONT_CONNECTION_TIMEOUT_S),
    )


def budget_from_synthesis(synths: Iterable[Any] | Any, **overrides: Any) -> Budget:
    """The budget of the deployed configuration, read from ``Synthesis`` objects (a mapping
    stack → Synthesis or an iterable of them). Takes the worst value where regions differ.
    Raises ``BudgetInputsMissing`` naming every missing input."""
    synths = list(synths.values() if hasattr(synths, "values") else synths)
    resources = _resources(synths)
    stacks = sorted({s.stack for s in synths}) or ["(none)"]
    where = f"in stacks {', '.join(stacks)}"
    missing: list[str] = []

    # Calculated and CloudWatch-alarm checks have no probe interval of their own.
    checks = [
        r
        for _, r in resources
        if r.type == HEALTH_CHECK and r.inputs.get("type", "HTTPS") in ENDPOINT_CHECK_TYPES
    ]
    detection: tuple[float, int, str] | None = None
    for check in checks:
        interval = check.inputs.get("requestInterval") or ROUTE53_DEFAULT_INTERVAL_S
        threshold = check.inputs.get("failureThreshold") or ROUTE53_DEFAULT_THRESHOLD
        if detection is None or interval * threshold > detection[0] * detection[1]:
            detection = (float(interval), int(threshold), check.name)
    if detection is None:
        missing.append(f"no {HEALTH_CHECK} {where} (R-API-5 health check on /health)")

    records = [r for _, r in resources if r.type == RECORD and _is_latency_record(r.inputs)]
    ttl: tuple[float, str] | None = None
    for record in records:
        if record.inputs.get("aliases"):
            value, why = API_GATEWAY_ALIAS_TTL_S, f"alias {record.name}: target's TTL"
        elif record.inputs.get("ttl") is not None:
            value, why = float(record.inputs["ttl"]), f"TTL of {record.name}"
        else:
            missing.append(f"latency record {record.name} has neither ttl nor aliases")
            continue
        if ttl is None or value > ttl[0]:
            ttl = (float(value), why)
    if not records:
        missing.append(f"no latency-routed {RECORD} {where} (R-API-5 api.<domain> records)")
    checks_by_id = {r.mock_id: r for _, r in resources if r.type == HEALTH_CHECK and r.mock_id}
    for record in records:
        if not _fails_with_an_endpoint(record.inputs.get("healthCheckId"), checks_by_id):
            missing.append(
                f"latency record {record.name} heeds no endpoint health check, alone or as a "
                "child every one of which must be healthy: nothing takes its region out "
                "automatically"
            )

    rpo: float | None = None
    for _, group in resources:
        if group.type != PARAMETER_GROUP:
            continue
        for parameter in group.inputs.get("parameters") or []:
            if parameter.get("name") == "rds.global_db_rpo":
                value = float(parameter["value"])
                rpo = value if rpo is None else max(rpo, value)
    if rpo is None:
        missing.append(f"no rds.global_db_rpo parameter in any {PARAMETER_GROUP} {where}")

    thresholds = [
        float(r.inputs["threshold"]) / 1000.0  # both lag metrics are in milliseconds
        for _, r in resources
        if r.type == METRIC_ALARM and _alarm_metric(r.inputs) and "threshold" in r.inputs
    ]
    if not thresholds:
        missing.append(f"no {METRIC_ALARM} on AuroraGlobalDBRPOLag with a threshold {where}")

    if missing:
        raise BudgetInputsMissing(
            "cannot compute the RTO/RPO budget:\n" + "\n".join(f"  - {m}" for m in missing)
        )
    assert detection is not None and ttl is not None and rpo is not None
    arguments: dict[str, Any] = {
        "health_check_interval_s": detection[0],
        "health_check_failure_threshold": detection[1],
        "dns_ttl_s": ttl[0],
        "dns_ttl_source": ttl[1],
        "lag_alarm_threshold_s": max(thresholds),
        "global_db_rpo_s": rpo,
    }
    origin = _api_origin(resources)
    if origin is not None:
        arguments["cloudfront_connection_attempts"] = origin[0]
        arguments["cloudfront_connection_timeout_s"] = origin[1]
    arguments.update(overrides)
    return compute_budget(**arguments)


# --- R-DR-3: how long queued writes wait for a writer -------------------------------------
@dataclass(frozen=True)
class RedriveWindow:
    """One consumed queue: a failing message is received ``max_receive_count`` times, one
    visibility timeout apart, before SQS moves it to the dead-letter queue."""

    queue: str
    max_receive_count: int
    visibility_timeout_s: float
    retention_s: float

    @property
    def seconds(self) -> float:
        return self.max_receive_count * self.visibility_timeout_s

    @property
    def violations(self) -> tuple[str, ...]:
        found = []
        wanted = REDRIVE_HEADROOM * PROMOTION_PLAN_S
        if self.seconds < wanted:
            found.append(
                f"{self.queue}: {self.line()} is under {REDRIVE_HEADROOM} x the "
                f"{PROMOTION_PLAN_S // 60}-minute promotion we plan for ({wanted} s): raise "
                "dlqMaxReceiveCount"
            )
        if self.retention_s < self.seconds:
            found.append(f"{self.queue}: retention {self.retention_s:g} s < redrive window")
        return tuple(found)

    def line(self) -> str:
        return (
            f"{self.max_receive_count} receives x {self.visibility_timeout_s:g} s visibility "
            f"= {self.seconds:g} s"
        )


def redrive_windows_from_synthesis(synths: Iterable[Any] | Any) -> tuple[RedriveWindow, ...]:
    """The redrive window of every queue a Lambda event source mapping consumes."""
    synths = list(synths.values() if hasattr(synths, "values") else synths)
    windows = []
    for synth in synths:
        declared = _resources([synth])
        consumed = {
            str(r.inputs.get("eventSourceArn", "")).rsplit(":", 1)[-1]
            for _, r in declared
            if r.type == EVENT_SOURCE_MAPPING
        }
        for _, queue in declared:
            if queue.type != QUEUE or queue.name not in consumed:
                continue
            redrive = queue.inputs.get("redrivePolicy")
            if isinstance(redrive, str):
                redrive = json.loads(redrive)
            if not redrive:
                raise BudgetInputsMissing(
                    f"{synth.stack}: queue {queue.name} is consumed but has no redrive policy"
                )
            windows.append(
                RedriveWindow(
                    queue=f"{synth.stack}/{queue.inputs.get('name', queue.name)}",
                    max_receive_count=int(redrive["maxReceiveCount"]),
                    visibility_timeout_s=float(
                        queue.inputs.get("visibilityTimeoutSeconds") or SQS_DEFAULT_VISIBILITY_S
                    ),
                    retention_s=float(queue.inputs.get("messageRetentionSeconds") or 4 * 86400),
                )
            )
    if not windows:
        raise BudgetInputsMissing("no SQS queue consumed by a Lambda event source mapping")
    return tuple(windows)


# --- R-DR-5: the Region switch plan's objectives ---------------------------------------------
# What AWS documents no bound for, in the order a plan execution meets them.
NOT_GUARANTEED = (
    "Aurora promotion (switchover or failover): no SLA; a switchover first waits for the "
    "secondary to catch up",
    "how fast Route 53 stops answering with a region after ARC flips its health check, and how "
    "fast a calculated health check follows its children",
    "how soon ARC starts each step after the previous one, and RDS Proxy registering the "
    "promoted writer as its target (the writer check retries every minute meanwhile)",
    "custom steps and approvals in ungraceful mode: ARC skips them; python -m dr verifies "
    "the writer itself after every execution",
    "S3 replication (15-minute RTC SLA) and resolvers that stretch TTLs (docs/dr.md section 2)",
)


@dataclass(frozen=True)
class PlanBudget:
    """The plan's three objectives; every term a step's timeout or a DNS number."""

    serving: tuple[Term, ...]
    writer: tuple[Term, ...]
    recovery: tuple[Term, ...]
    redrive_window_s: float | None = None

    @property
    def serving_s(self) -> float:
        return sum(t.seconds for t in self.serving)

    @property
    def writer_s(self) -> float:
        return sum(t.seconds for t in self.writer)

    @property
    def recovery_s(self) -> float:
        return sum(t.seconds for t in self.recovery)

    @property
    def recovery_time_objective_minutes(self) -> int:
        return math.ceil(self.recovery_s / 60)

    @property
    def violations(self) -> tuple[str, ...]:
        found = []
        aurora = next((t.seconds for t in self.writer if t.name.startswith("Aurora")), 0.0)
        if self.redrive_window_s is not None and self.redrive_window_s < REDRIVE_HEADROOM * aurora:
            found.append(
                f"queued writes reach the DLQ after {self.redrive_window_s:g} s, under "
                f"{REDRIVE_HEADROOM} x the plan's {aurora:g} s Aurora step: raise "
                "dlqMaxReceiveCount or shorten the step"
            )
        return tuple(found)

    def render(self) -> str:
        def section(title: str, terms: tuple[Term, ...], total: float) -> list[str]:
            return [f"{title} {total:g} s ({total / 60:.1f} min):", *(t.line() for t in terms)]

        lines = ["ARC Region switch plan (approvals not counted; each step at its timeout):"]
        lines += section("  serving: a region out of routing within", self.serving, self.serving_s)
        lines += section("  writer: the writer back within", self.writer, self.writer_s)
        lines += section("  recovery: the writer verified within", self.recovery, self.recovery_s)
        lines.append(
            f"  plan recoveryTimeObjectiveMinutes = {self.recovery_time_objective_minutes}"
        )
        lines.append("AWS does not guarantee:")
        lines += [f"  - {item}" for item in NOT_GUARANTEED]
        lines += [f"VIOLATION {v}" for v in self.violations]
        return "\n".join(lines)


def _step_term(step: rs.Step) -> Term:
    return Term(
        f"{_BLOCK_NAMES.get(step.block, step.block)} step {step.name}",
        step.timeout_minutes * 60.0,
        "the step's timeout",
    )


_BLOCK_NAMES = {
    rs.ROUTE53: "Route 53",
    rs.AURORA: "Aurora",
    rs.LAMBDA: "custom",
    rs.APPROVAL: "approval",
}


def plan_budget(
    workflows: Iterable[rs.Workflow],
    *,
    dns_ttl_s: float,
    cloudfront_connection_attempts: int = CLOUDFRONT_CONNECTION_ATTEMPTS,
    cloudfront_connection_timeout_s: float = CLOUDFRONT_CONNECTION_TIMEOUT_S,
    redrive_window_s: float | None = None,
) -> PlanBudget:
    """The worst workflow of the plan for each objective (graceful: every step runs)."""
    workflows = list(workflows)
    if not workflows:
        raise ValueError("a plan without workflows has no objectives")

    def automatic(flow: rs.Workflow) -> list[rs.Step]:
        return [step for step in flow.steps if step.block != rs.APPROVAL]

    def until(flow: rs.Workflow, last_block: str) -> list[rs.Step]:
        steps = automatic(flow)
        blocks = [step.block for step in steps]
        return steps[: blocks.index(last_block) + 1] if last_block in blocks else []

    def worst(terms_of) -> tuple[Term, ...]:
        return max(
            (tuple(terms_of(flow)) for flow in workflows), key=lambda ts: sum(t.seconds for t in ts)
        )

    dns = (
        Term("DNS TTL", dns_ttl_s, "resolvers keep the old answer"),
        Term(
            "CloudFront origin re-resolution",
            cloudfront_connection_attempts * cloudfront_connection_timeout_s,
            "a request bound to the old address",
        ),
    )
    serving = worst(
        lambda flow: (
            [
                *(_step_term(s) for s in until(flow, rs.ROUTE53)),
                *dns,
            ]
            if flow.action == "deactivate"
            else []
        )
    )
    writer = worst(lambda flow: [_step_term(s) for s in until(flow, rs.AURORA)])
    recovery = worst(lambda flow: [_step_term(s) for s in automatic(flow)])
    return PlanBudget(serving, writer, recovery, redrive_window_s)


def _plan_workflows(plan_inputs: dict[str, Any]) -> list[rs.Workflow]:
    """A synthesized plan's workflows as ``contract.region_switch`` data (the timeouts as
    declared, whatever the contract says now)."""
    flows = []
    for flow in plan_inputs.get("workflows") or []:
        steps = []
        for step in flow.get("steps") or []:
            configs = [
                value[0]
                for key, value in step.items()
                if key.endswith("Configs") and isinstance(value, list) and value
            ]
            timeout = (configs[0] if configs else {}).get("timeoutMinutes") or 0
            steps.append(
                rs.Step(
                    step["name"],
                    step["executionBlockType"],
                    int(timeout),
                    step.get("description", ""),
                )
            )
        flows.append(
            rs.Workflow(
                flow["workflowTargetAction"], flow.get("workflowTargetRegion", ""), tuple(steps)
            )
        )
    return flows


def plan_budgets_from_synthesis(synths: Iterable[Any] | Any) -> dict[str, tuple[PlanBudget, int]]:
    """plan name → (its budget from the deployed numbers, the RTO minutes it declares)."""
    synths = list(synths.values() if hasattr(synths, "values") else synths)
    plans = [r for _, r in _resources(synths) if r.type == REGION_SWITCH_PLAN]
    if not plans:
        raise BudgetInputsMissing(f"no {REGION_SWITCH_PLAN} in the synthesized stacks (R-DR-5)")
    serving = budget_from_synthesis(synths)
    ttl = next(t.seconds for t in serving.rto_terms if t.name == "DNS TTL")
    attempts, timeout = _api_origin(_resources(synths)) or (
        CLOUDFRONT_CONNECTION_ATTEMPTS,
        CLOUDFRONT_CONNECTION_TIMEOUT_S,
    )
    windows = redrive_windows_from_synthesis(synths)
    found = {}
    for plan in plans:
        budget = plan_budget(
            _plan_workflows(plan.inputs),
            dns_ttl_s=ttl,
            cloudfront_connection_attempts=attempts,
            cloudfront_connection_timeout_s=timeout,
            redrive_window_s=min(w.seconds for w in windows),
        )
        found[plan.inputs.get("name", plan.name)] = (
            budget,
            int(plan.inputs.get("recoveryTimeObjectiveMinutes") or 0),
        )
    return found
