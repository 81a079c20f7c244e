"""The one place that talks to AWS: boto3 clients per (service, region), made lazily and
injectable for tests, plus typed views of what the runbook reads.

Every method either reads or mutates. The runbook changes nothing itself: it starts an ARC
Region switch plan execution and, when asked, approves its approval step; those two calls
(``start_execution``, ``approve_step``) are the whole list of AWS side effects, named as such
so a reader can audit them from this file alone. ARC calls go to the ARC data plane of a
region the plan keeps (never the one it abandons, never the us-east-1 control plane).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ClientFactory = Callable[[str, str], Any]
ARC = "arc-region-switch"

# Route 53 is a global service whose API lives in us-east-1.
ROUTE53_REGION = "us-east-1"
LAG_METRICS = ("AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag")
IN_PROGRESS_FAILOVER = frozenset({"pending", "failing-over", "cancelling"})


def region_of_arn(arn: str) -> str:
    """``arn:aws:rds:us-west-1:123:cluster:name`` → ``us-west-1``."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not a regional ARN")
    return parts[3]


def cluster_id_of_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Member:
    arn: str
    is_writer: bool
    sync_status: str | None
    write_forwarding: str | None

    @property
    def region(self) -> str:
        return region_of_arn(self.arn)

    @property
    def cluster_id(self) -> str:
        return cluster_id_of_arn(self.arn)


@dataclass(frozen=True)
class GlobalCluster:
    identifier: str
    status: str
    engine_version: str | None
    members: tuple[Member, ...]
    failover_status: str | None
    failover_to: str | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> GlobalCluster:
        state = raw.get("FailoverState") or {}
        return cls(
            identifier=raw["GlobalClusterIdentifier"],
            status=raw.get("Status", "unknown"),
            engine_version=raw.get("EngineVersion"),
            members=tuple(
                Member(
                    arn=m["DBClusterArn"],
                    is_writer=bool(m.get("IsWriter")),
                    sync_status=m.get("SynchronizationStatus"),
                    write_forwarding=m.get("GlobalWriteForwardingStatus"),
                )
                for m in raw.get("GlobalClusterMembers", [])
            ),
            failover_status=state.get("Status"),
            failover_to=state.get("ToDbClusterArn"),
        )

    @property
    def writer(self) -> Member | None:
        return next((m for m in self.members if m.is_writer), None)

    def member_in(self, region: str) -> Member | None:
        return next((m for m in self.members if m.region == region), None)

    @property
    def failover_in_progress(self) -> bool:
        return self.failover_status in IN_PROGRESS_FAILOVER


@dataclass(frozen=True)
class Cluster:
    arn: str
    status: str
    engine_version: str


@dataclass(frozen=True)
class Lag:
    metric: str
    seconds: float
    at: datetime


@dataclass(frozen=True)
class HealthStatus:
    healthy: int
    total: int

    @property
    def label(self) -> str:
        if self.total == 0:
            return "no observations"
        # Route 53 calls an endpoint healthy when more than 18 % of its checkers say so.
        state = "healthy" if self.healthy / self.total > 0.18 else "unhealthy"
        return f"{state} ({self.healthy}/{self.total} checkers OK)"


@dataclass(frozen=True)
class PlanStep:
    name: str
    block: str
    timeout_minutes: int | None
    description: str


@dataclass(frozen=True)
class PlanWorkflow:
    action: str
    region: str | None
    steps: tuple[PlanStep, ...]


