"""Pre-checks against moto (describe_global_clusters, describe_db_clusters, CloudWatch): each
failed check aborts before any change, and the world is left as it was."""

from __future__ import annotations

import boto3
import pytest

from dr.aws import Aws
from dr.checks import run_prechecks
from dr.runbook import ABORTED, Runbook
from tests.dr.conftest import (
    EU,
    EU_ARN,
    GLOBAL_ID,
    NOW,
    US,
    US_CLUSTER,
    build_moto_world,
    moto_factory,
    put_lag,
)


@pytest.fixture
def aws(moto_env, recorder) -> Aws:
    return Aws(client_factory=moto_factory(recorder))


def prechecks(aws: Aws, kind="switchover"):
    return run_prechecks(
        aws, kind=kind, global_cluster_id=GLOBAL_ID, target_region=US, rpo_s=30, now=NOW
    )


def writer_arn() -> str:
    raw = boto3.client("rds", region_name=US).describe_global_clusters(
        GlobalClusterIdentifier=GLOBAL_ID
    )
    return next(
        m["DBClusterArn"] for m in raw["GlobalClusters"][0]["GlobalClusterMembers"] if m["IsWriter"]
    )


def test_a_healthy_world_passes_every_check(aws):
    # GIVEN EU writer, US secondary, same engine, 1.2 s lag
    build_moto_world()

    # WHEN the switchover pre-checks run
    findings = prechecks(aws)

    # THEN every check passes, in this order
    assert [(c.name, c.ok) for c in findings.checks] == [
        ("global cluster idle", True),
        ("target member", True),
        ("current writer", True),
        ("target cluster available", True),
        ("source cluster available", True),
        ("engine versions equal", True),
        ("target synchronization", True),
        ("replication lag", True),
    ]
    assert findings.may_proceed(allow_data_loss=False)
    assert (findings.source.region, findings.target.region) == (EU, US)


def run_switchover(aws, lines):
    # A frozen clock keeps the timestamps exact; a pre-check abort never sleeps.
    runbook = Runbook(
        aws,
        global_cluster_id=GLOBAL_ID,
        # Pre-check aborts come before any plan is looked at.
        plans=[],
        out=lines.append,
        now=lambda: NOW,
        clock=lambda: 0.0,
        sleep=pytest.fail,
    )
    return runbook.run("switchover", US, dry_run=False)


def test_engine_version_mismatch_aborts_and_leaves_the_writer_in_place(aws, recorder):
    # GIVEN the US cluster runs a different engine version
    build_moto_world(eu_version="16.4", us_version="16.2")
    lines: list[str] = []

    # WHEN a switchover is attempted
    outcome = run_switchover(aws, lines)

    # THEN it aborts before any mutating call, and EU is still the writer
    assert outcome.code == ABORTED and not outcome.changed
    assert recorder.mutations == []
    assert "[   0.0s] PRE  FAIL engine versions equal: eu-west-1 16.4, us-west-1 16.2" in lines
    assert writer_arn() == EU_ARN


def test_lag_above_the_rpo_aborts_a_switchover(aws, recorder):
    build_moto_world(lag_ms=45000)
    lines: list[str] = []
    outcome = run_switchover(aws, lines)
    assert outcome.code == ABORTED and recorder.mutations == []
    assert (
        "[   0.0s] PRE  FAIL replication lag: AuroraGlobalDBRPOLag 45.0 s (RPO 30 s) "
        "on mobile-backend-prod-us"
    ) in lines


def test_no_lag_datapoint_is_a_failure_not_a_pass(aws, recorder):
    # GIVEN the secondary publishes no lag metric (replication stalled or metric missing)
    build_moto_world(lag_ms=None)
    findings = prechecks(aws)
    (lag,) = [c for c in findings.checks if c.name == "replication lag"]
    assert (lag.ok, lag.detail) == (
        False,
        "no AuroraGlobalDBRPOLag/AuroraGlobalDBReplicationLag datapoint in 5 min",
    )
    assert not findings.may_proceed(allow_data_loss=True)  # a switchover never degrades


def test_replication_lag_metric_is_the_fallback(aws):
    build_moto_world(lag_ms=None)
    put_lag(US, US_CLUSTER, 800, metric="AuroraGlobalDBReplicationLag")
    (lag,) = [c for c in prechecks(aws).checks if c.name == "replication lag"]
    assert lag.ok and lag.detail.startswith("AuroraGlobalDBReplicationLag 0.8 s")


def test_a_stopped_target_aborts(aws, recorder):
    build_moto_world()
    boto3.client("rds", region_name=US).stop_db_cluster(DBClusterIdentifier=US_CLUSTER)
    lines: list[str] = []
    outcome = run_switchover(aws, lines)
    assert outcome.code == ABORTED and recorder.mutations == []
    assert (
        "[   0.0s] PRE  FAIL target cluster available: mobile-backend-prod-us status stopped"
        in lines
    )


def test_unknown_global_cluster_aborts(aws):
    build_moto_world()
    findings = run_prechecks(
        aws, kind="switchover", global_cluster_id="nope", target_region=US, rpo_s=30, now=NOW
    )
    assert [(c.name, c.ok) for c in findings.checks] == [("global cluster", False)]
    assert findings.checks[0].detail == (
        "cannot describe: LookupError: global cluster 'nope' not found (asked us-west-1)"
    )
