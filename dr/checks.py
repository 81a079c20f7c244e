"""Pre-checks before a switchover or failover. They only read; none of them changes anything.

A check that needs the region being abandoned is *degradable*: in a failover that region may
be gone, so its failure is reported (``unreachable``) and the operator may proceed with
``--allow-data-loss``. Everything about the target region is never degradable: promoting a
cluster we cannot see is not a runbook, it is a gamble.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from dr.aws import Aws, Cluster, GlobalCluster, Member

Kind = Literal["switchover", "failover"]
T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    degradable: bool = False

    def line(self) -> str:
        mark = "ok  " if self.ok else ("WARN" if self.degradable else "FAIL")
        return f"{mark} {self.name}: {self.detail}"


@dataclass(frozen=True)
class Findings:
    """What the pre-checks saw: the checks, and the members they resolved (if any)."""

    checks: tuple[Check, ...]
    global_cluster: GlobalCluster | None
    source: Member | None
    target: Member | None

    @property
    def hard_failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok and not c.degradable)

    @property
    def degraded(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok and c.degradable)

    def may_proceed(self, *, allow_data_loss: bool) -> bool:
        if self.hard_failures:
            return False
        return allow_data_loss or not self.degraded


def _attempt(call: Callable[[], T]) -> tuple[T | None, str | None]:
    # Any failure to read (network, auth, throttling, region down) is a finding, not a crash:
    # the caller turns it into a failed check, which aborts before any change.
    try:
        return call(), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def run_prechecks(
    aws: Aws,
    *,
    kind: Kind,
    global_cluster_id: str,
    target_region: str,
    rpo_s: float,
    now: datetime,
) -> Findings:
    checks: list[Check] = []
    # A failover may be needed because the old writer's region is gone: only the target
    # region is asked about the global cluster.
    gc, error = _attempt(lambda: aws.global_cluster(global_cluster_id, region=target_region))
    if gc is None:
        checks.append(Check("global cluster", False, f"cannot describe: {error}"))
        return Findings(tuple(checks), None, None, None)

    idle = gc.status == "available" and not gc.failover_in_progress
    detail = f"{gc.identifier} status {gc.status}"
    detail += (
        f", {gc.failover_status} to {gc.failover_to}"
        if gc.failover_status
        else ", no switchover/failover in progress"
    )
    checks.append(Check("global cluster idle", idle, detail))

    target = gc.member_in(target_region)
    source = gc.writer
    if target is None:
        regions = ", ".join(m.region for m in gc.members) or "none"
        checks.append(
            Check("target member", False, f"no member in {target_region} (members: {regions})")
        )
        return Findings(tuple(checks), gc, source, None)
    if target.is_writer:
        checks.append(Check("target member", False, f"{target.cluster_id} is already the writer"))
        return Findings(tuple(checks), gc, source, target)
    checks.append(Check("target member", True, f"{target.cluster_id} in {target.region}"))
    if source is None:
        checks.append(
            Check(
                "current writer",
                kind == "failover",
                "the global cluster reports no writer member",
                degradable=kind == "failover",
            )
        )
    else:
        checks.append(Check("current writer", True, f"{source.cluster_id} in {source.region}"))

    degradable = kind == "failover"
    target_cluster, error = _attempt(lambda: aws.cluster(target.arn))
    if target_cluster is None:
        checks.append(Check("target cluster available", False, f"cannot describe: {error}"))
    else:
        checks.append(
            Check(
                "target cluster available",
                target_cluster.status == "available",
                f"{target.cluster_id} status {target_cluster.status}",
            )
        )

    source_cluster: Cluster | None = None
    if source is not None:
        source_cluster, error = _attempt(lambda: aws.cluster(source.arn))
        if source_cluster is None:
            checks.append(
                Check(
                    "source region reachable",
                    False,
                    f"{source.region} unreachable ({error})",
                    degradable=degradable,
                )
            )
        else:
            checks.append(
                Check(
                    "source cluster available",
                    source_cluster.status == "available",
                    f"{source.cluster_id} status {source_cluster.status}",
                    degradable=degradable,
                )
            )

    described = {target.arn: target_cluster}
    if source is not None:
        described[source.arn] = source_cluster
    checks.append(_engine_versions(aws, gc, described, degradable))

    sync = target.sync_status
    checks.append(
        Check(
            "target synchronization",
            sync in (None, "connected"),
            f"{sync or 'not reported'}",
            degradable=degradable,
        )
    )

    lag, error = _attempt(lambda: aws.replication_lag(target, now=now))
    if lag is None:
        reason = error or "no AuroraGlobalDBRPOLag/AuroraGlobalDBReplicationLag datapoint in 5 min"
        checks.append(Check("replication lag", False, reason, degradable=degradable))
    else:
        checks.append(
            Check(
                "replication lag",
                lag.seconds <= rpo_s,
                f"{lag.metric} {lag.seconds:.1f} s (RPO {rpo_s:g} s) on {target.cluster_id}",
                degradable=degradable,
            )
        )
    return Findings(tuple(checks), gc, source, target)


def _engine_versions(
    aws: Aws,
    gc: GlobalCluster,
    described: dict[str, Cluster | None],
    degradable: bool,
) -> Check:
    # Members already asked about (reachable or not) are not asked twice.
    versions: dict[str, str] = {}
    unread: list[str] = []
    for member in gc.members:
        if member.arn in described:
            cluster = described[member.arn]
        else:
            cluster, _ = _attempt(lambda m=member: aws.cluster(m.arn))
        if cluster is None:
            unread.append(member.region)
        else:
            versions[member.region] = cluster.engine_version
    detail = ", ".join(f"{region} {version}" for region, version in versions.items())
    if unread:
        detail += f"; unreadable: {', '.join(unread)}"
    same = len(set(versions.values())) <= 1
    return Check(
        "engine versions equal",
        same and not unread,
        detail or "no member readable",
        degradable=degradable,
    )