@dataclass(frozen=True)
class Plan:
    """A Region switch plan as ARC holds it (``GetPlanInRegion``)."""

    arn: str
    name: str
    regions: tuple[str, ...]
    recovery_time_objective_minutes: int | None
    workflows: tuple[PlanWorkflow, ...]

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Plan:
        workflows = []
        for flow in raw.get("workflows", []):
            steps = []
            for step in flow.get("steps", []):
                config = next(iter((step.get("executionBlockConfiguration") or {}).values()), {})
                steps.append(
                    PlanStep(
                        name=step["name"],
                        block=step["executionBlockType"],
                        timeout_minutes=config.get("timeoutMinutes"),
                        description=step.get("description", ""),
                    )
                )
            workflows.append(
                PlanWorkflow(
                    flow["workflowTargetAction"], flow.get("workflowTargetRegion"), tuple(steps)
                )
            )
        return cls(
            arn=raw["arn"],
            name=raw["name"],
            regions=tuple(raw.get("regions", [])),
            recovery_time_objective_minutes=raw.get("recoveryTimeObjectiveMinutes"),
            workflows=tuple(workflows),
        )

    def workflow(self, action: str, region: str) -> PlanWorkflow | None:
        return next(
            (w for w in self.workflows if w.action == action and w.region in (region, None)),
            None,
        )


@dataclass(frozen=True)
class PlanHealthCheck:
    region: str
    health_check_id: str | None
    status: str


@dataclass(frozen=True)
class StepState:
    name: str
    status: str
    started: datetime | None
    ended: datetime | None


# Execution states (ARC API). Success: the workflow ran to its end.
SUCCEEDED = frozenset({"completed", "completedMonitoringApplicationHealth"})
FINISHED_WITH_EXCEPTIONS = "completedWithExceptions"
STOPPED = frozenset(
    {"failed", "canceled", "planExecutionTimedOut", "pausedByFailedStep", "pausedByOperator"}
)
PENDING_APPROVAL = "pendingManualApproval"


@dataclass(frozen=True)
class Execution:
    execution_id: str
    state: str
    action: str
    mode: str
    region: str
    started: datetime | None
    ended: datetime | None
    comment: str | None
    actual_recovery_time: str | None
    steps: tuple[StepState, ...]

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Execution:
        return cls(
            execution_id=raw["executionId"],
            state=raw["executionState"],
            action=raw["executionAction"],
            mode=raw["mode"],
            region=raw["executionRegion"],
            started=raw.get("startTime"),
            ended=raw.get("endTime"),
            comment=raw.get("comment"),
            actual_recovery_time=raw.get("actualRecoveryTime"),
            steps=tuple(
                StepState(
                    s["name"], s.get("status", "notStarted"), s.get("startTime"), s.get("endTime")
                )
                for s in raw.get("stepStates", [])
                if "name" in s
            ),
        )

    @property
    def finished(self) -> bool:
        return (
            self.state in SUCCEEDED
            or self.state in STOPPED
            or (self.state == FINISHED_WITH_EXCEPTIONS)
        )

    @property
    def succeeded(self) -> bool:
        return self.state in SUCCEEDED

    def pending_approval(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps if s.status == "pendingApproval")


def _boto3_client(service: str, region: str) -> Any:
    import boto3  # deferred: ~150 ms, and `--help` or the budget need none of it
    from botocore.config import Config

    # Fail fast on a lost region instead of botocore's default 60 s x retries.
    config = Config(
        connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 2}
    )
    return boto3.client(service, region_name=region, config=config)


