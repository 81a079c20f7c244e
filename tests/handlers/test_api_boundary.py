"""The validation boundary (R-API-6): every input the database, the parser or a downstream
service would refuse is a 4xx JSON error naming the field, on real PostgreSQL and moto.

Each case below answered 500 (or 202 for a write that could never land) before the boundary
existed; the module docstrings of backend/json_body.py and backend/models.py say why each rule
is what it is.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from backend.json_body import MAX_BODY_BYTES, MAX_DEPTH
from handlers.api.main import handler
from handlers.observability import logger
from handlers.subscriber.main import handler as subscriber
from tests.handlers.conftest import boto
from tests.handlers.helpers import ALICE, LambdaContext, api_event, call, claims, sqs_event
from tests.handlers.test_subscriber_e2e import drain

REFUSED_BODY = "request body refused: "
NOT_JSON = {"code": "validation_error", "message": "request body is not valid JSON"}


def refused(reason: str) -> dict:
    return {
        "error": {"code": "validation_error", "message": REFUSED_BODY + reason, "fields": ["body"]}
    }


OUT_OF_RANGE = refused("a number is outside the double-precision range")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Longer than Python's int-string limit (4300 digits): a ValueError deep in json.
        ('{"a": ' + "1" * 5000 + "}", OUT_OF_RANGE),
        ('{"a": -' + "9" * 400 + "}", OUT_OF_RANGE),
        ('{"a": NaN}', refused("NaN is not JSON")),
        ('{"a": Infinity}', refused("Infinity is not JSON")),
        ('{"a": [-Infinity]}', refused("-Infinity is not JSON")),
        ('{"a": 1e400}', OUT_OF_RANGE),
        ('{"a": 1.7976931348623158e308}', OUT_OF_RANGE),
        ('{"a": {"b": -2e308}}', OUT_OF_RANGE),
        # About 900 levels in a 5 KB body: a RecursionError (and a 200 KB log line) before.
        (
            '{"a": ' + "[" * 900 + "]" * 900 + "}",
            refused(f"nesting is deeper than {MAX_DEPTH} levels"),
        ),
        ('{"a": "\\ud800"}', refused("a string contains an unpaired surrogate")),
        ('{"\\udfff": 1}', refused("a string contains an unpaired surrogate")),
        ('{"a": 1, "a": 2}', refused("an object repeats a member name")),
    ],
)
def test_bodies_outside_i_json_are_400_naming_the_body(env, raw, expected):
    # WHEN a preferences body carries what PostgreSQL or the parser cannot take
    status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=raw)
    # THEN it is the client's error, naming the body, and nothing was stored
    assert (status, body) == (400, expected)
    assert call("GET", "/me", authorizer=claims(ALICE))[1]["preferences"] == {}


def test_the_largest_numbers_the_document_allows_are_stored(env):
    document = {"max": 1.7976931348623157e308, "big": 10**308, "tiny": 5e-324, "neg": -(10**300)}
    status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=document)
    assert (status, body["preferences"]) == (200, document)


def test_bodies_that_are_not_json_name_the_body(env):
    for raw in ("{not json", '{"a": 1', "[1,]"):
        status, body = call("POST", "/users", authorizer=claims(ALICE), body=raw)
        assert (status, body) == (400, {"error": {**NOT_JSON, "fields": ["body"]}}), raw


def test_a_body_over_the_limit_is_413_naming_the_body(env, stack):
    raw = json.dumps({"name": "A", "email": "a@example.com", "pad": "x" * MAX_BODY_BYTES})
    status, body = call("POST", "/users", authorizer=claims(ALICE), body=raw)
    assert (status, body) == (
        413,
        {
            "error": {
                "code": "payload_too_large",
                "message": f"the request body must be at most {MAX_BODY_BYTES} bytes",
                "fields": ["body"],
            }
        },
    )
    assert "Messages" not in boto("sqs").receive_message(QueueUrl=stack.queue_url)


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """The API's log lines as Lambda would ship them (the Powertools JSON formatter)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    collect = Collect()
    collect.setFormatter(logger.registered_formatter)
    logger.addHandler(collect)
    yield lines
    logger.removeHandler(collect)


def test_a_deep_body_is_refused_without_an_error_log_and_nothing_is_echoed(env, log_lines):
    # GIVEN a 5 KB body nested 900 levels, with a marker in it
    raw = '{"marker-7f3a": ' + "[" * 900 + "]" * 900 + "}"
    # WHEN it reaches the API
    status, _ = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=raw)
    # THEN it is a 400, nothing was logged at error level, and the body appears nowhere
    assert status == 400
    assert not [line for line in log_lines if '"level":"ERROR"' in line]
    assert not [line for line in log_lines if "marker-7f3a" in line]


