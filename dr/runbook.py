"""Switchover and failover as ARC Region switch plan executions, watched and verified.

``Runbook.run`` = pre-checks (read only) → resolve which plan execution moves the writer to the
target → print the workflow ARC will run (from the plan ARC holds) → [dry run stops here] →
confirmation → **start the execution** → watch it step by step (approving the approval step
only when asked) → verify on our own (target is writer and available, new writer accepts
writes, old region fenced): ARC skips custom steps in ungraceful mode, and trusting an
orchestrator's "completed" is not verification. A failed pre-check returns before anything is
started. Clock, sleep, wall time, output and the writer probe are injected, so tests run the
whole procedure in milliseconds.

Which execution: a plan is active/active over two regions (contract.region_switch). Moving the
writer to region X deactivates the writer's region W, unless X itself is deactivated (ARC's
health check for X unhealthy): then it activates X, which brings X back and makes it writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dr.aws import Aws, Execution, GlobalCluster, Member, Plan, PlanWorkflow
from dr.checks import Findings, Kind, run_prechecks
from dr.probe import Probe
from dr.topology import PlanRef

# Exit codes of the CLI, one meaning each.
OK = 0
ABORTED = 1  # nothing was changed
UNVERIFIED = 3  # the change was requested but a post-check failed or timed out: look now
DECLINED = 4  # the operator did not confirm; nothing was changed

RTO_TARGET_S = 60.0
APPROVAL_BLOCK = "ManualApproval"
SKIPPED_WHEN_UNGRACEFUL = frozenset({"CustomActionLambda", APPROVAL_BLOCK})


@dataclass(frozen=True)
class Outcome:
    code: int
    changed: bool
    old_writer_region: str | None = None
    new_writer_region: str | None = None
    execution_id: str | None = None


@dataclass(frozen=True)
class PlannedExecution:
    """One ARC execution: ``action`` on ``target_region`` of ``plan``, started and watched in
    ``region`` (the region the plan activates: never the one it abandons)."""

    plan: PlanRef
    action: str
    target_region: str
    region: str
    ungraceful: bool

    def describe(self) -> str:
        mode = "ungraceful" if self.ungraceful else "graceful"
        return f"{self.action} {self.target_region} ({mode}) with plan {self.plan.name}"


@dataclass(frozen=True)
class _Check:
    title: str
    action: Callable[[], tuple[bool, str]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def plan_execution(
    plan: PlanRef,
    *,
    writer_region: str | None,
    target_region: str,
    target_deactivated: bool,
    ungraceful: bool,
) -> PlannedExecution:
    """Which execution makes ``target_region`` the writer (see the module docstring)."""
    if target_deactivated:
        return PlannedExecution(plan, "activate", target_region, target_region, ungraceful)
    leaving = writer_region or plan.peer_of(target_region)
    return PlannedExecution(plan, "deactivate", leaving, target_region, ungraceful)


def step_lines(workflow: PlanWorkflow, *, ungraceful: bool) -> list[str]:
    lines = []
    for number, step in enumerate(workflow.steps, 1):
        limit = f"≤ {step.timeout_minutes} min" if step.timeout_minutes else "no timeout"
        skipped = (
            " — SKIPPED by ARC (ungraceful)"
            if ungraceful and (step.block in SKIPPED_WHEN_UNGRACEFUL)
            else ""
        )
        lines.append(
            f"{number}/{len(workflow.steps)} {step.name} [{step.block}, {limit}] "
            f"{step.description}{skipped}"
        )
    return lines


class Runbook:
    def __init__(
        self,
        aws: Aws,
        *,
        global_cluster_id: str,
        plans: Sequence[PlanRef],
        rpo_s: float = 30.0,
        probe: Probe | None = None,
        out: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        poll_interval_s: float = 10.0,
        timeout_s: float = 900.0,
    ):
        self.aws = aws
        self.global_cluster_id = global_cluster_id
        self.plans = list(plans)
        self.rpo_s = rpo_s
        self.probe = probe
        self.out = out
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self._t0 = clock()

    def _log(self, message: str) -> None:
        self.out(f"[{self.clock() - self._t0:6.1f}s] {message}")

    def _plan_for(self, *regions: str) -> PlanRef | None:
        return next((p for p in self.plans if set(regions) <= set(p.regions)), None)

    # --- the procedure -------------------------------------------------------------------
    def run(
        self,
        kind: Kind,
        target_region: str,
        *,
        dry_run: bool,
        allow_data_loss: bool = False,
        approve: bool = False,
        confirm: Callable[[str], bool] = lambda prompt: True,
    ) -> Outcome:
        self._t0 = self.clock()
        mode = "DRY RUN " if dry_run else ""
        self._log(f"{mode}{kind} of {self.global_cluster_id} to {target_region}: pre-checks")
        findings = run_prechecks(
            self.aws,
            kind=kind,
            global_cluster_id=self.global_cluster_id,
            target_region=target_region,
            rpo_s=self.rpo_s,
            now=self.now(),
        )
        for check in findings.checks:
            self._log(f"PRE  {check.line()}")
        source = findings.source
        old_region = source.region if source else None
        if not findings.may_proceed(allow_data_loss=allow_data_loss):
            self._abort_message(kind, findings)
            return Outcome(ABORTED, False, old_region, None)
        target = findings.target
        assert target is not None and findings.global_cluster is not None
        if kind == "failover" and not findings.degraded:
            self._log(
                "NOTE the current writer is reachable and in sync: a switchover would lose "
                "nothing (python -m dr switchover)"
            )
        if kind == "failover" and findings.degraded:
            self._log(
                "WARN proceeding with --allow-data-loss despite: "
                + "; ".join(c.name for c in findings.degraded)
            )

        resolved = self._resolve(kind, old_region, target_region)
        if isinstance(resolved, str):
            self._log(f"ABORT {resolved}: no change made")
            return Outcome(ABORTED, False, old_region, None)
        planned, workflow = resolved
        self._log(f"PLAN ARC Region switch: {planned.describe()}, started in {planned.region}")
        for line in step_lines(workflow, ungraceful=planned.ungraceful):
            self._log(f"PLAN {line}")
        checks = self._checks(findings.global_cluster, source, target)
        for check in checks:
            self._log(f"PLAN then verify: {check.title}")
        if dry_run:
            self._log("DRY RUN complete: pre-checks passed, no change made")
            return Outcome(OK, False, old_region, target.region)

        prompt = (
            f"{kind} {self.global_cluster_id}: {planned.describe()} to make "
            f"{target.cluster_id} ({target.region}) the writer"
            f"{' ACCEPTING DATA LOSS' if kind == 'failover' else ''}?"
        )
        if not confirm(prompt):
            self._log("ABORT not confirmed: no change made")
            return Outcome(DECLINED, False, old_region, None)

        started = self.clock()
        try:
            execution_id = self.aws.start_execution(
                planned.plan.arn,
                target_region=planned.target_region,
                action=planned.action,
                ungraceful=planned.ungraceful,
                comment=f"python -m dr {kind} --to {target_region}",
                region=planned.region,
            )
        except Exception as exc:
            self._log(f"FAIL start_plan_execution: {type(exc).__name__}: {exc}")
            if hasattr(exc, "response"):
                # ARC answered with an error: the request was refused, nothing changed.
                self._log("ABORT ARC refused the execution: no change made")
                return Outcome(ABORTED, False, old_region, None)
            self._attention()
            return Outcome(UNVERIFIED, True, old_region, target.region)
        self._log(f"STARTED execution {execution_id} in {planned.region}")

        deadline_s = 60.0 * sum(s.timeout_minutes or 0 for s in workflow.steps)
        execution = self.watch(
            planned.plan.arn,
            execution_id,
            region=planned.region,
            approve=approve,
            deadline_s=max(deadline_s, self.poll_interval_s),
        )
        if execution is None or not execution.succeeded:
            state = execution.state if execution else "still running at its deadline"
            self._log(f"FAIL execution {execution_id}: {state}")
            self._attention()
            return Outcome(UNVERIFIED, True, old_region, target.region, execution_id)

        for number, check in enumerate(checks, 1):
            step_start = self.clock()
            self._log(f"VERIFY {number}/{len(checks)} {check.title} ...")
            ok, detail = check.action()
            took = self.clock() - step_start
            if not ok:
                self._log(f"FAIL {number}/{len(checks)} after {took:.1f}s: {detail}")
                self._attention()
                return Outcome(UNVERIFIED, True, old_region, target.region, execution_id)
            self._log(f"DONE {number}/{len(checks)} in {took:.1f}s: {detail}")
        total = self.clock() - started
        self._log(
            f"COMPLETE {kind}: {target.region} is the writer ({total:.1f}s after the execution "
            f"started; ARC's actual recovery time {execution.actual_recovery_time or 'n/a'})"
        )
        if kind == "failover" and total >= RTO_TARGET_S:
            self._log(
                f"NOTE promotion and verification took {total:.0f}s, not below the "
                f"{RTO_TARGET_S:.0f}s RTO: AWS does not guarantee Aurora promotion time "
                "(docs/dr.md); record it in the incident timeline"
            )
        return Outcome(OK, True, old_region, target.region, execution_id)

    def _attention(self) -> None:
        self._log(
            "ATTENTION the change was requested but is not verified: run "
            "`python -m dr executions` and `python -m dr status` now; do not change the stack "
            "config until it is"
        )

    def _resolve(
        self, kind: Kind, writer_region: str | None, target_region: str
    ) -> tuple[PlannedExecution, PlanWorkflow] | str:
        """The execution to start and the workflow ARC will run, or why there is none. Only
        reads, and only in the target region (the one the execution keeps)."""
        regions = [r for r in (writer_region, target_region) if r]
        plan = self._plan_for(*regions)
        if plan is None:
            known = ", ".join(f"{p.name} {list(p.regions)}" for p in self.plans) or "none"
            return f"no Region switch plan covers {' and '.join(regions)} (plans: {known})"
        try:
            checks = self.aws.plan_health_checks(plan.arn, region=target_region)
            held: Plan = self.aws.plan(plan.arn, region=target_region)
        except Exception as exc:
            return f"cannot read plan {plan.name} in {target_region} ({type(exc).__name__}: {exc})"
        target_checks = [c for c in checks if c.region == target_region]
        if not target_checks:
            return f"plan {plan.name} reports no Route 53 health check for {target_region}"
        planned = plan_execution(
            plan,
            writer_region=writer_region,
            target_region=target_region,
            target_deactivated=any(c.status == "unhealthy" for c in target_checks),
            ungraceful=kind == "failover",
        )
        workflow = held.workflow(planned.action, planned.target_region)
        if workflow is None:
            return f"plan {plan.name} has no {planned.action} workflow for {planned.target_region}"
        return planned, workflow

    def watch(
        self,
        plan_arn: str,
        execution_id: str,
        *,
        region: str,
        approve: bool = False,
        deadline_s: float | None = None,
    ) -> Execution | None:
        """Poll the execution until it finishes (or the deadline passes: None), logging every
        step's change of status; approve pending approval steps only when ``approve``."""
        deadline = self.clock() + (deadline_s if deadline_s is not None else self.timeout_s)
        seen: dict[str, str] = {}
        told_approval: set[str] = set()
        last: Execution | None = None
        while True:
            try:
                last = self.aws.execution(plan_arn, execution_id, region=region)
            except Exception as exc:  # a read failing mid-incident is expected; keep polling
                self._log(f"     … cannot read the execution ({type(exc).__name__})")
            else:
                for step in last.steps:
                    if seen.get(step.name) != step.status:
                        seen[step.name] = step.status
                        self._log(f"STEP {step.name}: {step.status}")
                for step in last.pending_approval():
                    if approve:
                        self.aws.approve_step(
                            plan_arn, execution_id, step, approve=True, region=region
                        )
                        self._log(f"APPROVED step {step}")
                    elif step not in told_approval:
                        told_approval.add(step)
                        self._log(
                            f"WAITING step {step} needs approval: with the approval role, run "
                            f"`python -m dr approve {execution_id} --step {step}` (or the ARC "
                            "console)"
                        )
                if last.finished:
                    self._log(f"EXECUTION {execution_id} {last.state}")
                    return last
            if self.clock() >= deadline:
                self._log(f"     … execution {execution_id} not finished by its deadline")
                return None
            self.sleep(self.poll_interval_s)

    def _abort_message(self, kind: Kind, findings: Findings) -> None:
        if findings.hard_failures:
            names = ", ".join(c.name for c in findings.hard_failures)
            self._log(f"ABORT pre-check failed ({names}): no change made")
        else:
            names = ", ".join(c.name for c in findings.degraded)
            hint = (
                "re-run with --allow-data-loss to fail over anyway"
                if kind == "failover"
                else "fix them and retry, or use `failover` if the region is lost"
            )
            self._log(f"ABORT pre-check failed ({names}): no change made; {hint}")

    # --- verification (read only) --------------------------------------------------------
    def _checks(self, gc: GlobalCluster, source: Member | None, target: Member) -> list[_Check]:
        checks = [
            _Check(
                f"{target.cluster_id} is the writer and the global cluster is available",
                lambda: self._wait_for_writer(target),
            ),
            _Check(
                f"cluster {target.cluster_id} is available",
                lambda: self._wait_for_cluster(target),
            ),
            _Check(
                f"new writer in {target.region} accepts writes",
                lambda: self._wait_for_writes(target.region),
            ),
        ]
        if source is not None:
            checks.append(
                _Check(
                    f"old writer in {source.region} is fenced (no longer writer)",
                    lambda: self._check_fenced(source, target),
                )
            )
        return checks

    def _poll(self, what: str, attempt: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        deadline = self.clock() + self.timeout_s
        while True:
            try:
                done, detail = attempt()
            except Exception as exc:  # a read failing mid-switchover is expected; keep polling
                done, detail = False, f"{type(exc).__name__}: {exc}"
            if done:
                return True, detail
            if self.clock() >= deadline:
                return False, f"timed out after {self.timeout_s:g}s waiting for {what}: {detail}"
            self._log(f"     … {detail}")
            self.sleep(self.poll_interval_s)

    def _wait_for_writer(self, target: Member) -> tuple[bool, str]:
        def attempt() -> tuple[bool, str]:
            gc = self.aws.global_cluster(self.global_cluster_id, region=target.region)
            writer = gc.writer
            done = (
                writer is not None
                and writer.arn == target.arn
                and gc.status == "available"
                and not gc.failover_in_progress
            )
            state = f", {gc.failover_status}" if gc.failover_status else ""
            who = writer.region if writer else "none"
            return done, f"global cluster {gc.status}{state}, writer {who}"

        return self._poll("the target to become writer", attempt)

    def _wait_for_cluster(self, target: Member) -> tuple[bool, str]:
        def attempt() -> tuple[bool, str]:
            cluster = self.aws.cluster(target.arn)
            return cluster.status == "available", f"{target.cluster_id} {cluster.status}"

        return self._poll(f"{target.cluster_id} to be available", attempt)

    def _wait_for_writes(self, region: str) -> tuple[bool, str]:
        probe = self.probe
        if probe is None:
            # Not a failure: the runbook cannot know every way to test a write. Said loudly.
            return True, (
                "SKIPPED (no writer probe: pass the regional stacks' --outputs or "
                "--health-url REGION=URL) — verify by hand"
            )

        def attempt() -> tuple[bool, str]:
            result = probe(region)
            return result.is_writer, result.detail

        return self._poll(f"{region} to report role writer", attempt)

    def _check_fenced(self, source: Member, target: Member) -> tuple[bool, str]:
        def attempt() -> tuple[bool, str]:
            gc = self.aws.global_cluster(self.global_cluster_id, region=target.region)
            old = gc.member_in(source.region)
            if old is not None and old.is_writer:
                return False, f"{source.cluster_id} is still the writer"
            membership = "not a member" if old is None else "a secondary"
            if self.probe is None:
                return True, f"{source.cluster_id} is {membership}"
            result = self.probe(source.region)
            if result.is_writer:
                return False, f"{source.region} API still reports role writer ({result.detail})"
            return True, f"{source.cluster_id} is {membership}; {result.detail}"

        return self._poll(f"{source.region} to stop being writer", attempt)


# --- status ------------------------------------------------------------------------------
def report_status(
    aws: Aws,
    *,
    global_cluster_id: str,
    regions: list[str],
    health_checks: Mapping[str, str],
    configured_primary: str | None,
    rpo_s: float,
    out: Callable[[str], None] = print,
    now: Callable[[], datetime] = utcnow,
) -> int:
    """Roles, lag and health per region. 0 when all is well, 1 when something needs a human."""
    gc: GlobalCluster | None = None
    errors: list[str] = []
    for region in regions:
        try:
            gc = aws.global_cluster(global_cluster_id, region=region)
            break
        except Exception as exc:
            errors.append(f"{region}: {type(exc).__name__}: {exc}")
    if gc is None:
        out(f"global cluster {global_cluster_id}: cannot describe ({'; '.join(errors)})")
        return ABORTED
    attention: list[str] = []
    failover = f"{gc.failover_status} to {gc.failover_to}" if gc.failover_status else "none"
    out(
        f"global cluster {gc.identifier}: status {gc.status}, engine {gc.engine_version}, "
        f"switchover/failover in progress: {failover}"
    )
    if gc.status != "available" or gc.failover_in_progress:
        attention.append("global cluster is not idle")
    header = ("region", "role", "cluster", "status", "engine", "sync", "lag", "health check")
    rows = [header]
    member_regions = [m.region for m in gc.members]
    for region in dict.fromkeys([*regions, *member_regions]):
        member = gc.member_in(region)
        if member is None:
            rows.append((region, "not a member", "-", "-", "-", "-", "-", "-"))
            attention.append(f"{region} has no member in the global cluster")
            continue
        try:
            cluster = aws.cluster(member.arn)
            status, engine = cluster.status, cluster.engine_version
        except Exception as exc:
            status, engine = f"unreachable ({type(exc).__name__})", "?"
        if status != "available":
            attention.append(f"{member.cluster_id} is {status}")
        lag_text = "-"
        if not member.is_writer:
            try:
                lag = aws.replication_lag(member, now=now())
            except Exception as exc:
                lag, lag_text = None, f"unreadable ({type(exc).__name__})"
            if lag is not None:
                lag_text = f"{lag.seconds:.1f}s"
                if lag.seconds > rpo_s:
                    attention.append(f"{region} lag {lag.seconds:.1f}s exceeds RPO {rpo_s:g}s")
            elif lag_text == "-":
                lag_text = "no data"
                attention.append(f"{region} publishes no replication-lag metric")
        health = "-"
        if region in health_checks:
            try:
                health = aws.health_check(health_checks[region]).label
            except Exception as exc:
                health = f"unreadable ({type(exc).__name__})"
            if not health.startswith("healthy"):
                attention.append(f"{region} health check {health}")
        role = "writer" if member.is_writer else "secondary"
        rows.append(
            (
                region,
                role,
                member.cluster_id,
                status,
                engine,
                member.sync_status or "-",
                lag_text,
                health,
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        out("  ".join(cells).rstrip())
    writer = gc.writer
    if configured_primary is not None:
        if writer is not None and writer.region != configured_primary:
            out(
                f"DRIFT Pulumi.yaml primaryRegion is {configured_primary} but the writer is "
                f"{writer.region}: run `python -m dr config --new-primary {writer.region}` "
                "before the next `pulumi up`"
            )
            attention.append("stack config drift")
        else:
            out(f"Pulumi.yaml primaryRegion {configured_primary} matches the writer")
    if writer is None:
        attention.append("no writer")
    for item in attention:
        out(f"ATTENTION {item}")
    return ABORTED if attention else OK


def report_plans(aws: Aws, plans: Sequence[PlanRef], *, out: Callable[[str], None] = print) -> int:
    """Per plan, which regions ARC keeps in latency routing (its health checks), read from the
    plan's data plane in the first of its regions that answers. 1 when a region is out."""
    code = OK
    for plan in plans:
        checks = None
        errors = []
        for region in plan.regions:
            try:
                checks = aws.plan_health_checks(plan.arn, region=region)
                break
            except Exception as exc:
                errors.append(f"{region}: {type(exc).__name__}")
        if checks is None:
            out(f"plan {plan.name}: unreadable ({'; '.join(errors)})")
            code = ABORTED
            continue
        states: dict[str, list[str]] = {}
        for check in checks:
            states.setdefault(check.region, []).append(check.status)
        parts = []
        for region in plan.regions:
            statuses = states.get(region, [])
            if not statuses:
                parts.append(f"{region} no health check")
                code = ABORTED
            elif all(s == "healthy" for s in statuses):
                parts.append(f"{region} in routing")
            else:
                parts.append(f"{region} OUT of routing ({', '.join(sorted(set(statuses)))})")
                code = ABORTED
        out(f"plan {plan.name}: {'; '.join(parts)}")
    if code != OK:
        out("ATTENTION a plan holds a region out of routing or cannot be read")
    return code
