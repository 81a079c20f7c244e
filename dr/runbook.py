"""Switchover and failover of the Aurora global database as ordered, timed steps.

``Runbook.run`` = pre-checks (read only) → plan → [dry run stops here] → confirmation → the one
mutating call → post-checks (target is writer and available, new writer accepts writes, old
region fenced). A failed pre-check returns before any mutating call. Clock, sleep, wall time,
output and the writer probe are injected, so tests run the whole procedure in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dr.aws import Aws, GlobalCluster, Member
from dr.checks import Findings, Kind, run_prechecks
from dr.probe import Probe

# Exit codes of the CLI, one meaning each.
OK = 0
ABORTED = 1  # nothing was changed
UNVERIFIED = 3  # the change was requested but a post-check failed or timed out: look now
DECLINED = 4  # the operator did not confirm; nothing was changed

RTO_TARGET_S = 60.0


@dataclass(frozen=True)
class Outcome:
    code: int
    changed: bool
    old_writer_region: str | None = None
    new_writer_region: str | None = None


@dataclass(frozen=True)
class _Step:
    title: str
    action: Callable[[], tuple[bool, str]]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Runbook:
    def __init__(
        self,
        aws: Aws,
        *,
        global_cluster_id: str,
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

    # --- the procedure -------------------------------------------------------------------
    def run(
        self,
        kind: Kind,
        target_region: str,
        *,
        dry_run: bool,
        allow_data_loss: bool = False,
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

        steps = self._steps(kind, findings.global_cluster, source, target)
        for number, step in enumerate(steps, 1):
            self._log(f"PLAN {number}/{len(steps)} {step.title}")
        if dry_run:
            self._log("DRY RUN complete: pre-checks passed, no change made")
            return Outcome(OK, False, old_region, target.region)

        prompt = (
            f"{kind} {self.global_cluster_id}: make {target.cluster_id} ({target.region}) "
            f"the writer{' ACCEPTING DATA LOSS' if kind == 'failover' else ''}?"
        )
        if not confirm(prompt):
            self._log("ABORT not confirmed: no change made")
            return Outcome(DECLINED, False, old_region, None)

        started = self.clock()
        for number, step in enumerate(steps, 1):
            step_start = self.clock()
            self._log(f"STEP {number}/{len(steps)} {step.title} ...")
            try:
                ok, detail = step.action()
            except Exception as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
                if number == 1 and hasattr(exc, "response"):
                    # AWS answered with an error: the request was refused, nothing changed.
                    self._log(f"FAIL {step.title}: {detail}")
                    self._log("ABORT AWS refused the request: no change made")
                    return Outcome(ABORTED, False, old_region, None)
            took = self.clock() - step_start
            if not ok:
                self._log(f"FAIL {number}/{len(steps)} after {took:.1f}s: {detail}")
                self._log(
                    "ATTENTION the change was requested but is not verified: run "
                    "`python -m dr status` now; do not change the stack config until it is"
                )
                return Outcome(UNVERIFIED, True, old_region, target.region)
            self._log(f"DONE {number}/{len(steps)} in {took:.1f}s: {detail}")
        total = self.clock() - started
        self._log(f"COMPLETE {kind}: {target.region} is the writer ({total:.1f}s after request)")
        if kind == "failover" and total >= RTO_TARGET_S:
            self._log(
                f"NOTE promotion and verification took {total:.0f}s, not below the "
                f"{RTO_TARGET_S:.0f}s RTO: AWS does not guarantee Aurora promotion time "
                "(docs/dr.md); record it in the incident timeline"
            )
        return Outcome(OK, True, old_region, target.region)

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

    # --- steps ---------------------------------------------------------------------------
    def _steps(
        self, kind: Kind, gc: GlobalCluster, source: Member | None, target: Member
    ) -> list[_Step]:
        def request() -> tuple[bool, str]:
            if kind == "switchover":
                self.aws.switchover(gc.identifier, target.arn)
                return True, "switchover_global_cluster accepted"
            self.aws.failover(gc.identifier, target.arn)
            return True, "failover_global_cluster (AllowDataLoss=True) accepted"

        call = (
            "switchover_global_cluster"
            if kind == "switchover"
            else "failover_global_cluster AllowDataLoss=True"
        )
        steps = [
            _Step(f"request {call} → {target.arn}", request),
            _Step(
                f"wait until {target.cluster_id} is the writer and the global cluster is available",
                lambda: self._wait_for_writer(target),
            ),
            _Step(
                f"wait until cluster {target.cluster_id} is available",
                lambda: self._wait_for_cluster(target),
            ),
            _Step(
                f"new writer in {target.region} accepts writes",
                lambda: self._wait_for_writes(target.region),
            ),
        ]
        if source is not None:
            steps.append(
                _Step(
                    f"old writer in {source.region} is fenced (no longer writer)",
                    lambda: self._check_fenced(source, target),
                )
            )
        return steps

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