def test_an_unexpected_error_logs_a_bounded_line_without_the_body(env, monkeypatch, log_lines):
    # GIVEN a route that fails deep in a recursion (the shape of the old 200 KB log line)
    from backend import preferences

    def recurse(depth: int = 0):
        return recurse(depth + 1)

    monkeypatch.setattr(preferences, "put_preferences", lambda *a: recurse())
    # WHEN a request with a marker in its body hits it
    status, body = call(
        "PUT", "/me/preferences", authorizer=claims(ALICE), body={"marker-9c1e": "x" * 4000}
    )
    # THEN a bare 500, and one bounded log line naming the error type, never the body
    assert (status, body) == (
        500,
        {"error": {"code": "internal_error", "message": "internal error"}},
    )
    lines = [line for line in log_lines if '"level":"ERROR"' in line]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["error_type"] == "RecursionError"
    assert len(lines[0]) < 4096
    assert "marker-9c1e" not in lines[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Ann\u0000Lee"),  # PostgreSQL text refuses U+0000: the subscriber failed forever
        ("name", "Ann\u0007"),
        ("name", "Ann\u0085Lee"),
        ("name", " Ann"),
        ("name", "Ann\n"),
        ("name", "x" * 201),
        ("email", "ann\u0000@example.com"),
        ("email", "ann@exa mple.com"),
        ("email", "ann@example.com\n"),
        ("email", "a" * 310 + "@example.com"),
    ],
)
def test_a_create_the_database_would_refuse_is_400_and_never_queued(env, stack, field, value):
    request = {"name": "Ann", "email": "ann@example.com", field: value}
    status, body = call("POST", "/users", authorizer=claims(ALICE), body=request)
    assert (status, body["error"]["code"], body["error"]["fields"]) == (
        400,
        "validation_error",
        [field],
    )
    assert "Messages" not in boto("sqs").receive_message(QueueUrl=stack.queue_url)


def test_an_address_that_only_python_would_lengthen_is_accepted_and_lands(env, stack):
    # GIVEN 305 characters whose str.lower() is longer than the database's 320 ("İ" -> "i̇")
    email = "İ" * 300 + "@b.co"
    # WHEN it is created
    status, accepted = call(
        "POST", "/users", authorizer=claims(ALICE), body={"name": "Long", "email": email}
    )
    assert status == 202
    # THEN the subscriber stores it (case folded for ASCII only, so the length holds)
    bodies = [m["Body"] for m in drain(stack.queue_url)]
    assert subscriber(sqs_event(bodies), LambdaContext()) == {"batchItemFailures": []}
    status, user = call("GET", f"/users/{accepted['user_id']}", authorizer=claims(ALICE))
    assert (status, user["email"]) == (200, email)


def test_ascii_letters_of_an_address_are_compared_without_case(env, stack):
    call("POST", "/users", authorizer=claims(ALICE), body={"name": "A", "email": "Ann@Example.COM"})
    message = json.loads(drain(stack.queue_url)[0]["Body"])
    assert message["email"] == "ann@example.com"


@pytest.mark.parametrize(
    ("path", "payload", "fields"),
    [
        # pydantic's lax mode took true as 1 and "5" as 5: the document says integer.
        ("/uploads", {"filename": "a.txt", "content_type": "text/plain", "size": True}, ["size"]),
        ("/uploads", {"filename": "a.txt", "content_type": "text/plain", "size": "5"}, ["size"]),
        ("/uploads", {"filename": "a.txt", "content_type": "text/plain", "size": 5.0}, ["size"]),
        (
            "/uploads",
            {"filename": "a\u0000", "content_type": "text/plain", "size": 5},
            ["filename"],
        ),
        (
            "/uploads",
            {"filename": "a", "content_type": "text/plain\n", "size": 5},
            ["content_type"],
        ),
        ("/uploads", {"filename": "a", "content_type": "tëxt/plain", "size": 5}, ["content_type"]),
        ("/devices", {"platform": "apns", "token": "not-hex"}, ["token"]),
        ("/devices", {"platform": "apns", "token": "ab" * 31}, ["token"]),
        ("/devices", {"platform": "fcm", "token": "has space"}, ["token"]),
        ("/devices", {"platform": "sms", "token": "abc"}, ["platform"]),
        ("/devices", {"token": "abc"}, ["platform"]),
        ("/notifications", {"user_sub": "../x", "title": "Hi", "body": "Yo"}, ["user_sub"]),
        ("/notifications", {"user_sub": ALICE, "title": "Hi\u0000", "body": "Yo"}, ["title"]),
    ],
)
def test_request_fields_are_checked_as_the_document_states(env, path, payload, fields):
    status, body = call("POST", path, authorizer=claims(ALICE), body=payload)
    assert (status, body["error"]["code"], body["error"]["fields"]) == (
        400,
        "validation_error",
        fields,
    )


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"theme": None}, "theme"),  # no null: absence is "unset"
        ({"theme": "dark", "list": [1, None]}, "list"),
    ],
)
def test_preference_values_the_document_does_not_allow_name_their_key(env, document, key):
    status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=document)
    assert (status, body["error"]["fields"]) == (400, [key])


