"""Cognito user-migration trigger: peer pool (moto), PostgreSQL directory, legacy endpoint.

The directory is reached as deployed: the trigger invokes the in-VPC directory function through
a Lambda client; here that client runs the real directory handler against PostgreSQL with
Lambda's Invoke semantics (JSON both ways, a raised error reported as ``FunctionError``).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from backend.directory import upsert_user
from backend.passwords import hash_password, verify_password
from backend.user_migration import MigrationRejectedError, MigrationUnavailableError
from handlers import common
from handlers.user_directory import main as directory
from handlers.user_migration import main as trigger
from handlers.user_migration.main import handler
from tests.handlers.conftest import PEER_REGION, boto
from tests.handlers.helpers import LambdaContext

PEER_USER = "peer@example.com"
DIRECTORY_USER = "dir@example.com"
LEGACY_USER = "legacy@example.com"


class LegacyServer(BaseHTTPRequestHandler):
    """A loopback stand-in for the legacy auth endpoint."""

    users: ClassVar[dict[str, tuple[str, dict[str, str]]]] = {
        LEGACY_USER: ("legacy-pass", {"email": LEGACY_USER, "name": "Leg Acy"})
    }
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        LegacyServer.requests.append(payload)
        known = self.users.get(payload["username"])
        if known is None:
            self._answer(404, {"error": "unknown"})
        elif "password" in payload and payload["password"] != known[0]:
            self._answer(401, {"error": "bad password"})
        else:
            self._answer(200, {"attributes": known[1]})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


DIRECTORY_FUNCTION = (
    "arn:aws:lambda:eu-west-1:123456789012:function:mobile-backend-test-user-directory:live"
)


class InProcessLambda:
    """A Lambda client whose synchronous Invoke runs the real directory handler."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.answers: list[bytes] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        request = json.loads(Payload)
        self.calls.append((FunctionName, InvocationType, request))
        try:
            body, error = json.dumps(directory.handler(request, LambdaContext())).encode(), None
        except Exception as exc:  # what Lambda does with an unhandled error
            body = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()
            error = "Unhandled"
        self.answers.append(body)
        response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(body)}
        if error:
            response["FunctionError"] = error
        return response


@pytest.fixture
def legacy_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LegacyServer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    LegacyServer.requests.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/auth"
    server.shutdown()
    server.server_close()


