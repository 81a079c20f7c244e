"""GIVEN/WHEN/THEN tests of /me, /uploads, /devices and /notifications."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from backend.uploads import upload_id
from tests.handlers.conftest import boto
from tests.handlers.helpers import ALICE, BOB, call, claims


def test_me_returns_identity_and_empty_preferences_then_the_saved_ones(env):
    # GIVEN Alice has never saved preferences
    status, body = call("GET", "/me", authorizer=claims(ALICE, "alice@example.com", "[admins]"))
    assert status == 200
    assert body == {
        "sub": ALICE,
        "email": "alice@example.com",
        "groups": ["admins"],
        "preferences": {},
        "preferences_updated_at": None,
    }
    # WHEN she saves preferences from one device
    status, saved = call(
        "PUT", "/me/preferences", authorizer=claims(ALICE), body={"theme": "dark", "units": "si"}
    )
    assert status == 200
    assert saved["preferences"] == {"theme": "dark", "units": "si"}
    # THEN another device sees them, and Bob does not
    _, mine = call("GET", "/me", authorizer=claims(ALICE))
    _, bobs = call("GET", "/me", authorizer=claims(BOB))
    assert mine["preferences"] == {"theme": "dark", "units": "si"}
    assert bobs["preferences"] == {}


def test_lambda_authorizer_context_is_accepted_as_identity(env):
    authorizer = {"sub": BOB, "email": "bob@example.com", "groups": "staff"}
    status, body = call("GET", "/me", authorizer=authorizer)
    assert status == 200
    assert (body["sub"], body["groups"]) == (BOB, ["staff"])


def test_preferences_must_be_an_object_and_bounded(env):
    status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=[1, 2])
    assert status == 400
    assert body["error"]["fields"] == ["body"]
    status, body = call(
        "PUT", "/me/preferences", authorizer=claims(ALICE), body={"blob": "x" * 20_000}
    )
    assert status == 413
    assert body["error"]["fields"] == ["preferences"]
    assert call("PUT", "/me/preferences", authorizer=None, body={})[0] == 401


def test_upload_ticket_signs_size_and_type_into_callers_prefix_and_works(env, stack):
    # WHEN Alice asks to upload a 5-byte file with an unsafe name
    status, ticket = call(
        "POST",
        "/uploads",
        authorizer=claims(ALICE),
        body={"filename": "../../etc/passwd x.txt", "content_type": "text/plain", "size": 5},
    )
    # THEN the key is in her prefix with a sanitised name and the URL signs type and length
    assert status == 201
    assert ticket["key"].startswith(f"uploads/{ALICE}/")
    assert ticket["key"].endswith("-passwd_x.txt")
    assert ticket["headers"] == {"Content-Type": "text/plain", "Content-Length": "5"}
    query = urllib.parse.parse_qs(urllib.parse.urlparse(ticket["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    # AND the presigned PUT stores the object (moto on loopback)
    request = urllib.request.Request(  # noqa: S310 - presigned URL points at loopback moto
        ticket["url"], data=b"hello", method="PUT", headers=ticket["headers"]
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200
    stored = boto("s3").get_object(Bucket=stack.bucket, Key=ticket["key"])["Body"].read()
    assert stored == b"hello"
    # AND Alice gets a download URL for it, Bob gets 403
    status, download = call("GET", f"/uploads/{ticket['id']}", authorizer=claims(ALICE))
    assert status == 200
    with urllib.request.urlopen(download["url"], timeout=5) as response:  # noqa: S310
        assert response.read() == b"hello"
    status, body = call("GET", f"/uploads/{ticket['id']}", authorizer=claims(BOB))
    assert status == 403
    assert body["error"]["code"] == "forbidden"


def test_oversize_upload_is_refused_with_413_naming_size(env):
    status, body = call(
        "POST",
        "/uploads",
        authorizer=claims(ALICE),
        body={
            "filename": "scan.pdf",
            "content_type": "application/pdf",
            "size": 10 * 1024 * 1024 + 1,
        },
    )
    assert status == 413
    assert body["error"] == {
        "code": "payload_too_large",
        "message": "size must be at most 10485760 bytes",
        "fields": ["size"],
    }


def test_upload_validation_and_missing_object(env):
    status, body = call(
        "POST",
        "/uploads",
        authorizer=claims(ALICE),
        body={"filename": "a", "content_type": "x", "size": 0},
    )
    assert status == 400
    assert sorted(body["error"]["fields"]) == ["content_type", "size"]
    missing = upload_id(f"uploads/{ALICE}/00000000-0000-4000-8000-000000000000-a.txt")
    status, body = call("GET", f"/uploads/{missing}", authorizer=claims(ALICE))
    assert status == 404
    # An id naming no key we could have issued (a traversal attempt) names nothing: 404.
    status, body = call("GET", f"/uploads/{upload_id('../secrets')}", authorizer=claims(ALICE))
    assert status == 404
    # A malformed id (not base64url) is the client's error, with the field named.
    status, body = call("GET", "/uploads/not%20an%20id!", authorizer=claims(ALICE))
    assert status == 400
    assert body["error"]["fields"] == ["key"]


def test_device_registration_creates_endpoint_and_is_idempotent(env, admin_conn):
    body = {"platform": "fcm", "token": "device-token-1"}
    status1, first = call("POST", "/devices", authorizer=claims(ALICE), body=body)
    status2, second = call("POST", "/devices", authorizer=claims(ALICE), body=body)
    assert (status1, status2) == (201, 201)
    assert first["id"] == second["id"]
    rows = admin_conn.execute("SELECT sub, platform, endpoint_arn FROM device_tokens").fetchall()
    assert len(rows) == 1
    assert rows[0][:2] == (ALICE, "fcm")
    endpoint = boto("sns").get_endpoint_attributes(EndpointArn=rows[0][2])["Attributes"]
    assert endpoint["Token"] == "device-token-1"


def test_device_on_unconfigured_platform_is_409_and_bad_platform_400(env):
    status, body = call(
        "POST", "/devices", authorizer=claims(ALICE), body={"platform": "apns", "token": "ab" * 32}
    )
    assert status == 409
    assert body["error"]["fields"] == ["platform"]
    status, body = call(
        "POST", "/devices", authorizer=claims(ALICE), body={"platform": "sms", "token": "t"}
    )
    assert status == 400
    assert body["error"]["fields"] == ["platform"]


def test_notifications_self_ok_other_403_admin_ok_no_devices_404(env):
    call("POST", "/devices", authorizer=claims(ALICE), body={"platform": "fcm", "token": "tok-a"})
    note = {"user_sub": ALICE, "title": "Hello", "body": "You have a new message"}
    # Alice notifies herself
    status, body = call("POST", "/notifications", authorizer=claims(ALICE), body=note)
    assert (status, body) == (200, {"sent": 1, "failed": 0, "pruned": 0})
    # Bob may not notify Alice
    status, body = call("POST", "/notifications", authorizer=claims(BOB), body=note)
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    # An admin may
    status, body = call(
        "POST", "/notifications", authorizer=claims(BOB, groups="admins"), body=note
    )
    assert (status, body) == (200, {"sent": 1, "failed": 0, "pruned": 0})
    # Bob has no devices: 404
    status, body = call(
        "POST", "/notifications", authorizer=claims(BOB), body={**note, "user_sub": BOB}
    )
    assert status == 404
    # validation
    status, body = call(
        "POST", "/notifications", authorizer=claims(ALICE), body={"user_sub": ALICE, "title": ""}
    )
    assert status == 400
    assert sorted(body["error"]["fields"]) == ["body", "title"]
    assert json.dumps(body).count("You have") == 0


def test_identity_that_is_not_a_plain_id_cannot_create_upload_keys(env):
    status, body = call(
        "POST",
        "/uploads",
        authorizer={"sub": "../other-user"},
        body={"filename": "a.txt", "content_type": "text/plain", "size": 1},
    )
    assert status == 403
    assert body["error"]["code"] == "forbidden"


def test_preferences_keep_every_string_json_can_carry_and_refuse_unpaired_surrogates(
    env, admin_conn
):
    # GIVEN a document whose key and value hold U+0000, which jsonb cannot store (the column is
    # json since migration 0003, so any string the document allows is storable)
    document = {"k\u0000": "da\u0000rk", "ñ": ["日本", {"deep": True}]}
    # WHEN it is saved THEN it round-trips exactly, through the API and in the database
    status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=document)
    assert (status, body["preferences"]) == (200, document)
    assert call("GET", "/me", authorizer=claims(ALICE))[1]["preferences"] == document
    stored = admin_conn.execute("SELECT preferences FROM user_preferences").fetchone()[0]
    assert stored == document
    # AND an unpaired surrogate (not UTF-8, so not I-JSON) is the client's error, not a 500
    for raw in ('{"s": ["\\ud800"]}', '{"\\udc00": 1}'):
        status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body=raw)
        assert (status, body["error"]["fields"]) == (400, ["body"]), raw


def test_a_missing_upload_is_404_when_s3_answers_403_for_lack_of_list_permission():
    # GIVEN the deployed role (no s3:ListBucket), S3 answers HeadObject on a missing key 403
    import pytest
    from botocore.exceptions import ClientError

    from backend.errors import NotFoundError
    from backend.identity import Caller
    from backend.uploads import create_download

    class S3WithoutListBucket:
        def head_object(self, **_):
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    caller = Caller(sub="alice", email=None, groups=frozenset())
    opaque = upload_id("uploads/alice/0b8a-photo.jpg")
    # WHEN the owner asks for it THEN it is "not found", not a server error
    with pytest.raises(NotFoundError):
        create_download(S3WithoutListBucket(), bucket="b", caller=caller, opaque_id=opaque)
