"""The one place that talks to AWS: boto3 clients per (service, region), made lazily and
injectable for tests, plus typed views of what the runbook reads.

Every method either reads or mutates; the two mutating calls (``switchover``/``failover``) are
named as such so a reader can audit the runbook's side effects from this file alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ClientFactory = Callable[[str, str], Any]

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

    # --- mutations (the only two calls that change anything) -----------------------------
    def switchover(self, identifier: str, target_arn: str) -> None:
        """Planned, no data loss: Aurora waits for the target to catch up, then swaps roles."""
        self.client("rds", region_of_arn(target_arn)).switchover_global_cluster(
            GlobalClusterIdentifier=identifier, TargetDbClusterIdentifier=target_arn
        )

    def failover(self, identifier: str, target_arn: str) -> None:
        """Unplanned: promote the target now; what it had not received is lost."""
        self.client("rds", region_of_arn(target_arn)).failover_global_cluster(
            GlobalClusterIdentifier=identifier,
            TargetDbClusterIdentifier=target_arn,
            AllowDataLoss=True,
        )
