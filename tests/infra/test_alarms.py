"""R-OBS-1/R-OBS-2: every SLO alarm with its metric, statistic, threshold and action, per region;
the dashboard built from the same specs."""

from __future__ import annotations

import json
import math
import re

import pytest

from components.alarms import (
    Alarms,
    AlarmsArgs,
    ApiTarget,
    BusinessTarget,
    DatabaseTarget,
    FunctionTarget,
    QueueTarget,
    ReplicationTarget,
    WafTarget,
    alarm_specs,
    dashboard_body,
    replication_specs,
)
from contract import telemetry
from stacks.providers import aws_provider, in_region
from tests.infra.harness import ACCOUNT, ROOT, synthesize

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
US_TOPIC = f"arn:aws:sns:us-west-1:{ACCOUNT}:mobile-backend-prod-alarms"
EDGE_TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:mobile-backend-prod-us-west-1-health"
PREFIX = "mobile-backend-prod-us-west-1"


def full_args(topic_arn: str = US_TOPIC) -> AlarmsArgs:
    """What the lead will pass in prod-us once every tier has landed (realistic values)."""
    return AlarmsArgs(
        topic_arn=topic_arn,
        name_prefix=PREFIX,
        region="us-west-1",
        api=ApiTarget(api_name="mobile-backend-prod-api", stage_name="v1"),
        functions={
            "api": FunctionTarget("mobile-backend-prod-api", 100, 1),
            "subscriber": FunctionTarget("mobile-backend-prod-subscriber", 10, 0),
            "user-migration": FunctionTarget("mobile-backend-prod-user_migration", 0, 0),
        },
        queue=QueueTarget(
            queue_name="mobile-backend-prod-events",
            dead_letter_queue_names=[
                "mobile-backend-prod-events-dlq",
                "mobile-backend-prod-events-delivery-dlq",
            ],
        ),
        database=DatabaseTarget(
            cluster_id="mobile-backend-prod-us-west-1",
            max_capacity_acu=8,
            proxy_name="mobile-backend-prod",
            proxy_client_connection_limit=110,
        ),
        replication=[
            ReplicationTarget(
                "us-west-1",
                "mobile-backend-prod-assets-us-west-1",
                "eu-west-1",
                "mobile-backend-prod-assets-eu-west-1",
                "to-eu-west-1",
            ),
            ReplicationTarget(
                "eu-west-1",
                "mobile-backend-prod-assets-eu-west-1",
                "us-west-1",
                "mobile-backend-prod-assets-us-west-1",
                "to-us-west-1",
            ),
        ],
        waf=WafTarget("mobile-backend-prod-api-us-west-1", "us-west-1"),
        business=BusinessTarget(service="subscriber"),
        dashboard_name=PREFIX,
    )


@pytest.fixture(scope="module")
def full():
    def program(settings):
        provider = aws_provider(settings, settings.regional.region)
        alarms = Alarms("slo-alarms", full_args(), opts=in_region(provider))
        return {"keys": list(alarms.alarm_arns)}

    return synthesize("prod-us", program_fn=program)


def alarm(synth, key: str):
    return synth.one(ALARM, lambda a: a.inputs["name"] == f"{PREFIX}-{key}")


def single(synth, key: str) -> tuple[str, str, dict, str, float, str]:
    a = alarm(synth, key).inputs
    stat = a.get("extendedStatistic") or a.get("statistic")
    return (
        a["namespace"],
        a["metricName"],
        a["dimensions"],
        stat,
        a["threshold"],
        a["comparisonOperator"],
    )


def queries(synth, key: str) -> dict[str, dict]:
    return {q["id"]: q for q in alarm(synth, key).inputs["metricQueries"]}


