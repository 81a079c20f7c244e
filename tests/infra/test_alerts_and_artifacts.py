"""Alarm topic per region (R-OBS-1) and the build-output contract of the stacks."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.alerts import alarm_topic_policy
from stacks import artifacts
from tests.infra.harness import ACCOUNT


def test_each_region_has_an_encrypted_alarm_topic_with_email(regional_synths):
    for stack, synth in regional_synths.items():
        topic = synth.one("aws:sns/topic:Topic", lambda r: r.name.startswith("alarms"))
        assert topic.inputs["kmsMasterKeyId"].endswith(":keys-messaging"), stack
        sub = synth.one(
            "aws:sns/topicSubscription:TopicSubscription", lambda r: r.name.startswith("alarms")
        )
        assert (sub.inputs["protocol"], sub.inputs["endpoint"]) == (
            "email",
            "oncall@examplehealth.eu",
        )
        assert synth.outputs["alarmTopicArn"].endswith(":alarms-topic"), stack


def test_alarm_topic_policy_admits_only_this_accounts_alarms_and_rules():
    policy = alarm_topic_policy("arn:aws:sns:eu-west-1:123456789012:alarms", ACCOUNT)
    allow, deny = policy["Statement"]
    assert allow["Principal"]["Service"] == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_missing_build_names_the_command_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILE_BACKEND_BUILD_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(pulumi.RunError, match="run `make build`"):
        artifacts.function_code("api")
    with pytest.raises(pulumi.RunError, match="run `make build`"):
        artifacts.layer_code("arm64")


def test_migrations_checksum_changes_with_the_sql(tmp_path, monkeypatch):
    sql = tmp_path / "functions" / "migrations" / "backend" / "migrations"
    sql.mkdir(parents=True)
    monkeypatch.setenv("MOBILE_BACKEND_BUILD_DIR", str(tmp_path))
    (sql / "0001_init.sql").write_text("CREATE TABLE a ();")
    first = artifacts.migrations_checksum()
    assert first == artifacts.migrations_checksum()
    (sql / "0002_more.sql").write_text("CREATE TABLE b ();")
    assert artifacts.migrations_checksum() != first


def test_unknown_function_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown function"):
        artifacts.function_code("nope")


def test_topic_policy_is_valid_json_in_the_stack(eu_synth):
    policy = json.loads(
        eu_synth.one(
            "aws:sns/topicPolicy:TopicPolicy", lambda r: r.name.startswith("alarms")
        ).inputs["policy"]
    )
    assert policy["Statement"][0]["Resource"].endswith(":alarms-topic")


def test_infrastructure_hashes_the_sql_exactly_as_the_migration_function_does(
    tmp_path, monkeypatch
):
    # The migration function refuses to run when the two checksums differ (a stale deploy).
    import shutil

    from backend.migrate import MIGRATIONS_DIR, combined_checksum

    staged = tmp_path / "functions" / "migrations" / "backend" / "migrations"
    shutil.copytree(MIGRATIONS_DIR, staged)
    monkeypatch.setenv("MOBILE_BACKEND_BUILD_DIR", str(tmp_path))
    assert artifacts.migrations_checksum() == combined_checksum(MIGRATIONS_DIR)