def test_preferences_nest_up_to_the_limit_and_no_deeper(env):
    # The document itself is level 1: four more levels of arrays or objects.
    document = {"a": [[[["deepest"]]]], "b": {"c": {"d": {"e": {"f": 1.5}}}}}
    status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=document)
    assert (status, body["preferences"]) == (200, document)
    for deeper in ({"a": [[[[["x"]]]]]}, {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}):
        status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=deeper)
        assert (status, body) == (400, refused(f"nesting is deeper than {MAX_DEPTH} levels"))


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 202),
        ("application/json; charset=utf-8", 202),
        ("Application/JSON;charset=UTF-8", 202),
        ('application/json; charset="utf-8"', 202),
        ("application/jsonp", 415),
        ("application/json-patch+json", 415),
        ("application/json; charset=latin-1", 415),
        ("text/json", 415),
    ],
)
def test_only_json_is_read_as_json(env, content_type, status):
    event = api_event(
        "POST",
        "/users",
        body={"name": "Ada", "email": "ada@example.com"},
        authorizer=claims(ALICE),
        headers={"Content-Type": content_type},
    )
    response = handler(event, LambdaContext())
    assert response["statusCode"] == status, content_type
    if status == 415:
        assert json.loads(response["body"]) == {
            "error": {
                "code": "unsupported_media_type",
                "message": "send the body as Content-Type: application/json",
                "fields": ["Content-Type"],
            }
        }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "5.0"}, "limit"),
        ({"limit": "+5"}, "limit"),
        ({"limit": " 5"}, "limit"),
        ({"limit": "1_0"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"cursor": ""}, "cursor"),
        # Cursors whose decoded parts had the wrong types answered 500.
        ({"cursor": "WzEsIDJd"}, "cursor"),
        ({"cursor": "WyIyMDIwLTAxLTAxIiwgNV0"}, "cursor"),
        ({"cursor": "0" * 16 + "F" * 32}, "cursor"),
        ({"cursor": "0" * 47}, "cursor"),
    ],
)
def test_query_parameters_outside_the_document_are_400(env, query, field):
    status, body = call("GET", "/users", authorizer=claims(ALICE), query=query)
    assert (status, body["error"]["fields"]) == (400, [field])


def test_any_cursor_the_document_allows_is_a_place_to_start(env):
    for cursor in ("0" * 48, "9" * 16 + "f" * 32):
        status, body = call("GET", "/users", authorizer=claims(ALICE), query={"cursor": cursor})
        assert (status, body) == (200, {"items": [], "next_cursor": None})


@pytest.mark.parametrize("key", ["", " k", "k k", "ä", "k" * 129])
def test_idempotency_keys_outside_visible_ascii_are_400(env, key):
    status, body = call(
        "POST",
        "/users",
        authorizer=claims(ALICE),
        headers={"Idempotency-Key": key},
        body={"name": "A", "email": "a@example.com"},
    )
    assert (status, body["error"]["fields"]) == (400, ["idempotency-key"])


def test_every_visible_ascii_character_is_a_valid_idempotency_key(env):
    key = "".join(chr(c) for c in range(0x21, 0x7F))
    status, _ = call(
        "POST",
        "/users",
        authorizer=claims(ALICE),
        headers={"Idempotency-Key": key},
        body={"name": "A", "email": "a@example.com"},
    )
    assert status == 202


@pytest.mark.parametrize(
    "path",
    [
        "/users/{uuid.hex}",
        "/users/{{{uuid}}}",
        "/users/urn:uuid:{uuid}",
        "/users/requests/{uuid.hex}",
    ],
)
def test_ids_are_uuids_in_their_one_written_form(env, path):
    value = uuid.uuid4()
    status, body = call("GET", path.format(uuid=value), authorizer=claims(ALICE))
    assert (status, body["error"]["fields"]) == (400, ["id"])
