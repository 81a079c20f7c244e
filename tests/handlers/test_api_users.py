"""GIVEN/WHEN/THEN tests of the user routes and /health on real PostgreSQL and moto."""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from handlers.api.main import handler
from tests.handlers.conftest import boto
from tests.handlers.helpers import ALICE, BOB, LambdaContext, api_event, call, claims


def insert_user(conn: psycopg.Connection, owner: str, email: str, created_at: datetime) -> str:
    user_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO users (id, owner_sub, name, email, created_at, home_region) "
        "VALUES (%s, %s, %s, %s, %s, 'eu-west-1')",
        (user_id, owner, email.split("@")[0], email, created_at),
    )
    return user_id


def test_health_reports_region_role_and_reachable_database(env):
    # GIVEN a reachable primary database
    # WHEN the probe calls /health without any identity
    status, body = call("GET", "/health")
    # THEN it answers 200 with the region and the writer role
    assert status == 200
    assert body == {
        "status": "ok",
        "region": "eu-west-1",
        "role": "writer",
        "database": "reachable",
    }


def test_health_returns_503_not_500_when_the_database_is_down(env, monkeypatch):
    # GIVEN a database endpoint where nothing listens
    monkeypatch.setenv("DB_PORT", "1")
    # WHEN /health is called
    status, body = call("GET", "/health")
    # THEN it answers 503 with a JSON body saying so
    assert status == 503
    assert body == {
        "status": "degraded",
        "region": "eu-west-1",
        "role": "unknown",
        "database": "unreachable",
    }


def test_protected_route_without_identity_is_401_json(env):
    status, body = call("GET", "/users")
    assert status == 401
    assert body == {"error": {"code": "unauthorized", "message": "missing caller identity"}}


def test_unknown_route_is_404_json(env):
    status, body = call("GET", "/nope", authorizer=claims(ALICE))
    assert status == 404
    assert body["error"]["code"] == "route_not_found"


def test_list_users_pages_through_own_rows_with_an_opaque_cursor(env, admin_conn):
    # GIVEN three users owned by Alice and one by Bob
    start = datetime(2026, 1, 1, tzinfo=UTC)
    alice_ids = [
        insert_user(admin_conn, ALICE, f"a{i}@example.com", start + timedelta(seconds=i))
        for i in range(3)
    ]
    insert_user(admin_conn, BOB, "b@example.com", start)
    # WHEN Alice lists with limit 2, then follows the cursor
    status1, page1 = call("GET", "/users", authorizer=claims(ALICE), query={"limit": "2"})
    status2, page2 = call(
        "GET",
        "/users",
        authorizer=claims(ALICE),
        query={"limit": "2", "cursor": page1["next_cursor"]},
    )
    # THEN she sees exactly her three rows, in order, and the last page has no cursor
    assert (status1, status2) == (200, 200)
    assert [u["id"] for u in page1["items"]] == alice_ids[:2]
    assert [u["id"] for u in page2["items"]] == alice_ids[2:]
    assert page2["next_cursor"] is None


def test_admin_lists_every_users_rows(env, admin_conn):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    insert_user(admin_conn, ALICE, "a@example.com", start)
    insert_user(admin_conn, BOB, "b@example.com", start + timedelta(seconds=1))
    status, page = call("GET", "/users", authorizer=claims(ALICE, groups="admins,staff"))
    assert status == 200
    assert [u["email"] for u in page["items"]] == ["a@example.com", "b@example.com"]


def test_list_users_rejects_out_of_range_limit_and_bad_cursor_with_field_names(env):
    status, body = call("GET", "/users", authorizer=claims(ALICE), query={"limit": "1000"})
    assert status == 400
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["fields"] == ["limit"]
    status, body = call("GET", "/users", authorizer=claims(ALICE), query={"cursor": "garbage!"})
    assert status == 400
    assert body["error"]["fields"] == ["cursor"]


def test_get_user_success_404_403_and_400(env, admin_conn):
    # GIVEN one user owned by Alice
    user_id = insert_user(admin_conn, ALICE, "a@example.com", datetime(2026, 1, 1, tzinfo=UTC))
    # WHEN/THEN Alice reads it
    status, body = call("GET", f"/users/{user_id}", authorizer=claims(ALICE))
    assert status == 200
    assert body["id"] == user_id
    assert body["email"] == "a@example.com"
    # WHEN/THEN Bob tries to read Alice's user: 403
    status, body = call("GET", f"/users/{user_id}", authorizer=claims(BOB))
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    # WHEN/THEN an unknown id: 404
    status, body = call("GET", f"/users/{uuid.uuid4()}", authorizer=claims(ALICE))
    assert status == 404
    assert body["error"]["code"] == "not_found"
    # WHEN/THEN an id that is not a UUID: 400 naming the path parameter
    status, body = call("GET", "/users/not-a-uuid", authorizer=claims(ALICE))
    assert status == 400
    assert body["error"]["fields"] == ["id"]