@pytest.fixture
def trigger_env(env, monkeypatch, admin_conn, legacy_url) -> dict[str, str]:
    # GIVEN a peer pool in us-west-1 holding one user
    idp = boto("cognito-idp", PEER_REGION)
    pool_id = idp.create_user_pool(PoolName="peer", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="trigger",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=PEER_USER,
        UserAttributes=[
            {"Name": "email", "Value": PEER_USER},
            {"Name": "name", "Value": "Pe Er"},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=PEER_USER, Password="Peer-Pass-123!", Permanent=True
    )
    # AND a directory entry in PostgreSQL
    upsert_user(admin_conn, DIRECTORY_USER, DIRECTORY_USER, "dir-pass", {"locale": "es"})
    pools = [{"region": PEER_REGION, "user_pool_id": pool_id, "client_id": client_id}]
    monkeypatch.setenv("PEER_USER_POOLS", json.dumps(pools))
    monkeypatch.setenv("LEGACY_AUTH_URL", legacy_url)
    monkeypatch.setenv("USER_DIRECTORY_FUNCTION", DIRECTORY_FUNCTION)
    lambda_client = InProcessLambda()
    monkeypatch.setattr(trigger, "directory_client", lambda: lambda_client)
    common.reset()
    return {"pool_id": pool_id, "lambda": lambda_client}


def event(trigger: str, username: str, password: str | None = None, **request: Any) -> dict:
    req: dict[str, Any] = {"validationData": None, "clientMetadata": None, **request}
    if password is not None:
        req["password"] = password
    return {
        "version": "1",
        "triggerSource": trigger,
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_local",
        "userName": username,
        "callerContext": {"awsSdkVersion": "x", "clientId": "c"},
        "request": req,
        "response": {
            "userAttributes": None,
            "finalUserStatus": None,
            "messageAction": None,
            "desiredDeliveryMediums": None,
            "forceAliasCreation": None,
        },
    }


def sign_in(username: str, password: str, **request: Any) -> dict:
    return handler(
        event("UserMigration_Authentication", username, password, **request), LambdaContext()
    )["response"]


def forgot(username: str) -> dict:
    return handler(event("UserMigration_ForgotPassword", username), LambdaContext())["response"]


def peer_sub(pool_id: str, username: str) -> str:
    attributes = boto("cognito-idp", PEER_REGION).admin_get_user(
        UserPoolId=pool_id, Username=username
    )["UserAttributes"]
    return next(a["Value"] for a in attributes if a["Name"] == "sub")


def test_sign_in_migrates_from_peer_pool_confirmed_and_suppressed(trigger_env):
    response = sign_in(PEER_USER, "Peer-Pass-123!")
    assert response["userAttributes"] == {
        "email": PEER_USER,
        "name": "Pe Er",
        "email_verified": "true",
        # The user keeps their id: the peer pool's sub becomes this pool's custom:uid.
        "custom:uid": peer_sub(trigger_env["pool_id"], PEER_USER),
    }
    assert response["finalUserStatus"] == "CONFIRMED"
    assert response["messageAction"] == "SUPPRESS"
    assert LegacyServer.requests == []  # the first source decided


def test_a_user_migrated_before_keeps_their_first_id(trigger_env):
    # GIVEN a peer user who was themselves migrated into the peer pool (custom:uid set there)
    first_id = "0e5b7c1a-3f0d-4a8e-9c51-6d2f4b8a9e10"
    idp = boto("cognito-idp", PEER_REGION)
    idp.add_custom_attributes(
        UserPoolId=trigger_env["pool_id"],
        CustomAttributes=[{"Name": "uid", "AttributeDataType": "String", "Mutable": False}],
    )
    idp.admin_update_user_attributes(
        UserPoolId=trigger_env["pool_id"],
        Username=PEER_USER,
        UserAttributes=[{"Name": "custom:uid", "Value": first_id.upper()}],
    )
    # THEN migrating them again carries that id, not the peer pool's sub
    assert sign_in(PEER_USER, "Peer-Pass-123!")["userAttributes"]["custom:uid"] == first_id


def test_only_a_peer_pool_can_vouch_for_a_user_id(trigger_env):
    # GIVEN the legacy system answers with a custom:uid of its own (it could name anyone)
    LegacyServer.users["claims@example.com"] = (
        "legacy-pass",
        {"email": "claims@example.com", "custom:uid": "11111111-1111-4111-8111-111111111111"},
    )
    try:
        attributes = sign_in("claims@example.com", "legacy-pass")["userAttributes"]
    finally:
        del LegacyServer.users["claims@example.com"]
    # THEN it is dropped: the new user's id will be this pool's sub
    assert "custom:uid" not in attributes
    assert "custom:uid" not in sign_in(DIRECTORY_USER, "dir-pass")["userAttributes"]


def test_wrong_password_in_peer_pool_is_final(trigger_env):
    with pytest.raises(MigrationRejectedError, match="Incorrect username or password"):
        sign_in(PEER_USER, "wrong")
    assert LegacyServer.requests == []


def test_sign_in_falls_back_to_the_postgres_directory(trigger_env):
    response = sign_in(DIRECTORY_USER, "dir-pass")
    assert response["userAttributes"] == {
        "email": DIRECTORY_USER,
        "locale": "es",
        "email_verified": "true",
    }
    assert response["finalUserStatus"] == "CONFIRMED"
    with pytest.raises(MigrationRejectedError):
        sign_in(DIRECTORY_USER, "not-dir-pass")
    # The trigger asked the directory function synchronously, by its alias ARN.
    assert [(fn, kind) for fn, kind, _ in trigger_env["lambda"].calls] == [
        (DIRECTORY_FUNCTION, "RequestResponse")
    ] * 2
    assert LegacyServer.requests == []  # a wrong password in the directory is final


def test_password_hashes_stay_inside_the_directory_function(trigger_env):
    sign_in(DIRECTORY_USER, "dir-pass")
    forgot(DIRECTORY_USER)
    with pytest.raises(MigrationRejectedError):
        sign_in(DIRECTORY_USER, "wrong")
    answers = [json.loads(body) for body in trigger_env["lambda"].answers]
    assert [a["status"] for a in answers] == ["found", "found", "wrong_password"]
    assert not any("scrypt$" in body.decode() for body in trigger_env["lambda"].answers)
    assert answers[0]["attributes"] == {"email": DIRECTORY_USER, "locale": "es"}


def test_directory_down_is_skipped_and_reported_as_unavailable(trigger_env, monkeypatch):
    # GIVEN the directory function cannot reach its database (nothing listens on port 1)
    monkeypatch.setenv("DB_PORT", "1")
    common.reset()
    # THEN the legacy endpoint still migrates its users, a directory user gets "unavailable"
    assert sign_in(LEGACY_USER, "legacy-pass")["finalUserStatus"] == "CONFIRMED"
    with pytest.raises(MigrationUnavailableError):
        sign_in(DIRECTORY_USER, "dir-pass")
    assert all(
        json.loads(body)["errorType"] != "ValueError" for body in trigger_env["lambda"].answers
    )


def test_without_a_directory_function_the_directory_is_not_asked(trigger_env, monkeypatch):
    monkeypatch.delenv("USER_DIRECTORY_FUNCTION")
    common.reset()
    with pytest.raises(MigrationRejectedError):
        sign_in(DIRECTORY_USER, "dir-pass")
    assert trigger_env["lambda"].calls == []


@pytest.mark.parametrize(
    "request_body",
    [
        {},
        {"username": ""},
        {"username": "x" * 129},
        {"username": 7},
        {"username": DIRECTORY_USER, "password": ""},
        {"username": DIRECTORY_USER, "password": ["dir-pass"]},
        [DIRECTORY_USER],
    ],
)
def test_directory_function_refuses_malformed_requests(env, admin_conn, request_body):
    with pytest.raises(ValueError, match=r"username|password|JSON object"):
        directory.handler(request_body, LambdaContext())


def test_lambda_invoker_makes_one_synchronous_json_call():
    # Stubber checks the request against botocore's model of Lambda's Invoke.
    import boto3
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    from backend.user_migration import DirectoryUnavailableError, lambda_invoker

    client = boto3.client("lambda", region_name="eu-west-1")
    invoke = lambda_invoker(client, DIRECTORY_FUNCTION)
    request = {"username": DIRECTORY_USER}

    def answer(body: bytes, **extra: Any) -> dict[str, Any]:
        return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body)), **extra}

    expected = {
        "FunctionName": DIRECTORY_FUNCTION,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps(request).encode(),
    }
    with Stubber(client) as stub:
        stub.add_response("invoke", answer(b'{"status": "not_found"}'), expected)
        stub.add_response(
            "invoke", answer(b'{"errorMessage": "timed out"}', FunctionError="Unhandled"), expected
        )
        assert invoke(request) == {"status": "not_found"}
        with pytest.raises(DirectoryUnavailableError, match="Unhandled") as failure:
            invoke(request)
        assert "timed out" not in str(failure.value)  # the error document is not echoed
        stub.assert_no_pending_responses()


