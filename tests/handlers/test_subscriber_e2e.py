"""End to end in-process: POST /users -> SNS -> SQS (moto) -> subscriber -> PostgreSQL -> GET."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from contract import telemetry
from handlers import common
from handlers.subscriber.main import handler as subscriber
from tests.handlers.conftest import boto
from tests.handlers.helpers import ALICE, LambdaContext, call, claims, sqs_event


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message currently on the queue, as SQS event records would carry them."""
    sqs = boto("sqs")
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return received
        received += batch


def metric_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def metric_total(output: str, name: str) -> float:
    """Sum of a metric over every EMF line (Powertools lists repeated values in one line)."""
    total = 0.0
    for line in metric_lines(output):
        value = line.get(name, 0)
        total += sum(value) if isinstance(value, list) else float(value)
    return total


def test_created_user_appears_exactly_once_even_when_delivered_twice(env, stack, capsys):
    # GIVEN Alice posts a user, and the message reaches the queue through SNS
    status, accepted = call(
        "POST", "/users", authorizer=claims(ALICE), body={"name": "Ann", "email": "ann@example.com"}
    )
    assert status == 202
    messages = drain(stack.queue_url)
    assert len(messages) == 1
    body = messages[0]["Body"]
    capsys.readouterr()
    # WHEN the subscriber gets the message, then the same message again in one batch, twice
    first = subscriber(sqs_event([body]), LambdaContext())
    again = subscriber(sqs_event([body, body]), LambdaContext())
    # THEN no record failed, the row exists exactly once, and duplicates were counted
    assert first == {"batchItemFailures": []}
    assert again == {"batchItemFailures": []}
    output = capsys.readouterr().out
    assert metric_total(output, telemetry.USERS_CREATED) == 1
    assert metric_total(output, telemetry.MESSAGES_APPLIED) == 1
    assert metric_total(output, telemetry.DUPLICATE_MESSAGES_SKIPPED) == 2
    assert {line["_aws"]["CloudWatchMetrics"][0]["Namespace"] for line in metric_lines(output)} == {
        telemetry.METRICS_NAMESPACE
    }
    status, page = call("GET", "/users", authorizer=claims(ALICE))
    assert status == 200
    assert [(u["id"], u["email"]) for u in page["items"]] == [
        (accepted["user_id"], "ann@example.com")
    ]


def test_client_retry_with_idempotency_key_inserts_once(env, stack):
    headers = {"Idempotency-Key": "k-1"}
    for _ in range(2):
        call(
            "POST",
            "/users",
            authorizer=claims(ALICE),
            headers=headers,
            body={"name": "Ann", "email": "ann@example.com"},
        )
    bodies = [m["Body"] for m in drain(stack.queue_url)]
    assert len(bodies) == 2
    assert subscriber(sqs_event(bodies), LambdaContext()) == {"batchItemFailures": []}
    _, page = call("GET", "/users", authorizer=claims(ALICE))
    assert len(page["items"]) == 1


def test_sns_envelope_is_unwrapped(env, admin_conn):
    message = {
        "type": "user.create",
        "version": 1,
        "message_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "owner_sub": ALICE,
        "name": "Env",
        "email": "env@example.com",
        "requested_at": "2026-01-01T00:00:00+00:00",
        "region": "us-west-1",
    }
    envelope = json.dumps({"Type": "Notification", "Message": json.dumps(message)})
    assert subscriber(sqs_event([envelope]), LambdaContext()) == {"batchItemFailures": []}
    row = admin_conn.execute("SELECT email, home_region FROM users").fetchall()
    assert row == [("env@example.com", "us-west-1")]


