"""SLO and health alarms and the region's dashboard (R-OBS-2).

What to watch is plain data: ``alarm_specs(args)`` turns the optional target groups (API,
functions, queue, database, S3 replication, WAF, Route 53 health checks, business metrics)
into ``AlarmSpec`` values, and ``dashboard_body`` renders a dashboard from the same specs, so
every alarmed metric is also on the dashboard. ``Alarms`` only declares one ``MetricAlarm``
per spec, each notifying the given alarm topic on ALARM and on OK (R-OBS-1), plus the
dashboard. Every group is optional so each tier's targets can be connected as they land; an
instance creates alarms in its provider's region (Route 53 health-check metrics exist only in
us-east-1, so those alarms get their own instance and topic there; S3 replication metrics
exist only in the replicated buckets' regions, and the global stack that owns the buckets
declares those alarms, see ``components/replication_alarms.py``).

Custom metrics are the handlers' Powertools EMF metrics: namespace and metric names come from
``contract.telemetry``, the same constants the handlers publish with.

Thresholds are the design's SLOs (latency p50/p95/p99 100/300/500 ms, failure rate < 1 %,
RPO ≤ 30 s, traffic within a 2-standard-deviation band); the rest are documented with the
operator's response in ``docs/observability.md`` (each alarm's description links there).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from contract import names, telemetry

RUNBOOK = "docs/observability.md"

# One-minute data, alarm when 3 of the last 5 minutes breach: a single slow minute (a cold
# start burst, a deploy) does not page; a sustained breach pages within ~3 minutes.
PERIOD = 60
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3

LATENCY_SLO_MS = {"p50": 100, "p95": 300, "p99": 500}
FAILURE_RATE_PERCENT = 1
CLIENT_ERROR_RATE_PERCENT = 10
REQUEST_BAND_WIDTH = 2
WAF_BAND_WIDTH = 3
CONCURRENCY_FRACTION = 0.8
DB_CAPACITY_FRACTION = 0.9
PROXY_CONNECTION_FRACTION = 0.8
RPO_LAG_MS = 30_000
OLDEST_MESSAGE_SECONDS = 300
# S3 Replication Time Control promises 15 minutes for 99.99 % of objects.
REPLICATION_LATENCY_SECONDS = 900
DUPLICATE_RATIO_PERCENT = 20

# Keys other components name alarms by (the Region switch plans associate them by ARN).
API_5XX_KEY = "api-5xx-rate"
RPO_LAG_KEY = "db-rpo-lag"
REPLICATION_LAG_KEY = "db-replication-lag"
# Global-database lag metrics, in milliseconds, published by whichever cluster is a secondary.
LAG_METRICS = {
    RPO_LAG_KEY: "AuroraGlobalDBRPOLag",
    REPLICATION_LAG_KEY: "AuroraGlobalDBReplicationLag",
}


def alarm_name(name_prefix: str, key: str) -> str:
    """``<name_prefix>-<key>``, e.g. ``mobile-backend-prod-eu-west-1-api-p99``."""
    return f"{name_prefix}-{key}"


def health_alarm_key(label: str) -> str:
    return f"health-{label}"


@dataclass(frozen=True)
class ApiTarget:
    api_name: pulumi.Input[str]
    stage_name: pulumi.Input[str]


@dataclass(frozen=True)
class FunctionTarget:
    function_name: str
    reserved_concurrency: int
    provisioned_concurrency: int = 0
    alias: str = names.LIVE_ALIAS
    # Invoked now and then (a deploy, a rotation step): one failed invocation is an incident,
    # and a rate over 3 of 5 minutes would never see it.
    rare: bool = False


@dataclass(frozen=True)
class QueueTarget:
    queue_name: pulumi.Input[str]
    # Every dead-letter queue to watch: any message in one is an accepted write not applied.
    dead_letter_queue_names: Sequence[pulumi.Input[str]]
    oldest_message_seconds: int = OLDEST_MESSAGE_SECONDS


@dataclass(frozen=True)
class DatabaseTarget:
    cluster_id: pulumi.Input[str]
    max_capacity_acu: float
    proxy_name: pulumi.Input[str] | None = None
    # Client connections the proxy is expected to carry at most (e.g. the summed reserved
    # concurrency of the VPC functions: one connection per container, R-DATA-5).
    proxy_client_connection_limit: int | None = None


@dataclass(frozen=True)
class ReplicationTarget:
    """One direction of an S3 replication, named as S3 names it in the metric dimensions
    (``SourceBucket``, ``DestinationBucket``, ``RuleId``)."""

    source_region: str
    source_bucket: pulumi.Input[str]
    destination_region: str
    destination_bucket: pulumi.Input[str]
    rule_id: pulumi.Input[str]


@dataclass(frozen=True)
class WafTarget:
    web_acl_name: pulumi.Input[str]
    # The protected resource's region; None for a CLOUDFRONT web ACL, whose metrics (in
    # us-east-1) carry no Region dimension.
    region: str | None


@dataclass(frozen=True)
class CloudFrontTarget:
    distribution_id: pulumi.Input[str]


@dataclass(frozen=True)
class BusinessTarget:
    # Powertools adds a ``service`` dimension (POWERTOOLS_SERVICE_NAME) to every EMF metric.
    service: str
    namespace: str = telemetry.METRICS_NAMESPACE


@dataclass(frozen=True)
class AlarmsArgs:
    topic_arn: pulumi.Input[str]
    # Alarm names are ``<name_prefix>-<key>``, e.g. ``mobile-backend-prod-eu-west-1-api-p99``.
    name_prefix: str
    region: str
    api: ApiTarget | None = None
    functions: Mapping[str, FunctionTarget] = field(default_factory=dict)
    queue: QueueTarget | None = None
    database: DatabaseTarget | None = None
    # Directions whose source or destination bucket is in ``region`` (see replication_specs).
    replication: Sequence[ReplicationTarget] = ()
    waf: WafTarget | None = None
    # CloudFront publishes its metrics in us-east-1 only.
    cloudfront: CloudFrontTarget | None = None
    # label → Route 53 health check id; metrics exist only in us-east-1.
    health_checks: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    business: BusinessTarget | None = None
    # A dashboard named so is created from the same specs; None for no dashboard.
    dashboard_name: str | None = None


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    stat: str
    period: int = PERIOD

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "dimensions": dict(self.dimensions),
            "stat": self.stat,
            "period": self.period,
        }


@dataclass(frozen=True)
class Query:
    """One entry of a metric-math alarm: a metric (``metric``) or an ``expression``."""

    id: str
    metric: Metric | None = None
    expression: str | None = None
    label: str | None = None
    return_data: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric.as_dict() if self.metric else None,
            "expression": self.expression,
            "label": self.label,
            "return_data": self.return_data,
        }


@dataclass(frozen=True)
class AlarmSpec:
    key: str
    group: str
    description: str
    threshold: float | None
    comparison: str
    metric: Metric | None = None
    queries: tuple[Query, ...] = ()
    threshold_metric_id: str | None = None
    evaluation_periods: int = EVALUATION_PERIODS
    datapoints_to_alarm: int = DATAPOINTS_TO_ALARM
    treat_missing_data: str = "notBreaching"
    # The runbook entry, when one entry serves keys that name a peer (``…-to-<region>``).
    runbook_anchor: str | None = None

    @property
    def anchor(self) -> str:
        return self.runbook_anchor or self.key

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "metric": self.metric.as_dict() if self.metric else None,
            "queries": [q.as_dict() for q in self.queries],
            "threshold_metric_id": self.threshold_metric_id,
        }


def _rate(
    key: str,
    group: str,
    description: str,
    numerator: Metric,
    denominator: Metric,
    threshold: float,
    **kwargs: Any,
) -> AlarmSpec:
    """``100 * numerator / denominator`` in percent; 0 when there is no traffic at all."""
    return AlarmSpec(
        key=key,
        group=group,
        description=description,
        threshold=threshold,
        comparison="GreaterThanThreshold",
        queries=(
            Query("num", metric=numerator),
            Query("den", metric=denominator),
            Query(
                "rate",
                expression="IF(den > 0, 100 * num / den, 0)",
                label=f"{numerator.name} %",
                return_data=True,
            ),
        ),
        **kwargs,
    )


def _band(
    key: str,
    group: str,
    description: str,
    metric: Metric,
    width: int,
    comparison: str,
    **kwargs: Any,
) -> AlarmSpec:
    return AlarmSpec(
        key=key,
        group=group,
        description=description,
        threshold=None,
        comparison=comparison,
        queries=(
            Query("m1", metric=metric, return_data=True),
            Query(
                "ad1",
                expression=f"ANOMALY_DETECTION_BAND(m1, {width})",
                label=f"{metric.name} (expected band, {width} std dev)",
                return_data=True,
            ),
        ),
        threshold_metric_id="ad1",
        **kwargs,
    )


def api_specs(api: ApiTarget) -> list[AlarmSpec]:
    dims = {"ApiName": api.api_name, "Stage": api.stage_name}

    def metric(name: str, stat: str) -> Metric:
        return Metric("AWS/ApiGateway", name, dims, stat)

    specs = [
        AlarmSpec(
            key=f"api-latency-{pct}",
            group="API SLO",
            description=f"API latency {pct} above the {ms} ms SLO",
            metric=metric("Latency", pct),
            threshold=ms,
            comparison="GreaterThanThreshold",
        )
        for pct, ms in LATENCY_SLO_MS.items()
    ]
    specs.append(
        _rate(
            API_5XX_KEY,
            "API SLO",
            f"API 5XX responses above {FAILURE_RATE_PERCENT} % of requests (failure-rate SLO)",
            metric("5XXError", "Sum"),
            metric("Count", "Sum"),
            FAILURE_RATE_PERCENT,
        )
    )
    specs.append(
        _rate(
            "api-4xx-rate",
            "API SLO",
            f"API 4XX responses above {CLIENT_ERROR_RATE_PERCENT} % for 5 minutes (client "
            "breakage, auth or WAF/validation change)",
            metric("4XXError", "Sum"),
            metric("Count", "Sum"),
            CLIENT_ERROR_RATE_PERCENT,
            datapoints_to_alarm=EVALUATION_PERIODS,
        )
    )
    specs.append(
        _band(
            "api-request-anomaly",
            "API SLO",
            f"API request count outside the expected band ({REQUEST_BAND_WIDTH} std dev)",
            metric("Count", "Sum"),
            REQUEST_BAND_WIDTH,
            "LessThanLowerOrGreaterThanUpperThreshold",
        )
    )
    return specs


def function_specs(key: str, fn: FunctionTarget) -> list[AlarmSpec]:
    dims = {"FunctionName": fn.function_name}
    group = "Lambda"

    def metric(name: str, stat: str, dimensions: Mapping[str, str] = dims) -> Metric:
        return Metric("AWS/Lambda", name, dimensions, stat)

    errors = (
        AlarmSpec(
            key=f"{key}-errors",
            group=group,
            description=f"{fn.function_name}: an invocation failed",
            metric=metric("Errors", "Sum"),
            threshold=0,
            comparison="GreaterThanThreshold",
            evaluation_periods=1,
            datapoints_to_alarm=1,
        )
        if fn.rare
        else _rate(
            f"{key}-errors",
            group,
            f"{fn.function_name}: errors above {FAILURE_RATE_PERCENT} % of invocations",
            metric("Errors", "Sum"),
            metric("Invocations", "Sum"),
            FAILURE_RATE_PERCENT,
        )
    )
    specs = [
        errors,
        AlarmSpec(
            key=f"{key}-throttles",
            group=group,
            description=f"{fn.function_name}: invocations throttled",
            metric=metric("Throttles", "Sum"),
            threshold=0,
            comparison="GreaterThanThreshold",
        ),
    ]
    if fn.reserved_concurrency > 0:
        limit = math.ceil(CONCURRENCY_FRACTION * fn.reserved_concurrency)
        specs.append(
            AlarmSpec(
                key=f"{key}-concurrency",
                group=group,
                description=(
                    f"{fn.function_name}: concurrency at >= {CONCURRENCY_FRACTION:.0%} of its "
                    f"reserved {fn.reserved_concurrency} (throttling is next)"
                ),
                metric=metric("ConcurrentExecutions", "Maximum"),
                threshold=limit,
                comparison="GreaterThanOrEqualToThreshold",
            )
        )
    if fn.provisioned_concurrency > 0:
        alias_dims = {
            "FunctionName": fn.function_name,
            "Resource": f"{fn.function_name}:{fn.alias}",
        }
        specs.append(
            AlarmSpec(
                key=f"{key}-spillover",
                group=group,
                description=(
                    f"{fn.function_name}:{fn.alias}: invocations spill over the provisioned "
                    f"{fn.provisioned_concurrency} (cold starts threaten the latency SLO)"
                ),
                metric=metric("ProvisionedConcurrencySpilloverInvocations", "Sum", alias_dims),
                threshold=0,
                comparison="GreaterThanThreshold",
            )
        )
    return specs


def queue_specs(queue: QueueTarget) -> list[AlarmSpec]:
    specs = [
        AlarmSpec(
            key=f"dlq-{i + 1}-depth" if len(queue.dead_letter_queue_names) > 1 else "dlq-depth",
            group="Messaging",
            description="Messages in a dead-letter queue: accepted writes not applied",
            metric=Metric(
                "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": name}, "Maximum"
            ),
            threshold=0,
            comparison="GreaterThanThreshold",
            # One message is enough: dead letters never heal on their own.
            evaluation_periods=1,
            datapoints_to_alarm=1,
        )
        for i, name in enumerate(queue.dead_letter_queue_names)
    ]
    specs.append(
        AlarmSpec(
            key="queue-oldest-message",
            group="Messaging",
            description=(
                f"Oldest events-queue message older than {queue.oldest_message_seconds} s: the "
                "subscriber is failing, throttled or the writer is unreachable"
            ),
            metric=Metric(
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                {"QueueName": queue.queue_name},
                "Maximum",
            ),
            threshold=queue.oldest_message_seconds,
            comparison="GreaterThanThreshold",
        )
    )
    return specs


def database_specs(db: DatabaseTarget) -> list[AlarmSpec]:
    cluster = {"DBClusterIdentifier": db.cluster_id}
    specs: list[AlarmSpec] = []
    # Declared in every region whatever its role (R-DR-4): a cluster publishes the lag metrics
    # while it is a secondary, so after a switchover the demoted region's alarms start
    # receiving data and the promoted region's fall silent (not breaching), with no redeploy.
    for key, name in LAG_METRICS.items():
        specs.append(
            AlarmSpec(
                key=key,
                group="Database",
                description=f"{name} above the {RPO_LAG_MS // 1000} s RPO",
                # Both metrics are in milliseconds.
                metric=Metric("AWS/RDS", name, cluster, "Maximum"),
                threshold=RPO_LAG_MS,
                comparison="GreaterThanThreshold",
                evaluation_periods=3,
                datapoints_to_alarm=2,
            )
        )
    specs.append(
        AlarmSpec(
            key="db-capacity",
            group="Database",
            description=(
                f"Serverless capacity at >= {DB_CAPACITY_FRACTION:.0%} of the "
                f"{db.max_capacity_acu:g} ACU maximum for 5 minutes"
            ),
            metric=Metric("AWS/RDS", "ServerlessDatabaseCapacity", cluster, "Maximum"),
            threshold=round(DB_CAPACITY_FRACTION * db.max_capacity_acu, 2),
            comparison="GreaterThanOrEqualToThreshold",
            datapoints_to_alarm=EVALUATION_PERIODS,
        )
    )
    if db.proxy_name is not None and db.proxy_client_connection_limit:
        specs.append(
            AlarmSpec(
                key="db-proxy-connections",
                group="Database",
                description=(
                    f"RDS Proxy client connections at >= {PROXY_CONNECTION_FRACTION:.0%} of the "
                    f"expected {db.proxy_client_connection_limit}"
                ),
                metric=Metric(
                    "AWS/RDS", "ClientConnections", {"ProxyName": db.proxy_name}, "Maximum"
                ),
                threshold=math.ceil(PROXY_CONNECTION_FRACTION * db.proxy_client_connection_limit),
                comparison="GreaterThanOrEqualToThreshold",
            )
        )
    return specs


def replication_specs(region: str, pairs: Sequence[ReplicationTarget]) -> list[AlarmSpec]:
    """The replication alarms ``region`` can hold. S3 publishes ``OperationsFailedReplication``
    in the source bucket's region and ``ReplicationLatency`` (like the pending bytes and
    operations) in the destination bucket's ("Using S3 Replication metrics", S3 User Guide):
    an alarm anywhere else never sees a datapoint. So: for each direction leaving ``region``,
    failed operations; for each direction arriving in it, latency. Keys name the peer region,
    one alarm per direction however many peers there are."""
    specs: list[AlarmSpec] = []
    for pair in pairs:
        if region not in (pair.source_region, pair.destination_region):
            raise ValueError(
                f"replication {pair.source_region} → {pair.destination_region} publishes no "
                f"metric in {region}; fix: pass it to the Alarms of its source and destination "
                "regions"
            )
        dims = {
            "SourceBucket": pair.source_bucket,
            "DestinationBucket": pair.destination_bucket,
            "RuleId": pair.rule_id,
        }
        if region == pair.source_region:
            specs.append(
                AlarmSpec(
                    key=f"s3-replication-failed-to-{pair.destination_region}",
                    runbook_anchor="s3-replication-failed",
                    group="Replication",
                    description=(
                        f"S3 objects failed to replicate to {pair.destination_region}; S3 does "
                        "not retry them"
                    ),
                    metric=Metric("AWS/S3", "OperationsFailedReplication", dims, "Sum"),
                    threshold=0,
                    comparison="GreaterThanThreshold",
                    # One failure is an object missing in the peer until someone re-replicates
                    # it (S3 Batch Replication): like a dead letter, it never heals on its own.
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                    # S3 reports this metric only in minutes with replication activity, so a
                    # quiet minute says nothing: the alarm keeps its state until a minute with
                    # replications and no failure (AWS's advice for replication alarms).
                    treat_missing_data="ignore",
                )
            )
        if region == pair.destination_region:
            specs.append(
                AlarmSpec(
                    key=f"s3-replication-latency-from-{pair.source_region}",
                    runbook_anchor="s3-replication-latency",
                    group="Replication",
                    description=(
                        f"S3 replication from {pair.source_region} above the "
                        f"{REPLICATION_LATENCY_SECONDS // 60}-minute Replication Time Control "
                        "threshold"
                    ),
                    # The metric is already an age (the oldest unreplicated object), so 3 of 5
                    # one-minute datapoints only guard against one best-effort outlier: a
                    # stalled replication pages about 18 minutes after the write.
                    metric=Metric("AWS/S3", "ReplicationLatency", dims, "Maximum"),
                    threshold=REPLICATION_LATENCY_SECONDS,
                    comparison="GreaterThanThreshold",
                    treat_missing_data="ignore",
                )
            )
    return specs


def waf_specs(waf: WafTarget) -> list[AlarmSpec]:
    dims = {"WebACL": waf.web_acl_name, "Rule": "ALL"}
    if waf.region is not None:
        dims["Region"] = waf.region
    # Only the upper side matters, and a wider band than the traffic alarm: scanners make
    # blocked requests noisy, and the origin-verify rule blocks every direct hit by design.
    return [
        _band(
            "waf-blocked-spike",
            "Security",
            f"WAF blocked requests above the expected band ({WAF_BAND_WIDTH} std dev)",
            Metric("AWS/WAFV2", "BlockedRequests", dims, "Sum", period=300),
            WAF_BAND_WIDTH,
            "GreaterThanUpperThreshold",
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
    ]


def cloudfront_specs(cloudfront: CloudFrontTarget) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            key="cloudfront-5xx-rate",
            group="Edge",
            description=(
                f"CloudFront 5xx responses above {FAILURE_RATE_PERCENT} % of requests "
                "(failure-rate SLO as viewers see it: origins, failover, edge)"
            ),
            metric=Metric(
                "AWS/CloudFront",
                "5xxErrorRate",
                {"DistributionId": cloudfront.distribution_id, "Region": "Global"},
                "Average",
            ),
            threshold=FAILURE_RATE_PERCENT,
            comparison="GreaterThanThreshold",
        )
    ]


def health_check_specs(health_checks: Mapping[str, pulumi.Input[str]]) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            key=health_alarm_key(label),
            group="Health",
            description=f"Route 53 health check {label} reports unhealthy (failover under way)",
            metric=Metric("AWS/Route53", "HealthCheckStatus", {"HealthCheckId": check}, "Minimum"),
            threshold=1,
            comparison="LessThanThreshold",
            evaluation_periods=1,
            datapoints_to_alarm=1,
            # A health check that stops reporting is as alarming as a failing one.
            treat_missing_data="breaching",
        )
        for label, check in health_checks.items()
    ]


def business_specs(business: BusinessTarget) -> list[AlarmSpec]:
    dims = {telemetry.SERVICE_DIMENSION: business.service}

    def metric(name: str) -> Metric:
        return Metric(business.namespace, name, dims, "Sum", period=300)

    duplicates = metric(telemetry.DUPLICATE_MESSAGES_SKIPPED)
    applied = metric(telemetry.MESSAGES_APPLIED)
    return [
        AlarmSpec(
            key="subscriber-duplicate-ratio",
            group="Business",
            description=(
                f"More than {DUPLICATE_RATIO_PERCENT} % of processed messages were duplicates "
                "for 15 minutes (redelivery loop or client retry storm)"
            ),
            threshold=DUPLICATE_RATIO_PERCENT,
            comparison="GreaterThanThreshold",
            queries=(
                Query("dup", metric=duplicates),
                Query("applied", metric=applied),
                Query(
                    "ratio",
                    expression="IF(dup + applied > 0, 100 * dup / (dup + applied), 0)",
                    label="duplicates %",
                    return_data=True,
                ),
            ),
            evaluation_periods=3,
            datapoints_to_alarm=3,
        )
    ]


def alarm_specs(args: AlarmsArgs) -> list[AlarmSpec]:
    """Every alarm the arguments call for, in a stable order."""
    specs: list[AlarmSpec] = []
    if args.api is not None:
        specs += api_specs(args.api)
    for key, fn in args.functions.items():
        specs += function_specs(key, fn)
    if args.queue is not None:
        specs += queue_specs(args.queue)
    if args.database is not None:
        specs += database_specs(args.database)
    specs += replication_specs(args.region, args.replication)
    if args.waf is not None:
        specs += waf_specs(args.waf)
    if args.cloudfront is not None:
        specs += cloudfront_specs(args.cloudfront)
    specs += health_check_specs(args.health_checks)
    if args.business is not None:
        specs += business_specs(args.business)
    keys = [s.key for s in specs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"alarm keys must be unique, repeated: {duplicates}")
    return specs


def _metric_line(metric: dict[str, Any], extra: dict[str, Any]) -> list[Any]:
    line: list[Any] = [metric["namespace"], metric["name"]]
    for name, value in metric["dimensions"].items():
        line += [name, value]
    return [*line, {"stat": metric["stat"], "period": metric["period"], **extra}]


def dashboard_body(
    region: str,
    specs: Sequence[Mapping[str, Any]],
    alarm_arns: Sequence[str],
    business: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """CloudWatch dashboard JSON from resolved ``AlarmSpec.as_dict()`` values: one graph per
    group with each alarm's metric (and its threshold as a line), plus an alarm-status panel
    and, when given, the business counters (``{"namespace", "service"}``)."""
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "width": 24,
            "height": 2,
            "properties": {
                "markdown": (
                    f"# mobile-backend {region}\n"
                    "SLOs: latency p50 < 100 ms, p95 < 300 ms, p99 < 500 ms; failure rate "
                    f"< 1 %; RPO <= 30 s. Runbook: `{RUNBOOK}`."
                )
            },
        }
    ]
    if alarm_arns:
        widgets.append(
            {
                "type": "alarm",
                "width": 24,
                "height": 4,
                "properties": {"title": "Alarms", "alarms": list(alarm_arns)},
            }
        )
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for spec in specs:
        groups.setdefault(spec["group"], []).append(spec)
    for group, members in groups.items():
        metrics: list[list[Any]] = []
        annotations: list[dict[str, Any]] = []
        for n, spec in enumerate(members):
            if spec["threshold"] is not None:
                annotations.append({"label": spec["key"], "value": spec["threshold"]})
            if spec["metric"] is not None:
                metrics.append(_metric_line(spec["metric"], {"label": spec["key"]}))
                continue
            # Ids must be unique per graph: suffix each alarm's query ids with its position.
            rename = {q["id"]: f"{q['id']}_{n}" for q in spec["queries"]}
            for query in spec["queries"]:
                shown = {"id": rename[query["id"]], "visible": bool(query["return_data"])}
                if query["metric"] is not None:
                    metrics.append(_metric_line(query["metric"], shown))
                    continue
                expression = query["expression"]
                for original, renamed in rename.items():
                    expression = re.sub(rf"\b{original}\b", renamed, expression)
                label = query["label"] or spec["key"]
                metrics.append([{"expression": expression, "label": label, **shown}])
        properties: dict[str, Any] = {
            "title": group,
            "region": region,
            "view": "timeSeries",
            "stacked": False,
            "period": PERIOD,
            "metrics": metrics,
        }
        if annotations:
            properties["annotations"] = {"horizontal": annotations}
        widgets.append({"type": "metric", "width": 12, "height": 6, "properties": properties})
    if business is not None:
        widgets.append(
            {
                "type": "metric",
                "width": 12,
                "height": 6,
                "properties": {
                    "title": "Business events",
                    "region": region,
                    "view": "timeSeries",
                    "stat": "Sum",
                    "period": 300,
                    "metrics": [
                        [
                            business["namespace"],
                            name,
                            telemetry.SERVICE_DIMENSION,
                            business["service"],
                        ]
                        for name in (
                            telemetry.USERS_CREATED,
                            telemetry.MESSAGES_APPLIED,
                            telemetry.DUPLICATE_MESSAGES_SKIPPED,
                            telemetry.MESSAGES_FAILED,
                        )
                    ],
                },
            }
        )
    return {"widgets": widgets}


class Alarms(pulumi.ComponentResource):
    """Creates one ``aws.cloudwatch.MetricAlarm`` per ``alarm_specs(args)`` entry (alarm and
    OK actions: the alarm topic) and, when ``dashboard_name`` is set, an
    ``aws.cloudwatch.Dashboard`` rendered by ``dashboard_body``.

    Attributes: ``alarm_arns`` (key → ARN), ``alarm_names`` (key → name), ``specs``.
    """

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:observability:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.specs = alarm_specs(args)
        self.alarm_arns: dict[str, pulumi.Output[str]] = {}
        self.alarm_names: dict[str, str] = {}
        for spec in self.specs:
            name_of_alarm = alarm_name(args.name_prefix, spec.key)
            common: dict[str, Any] = {
                "name": name_of_alarm,
                "alarm_description": f"{spec.description}. Runbook: {RUNBOOK}#{spec.anchor}",
                "comparison_operator": spec.comparison,
                "evaluation_periods": spec.evaluation_periods,
                "datapoints_to_alarm": spec.datapoints_to_alarm,
                "treat_missing_data": spec.treat_missing_data,
                "alarm_actions": [args.topic_arn],
                "ok_actions": [args.topic_arn],
                "actions_enabled": True,
            }
            if spec.threshold_metric_id is not None:
                common["threshold_metric_id"] = spec.threshold_metric_id
            else:
                common["threshold"] = spec.threshold
            if spec.metric is not None:
                percentile = spec.metric.stat.startswith("p")
                alarm = aws.cloudwatch.MetricAlarm(
                    f"{name}-{spec.key}",
                    namespace=spec.metric.namespace,
                    metric_name=spec.metric.name,
                    dimensions=dict(spec.metric.dimensions),
                    period=spec.metric.period,
                    extended_statistic=spec.metric.stat if percentile else None,
                    statistic=None if percentile else spec.metric.stat,
                    # Percentiles over a handful of requests are noise, not an SLO breach.
                    evaluate_low_sample_count_percentiles="ignore" if percentile else None,
                    opts=child,
                    **common,
                )
            else:
                alarm = aws.cloudwatch.MetricAlarm(
                    f"{name}-{spec.key}",
                    metric_queries=[_query_args(q) for q in spec.queries],
                    opts=child,
                    **common,
                )
            self.alarm_arns[spec.key] = alarm.arn
            self.alarm_names[spec.key] = name_of_alarm

        self.dashboard_name = args.dashboard_name
        if args.dashboard_name is not None:
            business = (
                {"namespace": args.business.namespace, "service": args.business.service}
                if args.business is not None
                else None
            )
            body = pulumi.Output.all(
                [s.as_dict() for s in self.specs], list(self.alarm_arns.values())
            ).apply(lambda v: json.dumps(dashboard_body(args.region, v[0], v[1], business)))
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=args.dashboard_name,
                dashboard_body=body,
                opts=child,
            )
        self.register_outputs({"alarm_arns": self.alarm_arns})


def _query_args(query: Query) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    metric = None
    if query.metric is not None:
        metric = aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=query.metric.namespace,
            metric_name=query.metric.name,
            dimensions=dict(query.metric.dimensions),
            stat=query.metric.stat,
            period=query.metric.period,
        )
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query.id,
        metric=metric,
        expression=query.expression,
        label=query.label,
        return_data=query.return_data,
    )