def test_directory_client_fits_cognitos_five_second_budget(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    common.reset()
    trigger.directory_client.cache_clear()
    try:
        config = trigger.directory_client().meta.config
        assert config.read_timeout + config.connect_timeout <= 5
        assert config.retries["total_max_attempts"] == 1  # no retry after a timeout
    finally:
        trigger.directory_client.cache_clear()


def test_sign_in_falls_back_to_the_legacy_endpoint(trigger_env):
    response = sign_in(LEGACY_USER, "legacy-pass")
    assert response["userAttributes"] == {
        "email": LEGACY_USER,
        "name": "Leg Acy",
        "email_verified": "true",
    }
    assert LegacyServer.requests == [{"username": LEGACY_USER, "password": "legacy-pass"}]
    with pytest.raises(MigrationRejectedError):
        sign_in(LEGACY_USER, "nope")


def test_unknown_everywhere_is_rejected_with_the_generic_message(trigger_env):
    with pytest.raises(MigrationRejectedError, match="Incorrect username or password"):
        sign_in("ghost@example.com", "whatever")


def test_forgot_password_looks_up_every_source_without_password(trigger_env):
    for username in (PEER_USER, DIRECTORY_USER, LEGACY_USER):
        response = forgot(username)
        assert response["userAttributes"]["email"] == username
        assert response["userAttributes"]["email_verified"] == "true"
        assert response["messageAction"] == "SUPPRESS"
        assert response["finalUserStatus"] is None
    assert LegacyServer.requests == [{"username": LEGACY_USER}]
    with pytest.raises(MigrationRejectedError):
        forgot("ghost@example.com")


def test_request_from_a_peer_trigger_does_not_ask_peers_again(trigger_env):
    # GIVEN the call carries the hop marker a peer's trigger adds
    # WHEN the user exists only in the peer pool THEN it is not consulted (no ping-pong)
    with pytest.raises(MigrationRejectedError):
        sign_in(PEER_USER, "Peer-Pass-123!", clientMetadata={"migration_hop": "1"})


def test_broken_source_is_skipped_and_reported_as_unavailable(trigger_env, monkeypatch):
    # GIVEN the legacy endpoint is down (nothing listens on port 1)
    monkeypatch.setenv("LEGACY_AUTH_URL", "http://127.0.0.1:1/auth")
    common.reset()
    # THEN users found earlier in the chain still migrate, unknown ones get "unavailable"
    assert sign_in(DIRECTORY_USER, "dir-pass")["finalUserStatus"] == "CONFIRMED"
    with pytest.raises(MigrationUnavailableError):
        sign_in("ghost@example.com", "whatever")


def test_password_hashes_verify_and_reject():
    encoded = hash_password("s3cret")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret!", encoded)
    pbkdf2 = (
        "pbkdf2_sha256$1000$c2FsdA==$"
        + __import__("base64")
        .b64encode(__import__("hashlib").pbkdf2_hmac("sha256", b"pw", b"salt", 1000))
        .decode()
    )
    assert verify_password("pw", pbkdf2)
    assert not verify_password("pw", "md5$whatever")
    assert not verify_password("pw", "scrypt$999999999$8$1$AA==$AA==")


def test_deployed_trigger_discovers_the_peer_pool_by_name(trigger_env, monkeypatch):
    # GIVEN the deployed configuration: no pool ids, only the deterministic names
    from handlers.user_migration import main

    idp = boto("cognito-idp", PEER_REGION)
    idp.create_user_pool(PoolName="someone-elses-pool")  # must not be consulted
    monkeypatch.delenv("PEER_USER_POOLS")
    monkeypatch.setenv("USER_POOL_NAME", "peer")
    monkeypatch.setenv("PEER_USER_POOL_REGIONS", json.dumps([PEER_REGION, "ap-south-1"]))
    monkeypatch.setenv("MIGRATION_CLIENT_NAME", "trigger")
    common.reset()
    main._discover.cache_clear()
    try:
        # WHEN the peer region's user signs in here
        response = sign_in(PEER_USER, "Peer-Pass-123!")
        # THEN the pool and its migration client were found by name (the empty region skipped)
        assert [(p.region, p.user_pool_id) for p in main.peer_pools()] == [
            (PEER_REGION, trigger_env["pool_id"])
        ]
        assert response["userAttributes"]["email"] == PEER_USER
        assert response["finalUserStatus"] == "CONFIRMED"
    finally:
        main._discover.cache_clear()


@pytest.mark.parametrize(
    "value", ["user directory", "arn:aws:lambda:eu-west-1:12345:function:x", "a" * 65]
)
def test_directory_function_setting_must_name_a_function(value):
    from contract.environment import MigrationTriggerSettings, SettingsError

    with pytest.raises(SettingsError, match="USER_DIRECTORY_FUNCTION"):
        MigrationTriggerSettings.from_env(
            {"AWS_REGION": "eu-west-1", "USER_DIRECTORY_FUNCTION": value}
        )


def test_discovery_needs_the_pool_and_client_names():
    from contract.environment import MigrationTriggerSettings, SettingsError

    with pytest.raises(SettingsError, match="USER_POOL_NAME and MIGRATION_CLIENT_NAME"):
        MigrationTriggerSettings.from_env(
            {"AWS_REGION": "eu-west-1", "PEER_USER_POOL_REGIONS": '["us-west-1"]'}
        )