def test_malformed_message_fails_only_itself_without_logging_its_content(env, stack, capsys):
    # GIVEN one good message and two malformed ones in the same batch
    call("POST", "/users", authorizer=claims(ALICE), body={"name": "Ok", "email": "ok@example.com"})
    good = drain(stack.queue_url)[0]["Body"]
    bad_json = "{nope"
    bad_fields = json.dumps({"type": "user.create", "email": "secret-phi@example.com"})
    event = sqs_event([bad_json, good, bad_fields])
    # WHEN the batch is processed
    result = subscriber(event, LambdaContext())
    # THEN exactly the two malformed records are reported failed and the good one is applied
    failed_ids = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert failed_ids == {event["Records"][0]["messageId"], event["Records"][2]["messageId"]}
    captured = capsys.readouterr()
    assert metric_total(captured.out, "MessagesFailed") == 2
    assert metric_total(captured.out, "UsersCreated") == 1
    _, page = call("GET", "/users", authorizer=claims(ALICE))
    assert [u["email"] for u in page["items"]] == ["ok@example.com"]
    assert "secret-phi@example.com" not in captured.out + captured.err


def test_email_already_taken_is_applied_as_a_no_op_not_a_retry(env, stack, admin_conn):
    for key in ("a", "b"):
        call(
            "POST",
            "/users",
            authorizer=claims(ALICE),
            headers={"Idempotency-Key": key},
            body={"name": "Same", "email": "same@example.com"},
        )
    bodies = [m["Body"] for m in drain(stack.queue_url)]
    assert subscriber(sqs_event(bodies), LambdaContext()) == {"batchItemFailures": []}
    outcomes = admin_conn.execute(
        "SELECT outcome FROM processed_messages ORDER BY outcome"
    ).fetchall()
    assert outcomes == [("created",), ("email_taken",)]
    assert admin_conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


def test_database_down_fails_the_whole_batch_after_one_connect_attempt(env, stack, monkeypatch):
    # GIVEN three valid messages and a database that refuses connections
    for key in ("a", "b", "c"):
        call(
            "POST",
            "/users",
            authorizer=claims(ALICE),
            headers={"Idempotency-Key": key},
            body={"name": key, "email": f"{key}@example.com"},
        )
    event = sqs_event([m["Body"] for m in drain(stack.queue_url)])
    monkeypatch.setenv("DB_PORT", "1")
    common.reset()
    # WHEN the batch is processed THEN the invocation fails as a whole (Powertools raises when
    # every record failed, so the Lambda Errors metric sees the outage and SQS retries all)
    with pytest.raises(BatchProcessingError, match=r"All records failed processing\. 3 "):
        subscriber(event, LambdaContext())
    # AND only one connect round was spent (one secret fetch plus one forced refetch)
    assert common.database()._secret.fetches == 2


def test_emf_metrics_for_a_batch_with_one_duplicate_and_one_poison_message(env, stack, capsys):
    # GIVEN one message delivered twice and a poison message, in one batch (R-OBS-4)
    call("POST", "/users", authorizer=claims(ALICE), body={"name": "Eve", "email": "eve@ex.com"})
    body = drain(stack.queue_url)[0]["Body"]
    capsys.readouterr()
    event = sqs_event([body, body, "{poison"])
    # WHEN the subscriber processes it
    result = subscriber(event, LambdaContext())
    # THEN only the poison record fails, and the EMF metrics count each outcome exactly once
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][2]["messageId"]}]}
    output = capsys.readouterr().out
    assert {
        name: metric_total(output, name)
        for name in (
            telemetry.USERS_CREATED,
            telemetry.MESSAGES_APPLIED,
            telemetry.DUPLICATE_MESSAGES_SKIPPED,
            telemetry.MESSAGES_FAILED,
        )
    } == {
        "UsersCreated": 1,
        "MessagesApplied": 1,
        "DuplicateMessagesSkipped": 1,
        "MessagesFailed": 1,
    }
    # AND every line is in the namespace and under the one dimension the alarms filter on
    # (an alarm with another dimension set would watch a series that never exists)
    directives = [line["_aws"]["CloudWatchMetrics"][0] for line in metric_lines(output)]
    assert {d["Namespace"] for d in directives} == {telemetry.METRICS_NAMESPACE}
    assert {json.dumps(d["Dimensions"]) for d in directives} == {
        json.dumps([[telemetry.SERVICE_DIMENSION]])
    }