def test_post_users_publishes_and_returns_202_with_a_message_id(env, stack):
    # WHEN Alice asks for a user
    status, body = call(
        "POST", "/users", authorizer=claims(ALICE), body={"name": "Ann", "email": "Ann@Example.com"}
    )
    # THEN 202 with ids, and exactly that message is on the queue (raw delivery), email normalised
    assert status == 202
    assert body["status"] == "pending"
    messages = boto("sqs").receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert len(messages) == 1
    message = json.loads(messages[0]["Body"])
    assert message["message_id"] == body["message_id"]
    assert message["user_id"] == body["user_id"]
    assert (message["owner_sub"], message["email"], message["region"]) == (
        ALICE,
        "ann@example.com",
        "eu-west-1",
    )


def test_post_users_with_same_idempotency_key_yields_same_message_id(env):
    headers = {"Idempotency-Key": "retry-1"}
    first = call(
        "POST",
        "/users",
        authorizer=claims(ALICE),
        headers=headers,
        body={"name": "A", "email": "a@example.com"},
    )
    second = call(
        "POST",
        "/users",
        authorizer=claims(ALICE),
        headers=headers,
        body={"name": "A", "email": "a@example.com"},
    )
    other_caller = call(
        "POST",
        "/users",
        authorizer=claims(BOB),
        headers=headers,
        body={"name": "A", "email": "a@example.com"},
    )
    assert first[0] == second[0] == 202
    assert first[1]["message_id"] == second[1]["message_id"]
    assert other_caller[1]["message_id"] != first[1]["message_id"]


def test_post_users_validation_errors_name_the_fields(env, stack):
    status, body = call(
        "POST", "/users", authorizer=claims(ALICE), body={"name": "", "email": "nope"}
    )
    assert status == 400
    assert body["error"]["code"] == "validation_error"
    assert sorted(body["error"]["fields"]) == ["email", "name"]
    status, body = call("POST", "/users", authorizer=claims(ALICE), body="{not json")
    assert status == 400
    assert body["error"]["fields"] == ["body"]
    status, body = call(
        "POST",
        "/users",
        authorizer=claims(ALICE),
        body={"name": "A", "email": "a@b.co", "admin": True},
    )
    assert status == 400
    assert body["error"]["fields"] == ["admin"]
    # nothing was published for invalid requests
    assert "Messages" not in boto("sqs").receive_message(QueueUrl=stack.queue_url)


def test_health_answers_503_within_its_timeout_when_the_database_hangs(env, monkeypatch):
    # GIVEN an endpoint that accepts TCP but never speaks (a hung proxy)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        monkeypatch.setenv("DB_PORT", str(hung.getsockname()[1]))
        # WHEN /health is called
        started = time.monotonic()
        status, body = call("GET", "/health")
        elapsed = time.monotonic() - started
    # THEN it gives up after its own timeout (well inside Route 53's 4 s + 2 s) with 503
    assert status == 503
    assert body["database"] == "unreachable"
    assert 1.5 < elapsed < 4.0


def test_database_down_on_a_data_route_is_503_json(env, monkeypatch):
    monkeypatch.setenv("DB_PORT", "1")
    status, body = call("GET", "/me", authorizer=claims(ALICE))
    assert status == 503
    assert body == {
        "error": {"code": "unavailable", "message": "the database is unavailable, retry later"}
    }


def test_base_path_prefix_is_stripped_and_responses_are_not_cacheable(env):
    # GIVEN the request came through CloudFront's /api/* behaviour and the base path mapping
    response = handler(api_event("GET", "/api/health"), LambdaContext())
    # THEN it reaches the /health route and says no-store
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    error = handler(api_event("GET", "/users"), LambdaContext())
    assert error["statusCode"] == 401
    assert error["multiValueHeaders"]["Cache-Control"] == ["no-store"]


def test_non_json_bodies_are_refused_with_415_before_any_parsing(env):
    # GIVEN bodies in media types the API does not speak (a form parser must never see them)
    for content_type in ("text/plain", "multipart/form-data", "application/x-www-form-urlencoded"):
        event = api_event(
            "POST",
            "/users",
            body={"name": "Ada", "email": "ada@example.com"},
            authorizer=claims(ALICE),
            headers={"Content-Type": content_type},
        )
        # WHEN it reaches the handler  THEN 415 JSON, never a 500
        response = handler(event, LambdaContext())
        assert response["statusCode"] == 415, content_type
        assert json.loads(response["body"])["error"]["code"] == "unsupported_media_type"


def test_body_that_is_not_utf8_is_a_400_naming_the_body(env):
    import base64

    event = api_event("POST", "/users", authorizer=claims(ALICE))
    event["body"] = base64.b64encode(b"Vai\xff\x00YT\xfe").decode()
    event["isBase64Encoded"] = True
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["fields"] == ["body"]