class Aws:
    """boto3 clients per (service, region), created on first use and then reused."""

    def __init__(self, client_factory: ClientFactory | None = None):
        self._factory = client_factory or _boto3_client
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._factory(service, region)
        return self._clients[key]

    # --- reads -------------------------------------------------------------------------
    def global_cluster(self, identifier: str, *, region: str) -> GlobalCluster:
        raw = self.client("rds", region).describe_global_clusters(
            GlobalClusterIdentifier=identifier
        )
        # Match the identifier ourselves: an API (or a fake of it) that ignores the filter
        # must not make us act on the wrong global cluster.
        found = [
            c
            for c in raw.get("GlobalClusters", [])
            if c.get("GlobalClusterIdentifier") == identifier
        ]
        if not found:
            raise LookupError(f"global cluster {identifier!r} not found (asked {region})")
        return GlobalCluster.parse(found[0])

    def cluster(self, arn: str) -> Cluster:
        raw = self.client("rds", region_of_arn(arn)).describe_db_clusters(DBClusterIdentifier=arn)
        cluster = raw["DBClusters"][0]
        return Cluster(
            arn=cluster.get("DBClusterArn", arn),
            status=cluster.get("Status", "unknown"),
            engine_version=cluster.get("EngineVersion", "unknown"),
        )

    def replication_lag(self, member: Member, *, now: datetime, window_s: int = 300) -> Lag | None:
        """Latest lag of a secondary, from CloudWatch in the secondary's own region (where
        Aurora publishes it): ``AuroraGlobalDBRPOLag``, else ``AuroraGlobalDBReplicationLag``."""
        cloudwatch = self.client("cloudwatch", member.region)
        for metric in LAG_METRICS:
            raw = cloudwatch.get_metric_statistics(
                Namespace="AWS/RDS",
                MetricName=metric,
                Dimensions=[{"Name": "DBClusterIdentifier", "Value": member.cluster_id}],
                StartTime=now - timedelta(seconds=window_s),
                EndTime=now,
                Period=60,
                Statistics=["Maximum"],
            )
            points = raw.get("Datapoints", [])
            if points:
                latest = max(points, key=lambda p: p["Timestamp"])
                # Both metrics are published in milliseconds.
                return Lag(metric, latest["Maximum"] / 1000.0, latest["Timestamp"])
        return None

    def health_check(self, health_check_id: str) -> HealthStatus:
        raw = self.client("route53", ROUTE53_REGION).get_health_check_status(
            HealthCheckId=health_check_id
        )
        observations = raw.get("HealthCheckObservations", [])
        healthy = sum(
            1
            for o in observations
            if o.get("StatusReport", {}).get("Status", "").startswith("Success")
        )
        return HealthStatus(healthy=healthy, total=len(observations))

    # --- ARC Region switch: reads ------------------------------------------------------------
    def plan(self, arn: str, *, region: str) -> Plan:
        raw = self.client(ARC, region).get_plan_in_region(arn=arn)
        return Plan.parse(raw["plan"])

    def plan_health_checks(self, arn: str, *, region: str) -> tuple[PlanHealthCheck, ...]:
        """The Route 53 health checks the plan created, with the status ARC set."""
        found: list[PlanHealthCheck] = []
        kwargs: dict[str, Any] = {"arn": arn}
        while True:
            raw = self.client(ARC, region).list_route53_health_checks_in_region(**kwargs)
            found += [
                PlanHealthCheck(
                    region=c["region"],
                    health_check_id=c.get("healthCheckId"),
                    status=c.get("status", "unknown"),
                )
                for c in raw.get("healthChecks", [])
            ]
            if not raw.get("nextToken"):
                return tuple(found)
            kwargs["nextToken"] = raw["nextToken"]

    def execution(self, plan_arn: str, execution_id: str, *, region: str) -> Execution:
        raw = self.client(ARC, region).get_plan_execution(
            planArn=plan_arn, executionId=execution_id
        )
        return Execution.parse(raw)

    def executions(self, plan_arn: str, *, region: str, limit: int = 20) -> tuple[Execution, ...]:
        raw = self.client(ARC, region).list_plan_executions(planArn=plan_arn, maxResults=limit)
        return tuple(Execution.parse(item) for item in raw.get("items", []))

    # --- mutations (the only two calls that change anything) -----------------------------
    def start_execution(
        self,
        plan_arn: str,
        *,
        target_region: str,
        action: str,
        ungraceful: bool,
        comment: str,
        region: str,
    ) -> str:
        """Start a plan execution (ARC then runs the workflow's steps); returns its id."""
        raw = self.client(ARC, region).start_plan_execution(
            planArn=plan_arn,
            targetRegion=target_region,
            action=action,
            mode="ungraceful" if ungraceful else "graceful",
            comment=comment[:1024],
        )
        return raw["executionId"]

    def approve_step(
        self, plan_arn: str, execution_id: str, step: str, *, approve: bool, region: str
    ) -> None:
        """Approve (or decline) a manual-approval step; needs the plan's approval role."""
        self.client(ARC, region).approve_plan_execution_step(
            planArn=plan_arn,
            executionId=execution_id,
            stepName=step,
            approval="approve" if approve else "decline",
            comment="python -m dr",
        )