EXPECTED_KEYS = {
    "api-latency-p50",
    "api-latency-p95",
    "api-latency-p99",
    "api-5xx-rate",
    "api-4xx-rate",
    "api-request-anomaly",
    "api-errors",
    "api-throttles",
    "api-concurrency",
    "api-spillover",
    "subscriber-errors",
    "subscriber-throttles",
    "subscriber-concurrency",
    "user-migration-errors",
    "user-migration-throttles",
    "dlq-1-depth",
    "dlq-2-depth",
    "queue-oldest-message",
    "db-rpo-lag",
    "db-replication-lag",
    "db-capacity",
    "db-proxy-connections",
    "s3-replication-failed-to-eu-west-1",
    "s3-replication-latency-from-eu-west-1",
    "waf-blocked-spike",
    "subscriber-duplicate-ratio",
}


def test_every_expected_alarm_exists_once(full):
    names = sorted(a.inputs["name"] for a in full.of_type(ALARM))
    assert names == sorted(f"{PREFIX}-{k}" for k in EXPECTED_KEYS)


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_ok(full):
    anchors = {s.key: s.anchor for s in alarm_specs(full_args())}
    for a in full.of_type(ALARM):
        assert a.inputs["alarmActions"] == [US_TOPIC], a.name
        assert a.inputs["okActions"] == [US_TOPIC], a.name
        assert a.inputs["actionsEnabled"] is True, a.name
        anchor = anchors[a.name.removeprefix("slo-alarms-")]
        assert a.inputs["alarmDescription"].endswith(f"docs/observability.md#{anchor}"), a.name
        assert full.region_of(a) == "us-west-1", a.name


