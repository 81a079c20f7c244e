"""The outcome of an asynchronous create, and what one account's addresses reveal to another.

`POST /users` answers 202 with a request id; `GET /users/requests/{id}` says pending, created
or rejected with the reason. An address is unique within one account's users only. Real
PostgreSQL and moto, the message travelling SNS → SQS → subscriber as in the cloud.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from handlers.subscriber.main import handler as subscriber
from tests.handlers.helpers import ALICE, BOB, LambdaContext, call, claims, sqs_event
from tests.handlers.test_subscriber_e2e import drain, metric_total


def create(owner: str, email: str, name: str = "Ann", key: str | None = None) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else None
    status, accepted = call(
        "POST",
        "/users",
        authorizer=claims(owner),
        headers=headers,
        body={"name": name, "email": email},
    )
    assert status == 202
    return accepted


def deliver(queue_url: str) -> dict[str, Any]:
    return subscriber(sqs_event([m["Body"] for m in drain(queue_url)]), LambdaContext())


def status_of(owner: str, request_id: str) -> tuple[int, dict[str, Any]]:
    return call("GET", f"/users/requests/{request_id}", authorizer=claims(owner))


def test_a_request_is_pending_until_applied_then_created(env, stack):
    # GIVEN Alice's create was accepted
    accepted = create(ALICE, "ann@example.com")
    assert accepted["status"] == "pending"
    # THEN until the subscriber ran, its status says so
    assert status_of(ALICE, accepted["message_id"]) == (
        200,
        {"id": accepted["message_id"], "status": "pending", "user_id": None, "reason": None},
    )
    # WHEN the message is applied THEN the request says created, with the user to read
    assert deliver(stack.queue_url) == {"batchItemFailures": []}
    assert status_of(ALICE, accepted["message_id"]) == (
        200,
        {
            "id": accepted["message_id"],
            "status": "created",
            "user_id": accepted["user_id"],
            "reason": None,
        },
    )
    assert call("GET", f"/users/{accepted['user_id']}", authorizer=claims(ALICE))[0] == 200


def test_a_duplicate_address_is_rejected_with_the_reason_and_no_user(env, stack):
    # GIVEN Ann is one of Alice's users
    create(ALICE, "ann@example.com", key="first")
    deliver(stack.queue_url)
    # WHEN Alice asks for the same address again (any case of its ASCII letters)
    again = create(ALICE, "ANN@example.com", name="Ann again", key="second")
    assert deliver(stack.queue_url) == {"batchItemFailures": []}
    # THEN her request says why, and the user id it named never exists
    assert status_of(ALICE, again["message_id"]) == (
        200,
        {"id": again["message_id"], "status": "rejected", "user_id": None, "reason": "email_taken"},
    )
    assert call("GET", f"/users/{again['user_id']}", authorizer=claims(ALICE))[0] == 404


def test_another_account_can_use_the_address_and_learns_nothing(env, stack, admin_conn):
    # GIVEN Alice has Ann (ann@example.com)
    alices = create(ALICE, "ann@example.com")
    deliver(stack.queue_url)
    # WHEN Bob creates a user with the same address
    bobs = create(BOB, "ann@example.com", name="Bob's Ann")
    deliver(stack.queue_url)
    # THEN Bob's is created as if Alice's did not exist: no squatting, no probing
    assert status_of(BOB, bobs["message_id"])[1]["status"] == "created"
    _, page = call("GET", "/users", authorizer=claims(BOB))
    assert [(u["name"], u["email"]) for u in page["items"]] == [("Bob's Ann", "ann@example.com")]
    # AND Alice's request and user are "not found" for Bob (a 403 would confirm they exist)
    assert status_of(BOB, alices["message_id"])[0] == 404
    owners = admin_conn.execute("SELECT owner_sub FROM users ORDER BY owner_sub").fetchall()
    assert owners == sorted([(ALICE,), (BOB,)])


def test_a_request_id_nobody_issued_reads_as_pending(env):
    request_id = str(uuid.uuid4())
    assert status_of(ALICE, request_id) == (
        200,
        {"id": request_id, "status": "pending", "user_id": None, "reason": None},
    )


def message(**changes: Any) -> dict[str, Any]:
    return {
        "type": "user.create",
        "version": 1,
        "message_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "owner_sub": ALICE,
        "name": "Ann",
        "email": "ann@example.com",
        "requested_at": "2026-01-01T00:00:00+00:00",
        "region": "eu-west-1",
        **changes,
    }


def test_a_queued_message_with_values_the_database_refuses_is_rejected_not_dead_lettered(
    env, admin_conn, capsys
):
    # GIVEN a message an older API published with a NUL in the name (PostgreSQL text refuses
    # it: every delivery failed until the message reached the DLQ and paged the on-call)
    poisoned = message(name="Ann\u0000Lee")
    # WHEN the subscriber gets it
    result = subscriber(sqs_event([json.dumps(poisoned)]), LambdaContext())
    # THEN the record succeeds (it leaves the queue), no user exists, the caller learns why
    assert result == {"batchItemFailures": []}
    assert admin_conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert status_of(ALICE, poisoned["message_id"])[1] == {
        "id": poisoned["message_id"],
        "status": "rejected",
        "user_id": None,
        "reason": "invalid",
    }
    assert metric_total(capsys.readouterr().out, "MessagesFailed") == 0
    # AND a redelivery is a duplicate, not a second decision
    again = subscriber(sqs_event([json.dumps(poisoned)]), LambdaContext())
    assert again == {"batchItemFailures": []}
    assert admin_conn.execute("SELECT count(*) FROM user_requests").fetchone() == (1,)


def test_a_value_the_database_refuses_after_validation_is_rejected_as_invalid(env, admin_conn):
    # GIVEN a constraint the API does not know about (a later migration, an operator's CHECK)
    admin_conn.execute("ALTER TABLE users ADD CONSTRAINT no_refused CHECK (name <> 'Refused')")
    valid = message(name="Refused")
    # WHEN a message that passed every API check violates it
    result = subscriber(sqs_event([json.dumps(valid)]), LambdaContext())
    # THEN it is recorded as rejected (invalid) and acknowledged, not retried into the DLQ
    assert result == {"batchItemFailures": []}
    assert status_of(ALICE, valid["message_id"])[1]["reason"] == "invalid"
    outcome = admin_conn.execute(
        "SELECT outcome FROM processed_messages WHERE message_id = %s", (valid["message_id"],)
    ).fetchone()
    assert outcome == ("invalid",)


def test_a_message_that_names_no_request_still_fails_into_the_dead_letter_queue(env):
    # Not something this API publishes: kept for a person to look at, not silently dropped.
    orphan = json.dumps({"type": "user.create", "name": "Ann"})
    event = sqs_event([orphan, json.dumps(message())])
    result = subscriber(event, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