@pytest.mark.parametrize(("pct", "ms"), [("p50", 100), ("p95", 300), ("p99", 500)])
def test_latency_slo_alarms(full, pct, ms):
    dims = {"ApiName": "mobile-backend-prod-api", "Stage": "v1"}
    assert single(full, f"api-latency-{pct}") == (
        "AWS/ApiGateway",
        "Latency",
        dims,
        pct,
        ms,
        "GreaterThanThreshold",
    )
    inputs = alarm(full, f"api-latency-{pct}").inputs
    assert "statistic" not in inputs or inputs["statistic"] is None
    assert (inputs["period"], inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (
        60,
        5,
        3,
    )
    assert inputs["treatMissingData"] == "notBreaching"


def test_5xx_rate_uses_guarded_metric_math_against_1_percent(full):
    q = queries(full, "api-5xx-rate")
    assert q["num"]["metric"]["metricName"] == "5XXError"
    assert q["den"]["metric"]["metricName"] == "Count"
    assert {q["num"]["metric"]["stat"], q["den"]["metric"]["stat"]} == {"Sum"}
    assert q["rate"]["expression"] == "IF(den > 0, 100 * num / den, 0)"
    assert q["rate"]["returnData"] is True
    assert alarm(full, "api-5xx-rate").inputs["threshold"] == 1
    assert queries(full, "api-4xx-rate")["num"]["metric"]["metricName"] == "4XXError"


def test_request_count_anomaly_band_has_width_two(full):
    inputs = alarm(full, "api-request-anomaly").inputs
    q = {x["id"]: x for x in inputs["metricQueries"]}
    assert q["ad1"]["expression"] == "ANOMALY_DETECTION_BAND(m1, 2)"
    assert q["m1"]["metric"]["metricName"] == "Count"
    assert q["m1"]["metric"]["namespace"] == "AWS/ApiGateway"
    assert inputs["comparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold"
    assert inputs["thresholdMetricId"] == "ad1"
    assert inputs.get("threshold") is None


def test_lambda_alarms_per_function(full):
    api = {"FunctionName": "mobile-backend-prod-api"}
    assert queries(full, "api-errors")["num"]["metric"]["dimensions"] == api
    assert single(full, "api-throttles")[1:] == (
        "Throttles",
        api,
        "Sum",
        0,
        "GreaterThanThreshold",
    )
    # 80 % of reserved concurrency: api 100 → 80, subscriber 10 → 8.
    assert single(full, "api-concurrency")[1:] == (
        "ConcurrentExecutions",
        api,
        "Maximum",
        80,
        "GreaterThanOrEqualToThreshold",
    )
    assert single(full, "subscriber-concurrency")[4] == 8
    assert single(full, "api-spillover")[1:3] == (
        "ProvisionedConcurrencySpilloverInvocations",
        {"FunctionName": "mobile-backend-prod-api", "Resource": "mobile-backend-prod-api:live"},
    )
    # No provisioned concurrency → no spillover alarm; no reservation → no concurrency alarm.
    keys = {a.inputs["name"].removeprefix(f"{PREFIX}-") for a in full.of_type(ALARM)}
    assert "subscriber-spillover" not in keys
    assert "user-migration-concurrency" not in keys


def test_dead_letter_and_queue_age_alarms(full):
    for key, queue in (
        ("dlq-1-depth", "mobile-backend-prod-events-dlq"),
        ("dlq-2-depth", "mobile-backend-prod-events-delivery-dlq"),
    ):
        assert single(full, key) == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": queue},
            "Maximum",
            0,
            "GreaterThanThreshold",
        )
        assert alarm(full, key).inputs["datapointsToAlarm"] == 1
    assert single(full, "queue-oldest-message")[1:5] == (
        "ApproximateAgeOfOldestMessage",
        {"QueueName": "mobile-backend-prod-events"},
        "Maximum",
        300,
    )


def test_database_alarms(full):
    cluster = {"DBClusterIdentifier": "mobile-backend-prod-us-west-1"}
    # Lag metrics are in milliseconds: 30 s RPO = 30000.
    assert single(full, "db-rpo-lag") == (
        "AWS/RDS",
        "AuroraGlobalDBRPOLag",
        cluster,
        "Maximum",
        30000,
        "GreaterThanThreshold",
    )
    assert single(full, "db-replication-lag")[1] == "AuroraGlobalDBReplicationLag"
    assert single(full, "db-capacity")[1:] == (
        "ServerlessDatabaseCapacity",
        cluster,
        "Maximum",
        7.2,
        "GreaterThanOrEqualToThreshold",
    )
    assert single(full, "db-proxy-connections")[1:5] == (
        "ClientConnections",
        {"ProxyName": "mobile-backend-prod"},
        "Maximum",
        88,
    )


def test_lag_alarms_do_not_depend_on_the_role():
    # R-DR-4: a DatabaseTarget has no role; whichever cluster is a secondary publishes.
    args = AlarmsArgs(
        topic_arn="t",
        name_prefix="p",
        region="eu-west-1",
        database=DatabaseTarget("mobile-backend-prod-eu-west-1", 16),
    )
    assert [s.key for s in alarm_specs(args)] == ["db-rpo-lag", "db-replication-lag", "db-capacity"]


@pytest.mark.parametrize("stack", ["prod-eu", "prod-us"])
def test_every_region_watches_its_own_clusters_lag_in_either_role(regional_synths, stack):
    # GIVEN the synthesized writer (EU) and secondary (US) regions
    synth = regional_synths[stack]
    cluster = synth.one("aws:rds/cluster:Cluster").inputs["clusterIdentifier"]
    alarms = {
        r.inputs["metricName"]: r.inputs
        for r in synth.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r.inputs.get("namespace") == "AWS/RDS" and "GlobalDB" in r.inputs.get("metricName", "")
    }
    # THEN both lag alarms watch this region's cluster at the RPO, in the region's own
    # CloudWatch, and a silent metric (the writer publishes none) is not an alarm
    assert sorted(alarms) == ["AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"], stack
    for metric, inputs in alarms.items():
        assert inputs["dimensions"] == {"DBClusterIdentifier": cluster}, (stack, metric)
        assert inputs["threshold"] == 30000, (stack, metric)
        assert inputs["treatMissingData"] == "notBreaching", (stack, metric)
        assert inputs["alarmActions"] and inputs["okActions"], (stack, metric)


def test_replication_waf_and_business_alarms(full):
    # us-west-1 holds the failures of what leaves it and the latency of what arrives in it:
    # S3 publishes each metric in that region only.
    assert single(full, "s3-replication-failed-to-eu-west-1") == (
        "AWS/S3",
        "OperationsFailedReplication",
        {
            "SourceBucket": "mobile-backend-prod-assets-us-west-1",
            "DestinationBucket": "mobile-backend-prod-assets-eu-west-1",
            "RuleId": "to-eu-west-1",
        },
        "Sum",
        0,
        "GreaterThanThreshold",
    )
    assert single(full, "s3-replication-latency-from-eu-west-1") == (
        "AWS/S3",
        "ReplicationLatency",
        {
            "SourceBucket": "mobile-backend-prod-assets-eu-west-1",
            "DestinationBucket": "mobile-backend-prod-assets-us-west-1",
            "RuleId": "to-us-west-1",
        },
        "Maximum",
        900,
        "GreaterThanThreshold",
    )
    waf = alarm(full, "waf-blocked-spike").inputs
    m1 = next(q for q in waf["metricQueries"] if q["id"] == "m1")["metric"]
    assert (m1["namespace"], m1["metricName"]) == ("AWS/WAFV2", "BlockedRequests")
    assert m1["dimensions"] == {
        "WebACL": "mobile-backend-prod-api-us-west-1",
        "Region": "us-west-1",
        "Rule": "ALL",
    }
    assert waf["comparisonOperator"] == "GreaterThanUpperThreshold"
    dup = queries(full, "subscriber-duplicate-ratio")
    assert dup["dup"]["metric"]["namespace"] == telemetry.METRICS_NAMESPACE == "MobileBackend"
    assert dup["dup"]["metric"]["metricName"] == "DuplicateMessagesSkipped"
    assert dup["applied"]["metric"]["metricName"] == "MessagesApplied"
    assert dup["dup"]["metric"]["dimensions"] == {"service": "subscriber"}


def test_health_check_alarms_live_in_us_east_1_with_that_regions_topic():
    def program(settings):
        edge = aws_provider(settings, "us-east-1")
        Alarms(
            "health-alarms",
            AlarmsArgs(
                topic_arn=EDGE_TOPIC,
                name_prefix=PREFIX,
                region="us-east-1",
                health_checks={"api": "hc-0123456789"},
            ),
            opts=in_region(edge),
        )
        return {}

    synth = synthesize("prod-us", program_fn=program)
    (health,) = synth.of_type(ALARM)
    assert synth.region_of(health) == "us-east-1"
    assert health.inputs["alarmActions"] == [EDGE_TOPIC]
    assert (health.inputs["namespace"], health.inputs["metricName"]) == (
        "AWS/Route53",
        "HealthCheckStatus",
    )
    assert health.inputs["dimensions"] == {"HealthCheckId": "hc-0123456789"}
    assert (health.inputs["statistic"], health.inputs["threshold"]) == ("Minimum", 1)
    assert health.inputs["comparisonOperator"] == "LessThanThreshold"
    assert health.inputs["treatMissingData"] == "breaching"


def test_dashboard_shows_every_alarmed_metric(full):
    dashboard = full.one(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == PREFIX
    body = json.loads(dashboard.inputs["dashboardBody"])
    graphs = {
        w["properties"]["title"]: w["properties"] for w in body["widgets"] if w["type"] == "metric"
    }
    assert set(graphs) == {
        "API SLO",
        "Lambda",
        "Messaging",
        "Database",
        "Replication",
        "Security",
        "Business",
        "Business events",
    }
    assert all(g["region"] == "us-west-1" for g in graphs.values())
    text = json.dumps(body)
    for metric in (
        "Latency",
        "5XXError",
        "ApproximateNumberOfMessagesVisible",
        "AuroraGlobalDBRPOLag",
        "ReplicationLatency",
        "UsersCreated",
        "MessagesApplied",
        "DuplicateMessagesSkipped",
    ):
        assert metric in text, metric
    slo_lines = {a["value"] for a in graphs["API SLO"]["annotations"]["horizontal"]}
    assert {100, 300, 500, 1} <= slo_lines
    (status,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == len(EXPECTED_KEYS)


def test_dashboard_query_ids_are_unique_per_graph():
    specs = [s.as_dict() for s in alarm_specs(full_args())]
    body = dashboard_body("us-west-1", specs, [])
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        ids = [line[-1]["id"] for line in widget["properties"]["metrics"] if "id" in line[-1]]
        assert len(ids) == len(set(ids)), widget["properties"]["title"]
        for line in widget["properties"]["metrics"]:
            if "expression" in line[0]:
                referenced = [t for t in ids if t in line[0]["expression"]]
                assert referenced, line


def test_no_groups_no_alarms_and_keys_are_unique():
    assert alarm_specs(AlarmsArgs(topic_arn="t", name_prefix="p", region="r")) == []
    colliding = AlarmsArgs(
        topic_arn="t",
        name_prefix="p",
        region="r",
        functions={"health": FunctionTarget("a", 0)},
        health_checks={"errors": "hc-1"},
    )
    with pytest.raises(ValueError, match=r"repeated: \['health-errors'\]"):
        alarm_specs(colliding)


def test_each_regional_stack_alarms_its_queues_into_its_own_topic(regional_synths):
    for stack, synth in regional_synths.items():
        region = {"prod-eu": "eu-west-1", "prod-us": "us-west-1"}[stack]
        alarms = synth.of_type(ALARM)
        assert alarms, stack
        for a in alarms:
            (action,) = a.inputs["alarmActions"]
            # Route 53 health-check alarms live in us-east-1 with that region's own topic.
            expected = (
                f"arn:aws:sns:us-east-1:{ACCOUNT}:health-alarm-topic-topic"
                if a.name.startswith("health-alarms")
                else f"arn:aws:sns:{region}:{ACCOUNT}:alarms-topic"
            )
            assert action == expected, f"{stack}: {a.name}"
            assert synth.region_of(a) == expected.split(":")[3], f"{stack}: {a.name}"
            assert a.inputs["okActions"] == [action], f"{stack}: {a.name}"
        dlq_alarms = {
            a.inputs["dimensions"]["QueueName"]
            for a in alarms
            if a.inputs.get("metricName") == "ApproximateNumberOfMessagesVisible"
        }
        assert dlq_alarms == {
            "mobile-backend-prod-events-dlq",
            "mobile-backend-prod-events-delivery-dlq",
        }, stack
        dashboard = synth.one(DASHBOARD)
        assert dashboard.inputs["dashboardName"] == f"mobile-backend-prod-{region}"


def test_each_region_has_a_us_east_1_topic_for_its_health_check_alarms(regional_synths):
    for stack, synth in regional_synths.items():
        topic = synth.one("aws:sns/topic:Topic", lambda t: t.name == "health-alarm-topic-topic")
        assert synth.region_of(topic) == "us-east-1", stack
        assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:us-east-1:"), stack
        alias = synth.one("aws:kms/alias:Alias", lambda a: a.name.startswith("health-keys"))
        region = synth.config["aws:region"]
        assert alias.inputs["name"] == f"alias/mobile-backend/prod/{region}-health/messaging"
        assert synth.outputs["healthAlarmTopicArn"].startswith("arn:aws:sns:us-east-1:")


def test_runbook_has_an_entry_for_every_alarm():
    text = (ROOT / "docs" / "observability.md").read_text()
    anchors = set(re.findall(r"^#### ([a-z0-9-]+)$", text, re.MULTILINE))
    anchors |= set(re.findall(r'<a id="([a-z0-9-]+)"></a>', text))
    keys = {s.anchor for s in alarm_specs(full_args())} | {"health-api"}
    keys |= {f"{fn}-spillover" for fn in ("subscriber", "user-migration")}
    assert sorted(keys - anchors) == []


def test_every_deployed_alarm_links_to_a_runbook_entry(all_synths):
    text = (ROOT / "docs" / "observability.md").read_text()
    anchors = set(re.findall(r"^#### ([a-z0-9-]+)$", text, re.MULTILINE))
    anchors |= set(re.findall(r'<a id="([a-z0-9-]+)"></a>', text))
    for stack, synth in all_synths.items():
        alarms = synth.of_type(ALARM)
        assert alarms, stack
        for a in alarms:
            link = a.inputs["alarmDescription"].rsplit("Runbook: ", 1)[-1]
            if "#" not in link:  # the composite alarm names the runbook, no single entry
                continue
            page, anchor = link.split("#")
            assert page == "docs/observability.md", a.inputs["name"]
            assert anchor in anchors, f"{stack}: {a.inputs['name']} links to a missing entry"


def test_proxy_connection_alarm_counts_every_database_function(regional_synths):
    # One proxy connection per container: the ceiling is the reserved concurrency of the
    # in-VPC functions (Pulumi.prod-*.yaml: api + subscriber + user_directory).
    ceilings = {"prod-eu": 200 + 20 + 20, "prod-us": 100 + 10 + 10}
    for stack, synth in regional_synths.items():
        (proxy,) = [
            a.inputs
            for a in synth.of_type(ALARM)
            if a.inputs.get("metricName") == "ClientConnections"
        ]
        assert proxy["threshold"] == math.ceil(0.8 * ceilings[stack]), stack
        throttled = {
            a.inputs["dimensions"]["FunctionName"]
            for a in synth.of_type(ALARM)
            if a.inputs.get("metricName") == "Throttles"
        }
        assert "mobile-backend-prod-user-directory" in throttled, stack


# --- S3 replication alarms: declared by the global stack, which owns the replication ---------
def replication_directions(synth) -> list[tuple[str, str, str, str, str]]:
    """(source region, source bucket, destination region, destination bucket, rule id) of every
    rule the storage component configures, read off the synthesized resources."""
    buckets = synth.of_type("aws:s3/bucket:Bucket")
    by_id = {b.mock_id: b for b in buckets}
    by_arn = {b.outputs["arn"]: b for b in buckets}
    directions = []
    for config in synth.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        source = by_id[config.inputs["bucket"]]
        for rule in config.inputs["rules"]:
            destination = by_arn[rule["destination"]["bucket"]]
            directions.append(
                (
                    synth.region_of(source),
                    source.inputs["bucket"],
                    synth.region_of(destination),
                    destination.inputs["bucket"],
                    rule["id"],
                )
            )
    return directions


def test_global_stack_alarms_each_replication_direction_where_s3_publishes(global_synth):
    directions = replication_directions(global_synth)
    assert sorted((src, dst) for src, _, dst, _, _ in directions) == [
        ("eu-west-1", "us-west-1"),
        ("us-west-1", "eu-west-1"),
    ]
    alarms = {a.inputs["name"]: a for a in global_synth.of_type(ALARM)}
    expected = {}
    for src, src_bucket, dst, dst_bucket, rule_id in directions:
        dims = {"SourceBucket": src_bucket, "DestinationBucket": dst_bucket, "RuleId": rule_id}
        # Failures are published in the source bucket's region, latency in the destination's.
        expected[f"mobile-backend-prod-{src}-s3-replication-failed-to-{dst}"] = (
            src,
            ("OperationsFailedReplication", dims, "Sum", 0, 1, 1),
        )
        expected[f"mobile-backend-prod-{dst}-s3-replication-latency-from-{src}"] = (
            dst,
            ("ReplicationLatency", dims, "Maximum", 900, 5, 3),
        )
    assert sorted(alarms) == sorted(expected)
    for name, (region, metric) in expected.items():
        a = alarms[name].inputs
        assert global_synth.region_of(alarms[name]) == region, name
        assert a["namespace"] == "AWS/S3", name
        assert (
            a["metricName"],
            a["dimensions"],
            a["statistic"],
            a["threshold"],
            a["evaluationPeriods"],
            a["datapointsToAlarm"],
        ) == metric, name
        assert (a["period"], a["comparisonOperator"]) == (60, "GreaterThanThreshold"), name
        # S3 reports only while it replicates: a quiet minute must not clear the alarm.
        assert a["treatMissingData"] == "ignore", name


def test_replication_alarms_notify_an_encrypted_topic_in_their_own_region(global_synth):
    email = global_synth.config["mobile-backend:alarmEmail"]
    topics = {t.outputs["arn"]: t for t in global_synth.of_type("aws:sns/topic:Topic")}
    keys = {k.outputs["arn"]: k for k in global_synth.of_type("aws:kms/key:Key")}
    subscriptions = global_synth.of_type("aws:sns/topicSubscription:TopicSubscription")
    notified = set()
    for a in global_synth.of_type(ALARM):
        region = global_synth.region_of(a)
        (action,) = a.inputs["alarmActions"]
        assert a.inputs["okActions"] == [action], a.name
        assert a.inputs["actionsEnabled"] is True, a.name
        topic = topics[action]
        # CloudWatch can only notify a topic of the alarm's own region.
        assert global_synth.region_of(topic) == region, a.name
        key = keys[topic.inputs["kmsMasterKeyId"]]
        assert global_synth.region_of(key) == region, a.name
        assert key.inputs["enableKeyRotation"] is True
        policy = json.loads(key.inputs["policy"])
        services = {
            svc
            for st in policy["Statement"]
            for svc in (st.get("Principal", {}).get("Service") or [])
        }
        assert "cloudwatch.amazonaws.com" in services, key.name
        assert [
            (s.inputs["protocol"], s.inputs["endpoint"])
            for s in subscriptions
            if s.inputs["topic"] == action
        ] == [("email", email)], topic.name
        notified.add(region)
    assert notified == {"eu-west-1", "us-west-1"}


def test_replication_alarm_topics_are_kms_aliased_apart_from_the_regional_stacks(
    global_synth, regional_synths
):
    names = {
        (global_synth.region_of(a), a.inputs["name"])
        for a in global_synth.of_type("aws:kms/alias:Alias")
    }
    assert {n for r, n in names if "replication-alarms" in n} == {
        "alias/mobile-backend/prod/replication-alarms/messaging"
    }
    # Alarm names and KMS aliases are unique per account and region, across all three stacks.
    for typ in (ALARM, "aws:kms/alias:Alias"):
        seen = []
        for synth in (global_synth, *regional_synths.values()):
            seen += [(synth.region_of(r), r.inputs["name"]) for r in synth.of_type(typ)]
        assert len(seen) == len(set(seen)), typ


def test_replication_specs_place_each_metric_in_its_publishing_region():
    def pair(src: str, dst: str) -> ReplicationTarget:
        return ReplicationTarget(src, f"b-{src}", dst, f"b-{dst}", f"to-{dst}")

    # Three regions: eu-west-1 replicates to two peers and receives from both.
    pairs = [
        pair(s, d)
        for s in ("eu-west-1", "us-west-1", "ap-south-1")
        for d in ("eu-west-1", "us-west-1", "ap-south-1")
        if s != d
    ]
    eu = [p for p in pairs if "eu-west-1" in (p.source_region, p.destination_region)]
    specs = {s.key: s for s in replication_specs("eu-west-1", eu)}
    assert sorted(specs) == [
        "s3-replication-failed-to-ap-south-1",
        "s3-replication-failed-to-us-west-1",
        "s3-replication-latency-from-ap-south-1",
        "s3-replication-latency-from-us-west-1",
    ]
    failed = specs["s3-replication-failed-to-us-west-1"]
    assert dict(failed.metric.dimensions) == {
        "SourceBucket": "b-eu-west-1",
        "DestinationBucket": "b-us-west-1",
        "RuleId": "to-us-west-1",
    }
    assert failed.anchor == "s3-replication-failed"
    latency = specs["s3-replication-latency-from-ap-south-1"]
    assert latency.metric.dimensions["SourceBucket"] == "b-ap-south-1"
    assert latency.anchor == "s3-replication-latency"
    with pytest.raises(
        ValueError, match=r"us-west-1 → ap-south-1 publishes no metric in eu-west-1"
    ):
        replication_specs("eu-west-1", [pair("us-west-1", "ap-south-1")])
