"""The local API Gateway stand-in: routing from OpenAPI, proxy events, Cognito token checks."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request

import boto3
import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local.auth import for_local_pool
from local.gateway import Gateway, Unauthorized, routes_from_openapi, serve

DOCUMENT = {
    "openapi": "3.0.3",
    "security": [{"cognito": []}],
    "paths": {
        "/health": {"get": {"security": []}},
        "/users": {"get": {}, "post": {}},
        "/users/{id}": {"get": {}},
        "/users/me": {"get": {}},
        "/uploads/{key+}": {"get": {}},
    },
}


def echo_handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"event": event, "request_id": context.aws_request_id}),
    }


def allow_all(headers, method, path):
    if headers.get("authorization") != "good":
        raise Unauthorized("nope")
    return {"principalId": "user-1", "sub": "user-1"}


@pytest.fixture
def gateway():
    return Gateway(DOCUMENT, echo_handler, allow_all)


def call(gateway, method, path, headers=None, body=b""):
    status, response_headers, raw = gateway.handle(method, path, headers or {}, body, "127.0.0.1")
    return status, response_headers, json.loads(raw)


def test_literal_routes_win_over_templates():
    templates = [r.template for r in routes_from_openapi(DOCUMENT)]
    assert templates.index("/users/me") < templates.index("/users/{id}")


def test_unknown_path_is_404_and_undeclared_method_405(gateway):
    assert call(gateway, "GET", "/nope")[0] == 404
    status, headers, body = call(gateway, "DELETE", "/users", {"authorization": "good"})
    assert (status, body["error"]["code"]) == (405, "MethodNotAllowed")
    assert headers["Allow"] == "GET, POST"


def test_secured_route_without_valid_token_never_reaches_the_handler(gateway):
    status, _, body = call(gateway, "GET", "/users")
    assert (status, body) == (401, {"error": {"code": "Unauthorized", "message": "nope"}})


def test_health_is_open(gateway):
    status, _, body = call(gateway, "GET", "/health")
    assert status == 200
    assert "authorizer" not in body["event"]["requestContext"]


def test_proxy_event_carries_route_params_query_and_claims(gateway):
    status, _, body = call(
        gateway, "GET", "/users/42?limit=5&limit=7&cursor=", {"authorization": "good"}
    )
    event = body["event"]
    assert status == 200
    assert event["resource"] == "/users/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"limit": "7", "cursor": ""}
    assert event["multiValueQueryStringParameters"]["limit"] == ["5", "7"]
    assert event["requestContext"]["authorizer"] == {"principalId": "user-1", "sub": "user-1"}
    assert event["requestContext"]["resourcePath"] == "/users/{id}"


def test_greedy_path_parameter_keeps_slashes(gateway):
    _, _, body = call(gateway, "GET", "/uploads/a/b/c.png", {"authorization": "good"})
    assert body["event"]["pathParameters"] == {"key": "a/b/c.png"}


def test_binary_body_is_base64_encoded(gateway):
    _, _, body = call(gateway, "POST", "/users", {"authorization": "good"}, b"\xff\x00")
    assert body["event"]["isBase64Encoded"] is True
    assert base64.b64decode(body["event"]["body"]) == b"\xff\x00"


def test_base_path_is_stripped_like_a_custom_domain_mapping():
    gateway = Gateway(DOCUMENT, echo_handler, allow_all, base_path="/api")
    assert call(gateway, "GET", "/api/health")[0] == 200
    assert call(gateway, "GET", "/health")[0] == 404


def test_served_over_http_on_loopback(gateway):
    server = serve(gateway)
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as response:
            assert response.status == 200
            assert json.load(response)["event"]["path"] == "/health"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/users")
        assert refused.value.code == 401
    finally:
        server.shutdown()


# --- the deployed token authorizer's code, on tokens issued by moto's Cognito


@pytest.fixture(scope="module")
def cognito():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    def client(region="eu-west-1"):
        return boto3.client(
            "cognito-idp",
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def pool_with_user(name):
        idp = client()
        pool = idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
        app = idp.create_user_pool_client(
            UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(
            UserPoolId=pool,
            Username="demo@example.com",
            UserAttributes=[{"Name": "email", "Value": "demo@example.com"}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=pool, Username="demo@example.com", Password="Demo-Passw0rd!", Permanent=True
        )
        return idp.initiate_auth(
            ClientId=app,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "demo@example.com", "PASSWORD": "Demo-Passw0rd!"},
        )["AuthenticationResult"]

    trusted = pool_with_user("mobile-backend-local-users")
    other = pool_with_user("somebody-elses-pool")
    yield endpoint, client, trusted, other
    server.stop()


def authorizer_for(cognito, clock=None):
    endpoint, client, _, _ = cognito
    authorizer = for_local_pool("mobile-backend-local-users", "eu-west-1", endpoint, client)
    if clock is not None:
        authorizer._clock = clock
    return authorizer


def test_valid_id_token_yields_the_context_the_cloud_authorizer_returns(cognito):
    _, _, tokens, _ = cognito
    context = authorizer_for(cognito)(
        {"authorization": f"Bearer {tokens['IdToken']}"}, "GET", "/me"
    )
    assert context["principalId"] == context["sub"]
    assert context["issuer"].startswith("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_")
    assert set(context) == {"principalId", "sub", "email", "groups", "issuer"}


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda t, o: t["IdToken"][:-4] + "AAAA", id="tampered-signature"),
        pytest.param(lambda t, o: o["IdToken"], id="pool-not-ours"),
        pytest.param(lambda t, o: t["AccessToken"], id="access-token"),
        pytest.param(lambda t, o: "not.a.jwt", id="malformed"),
    ],
)
def test_bad_tokens_are_refused(cognito, mutate):
    _, _, tokens, other = cognito
    with pytest.raises(Unauthorized):
        authorizer_for(cognito)({"authorization": mutate(tokens, other)}, "GET", "/me")


def test_missing_token_is_refused_before_the_authorizer_runs(cognito):
    with pytest.raises(Unauthorized, match="missing"):
        authorizer_for(cognito)({}, "GET", "/me")


def test_expired_token_is_refused(cognito):
    _, _, tokens, _ = cognito
    later = authorizer_for(cognito, clock=lambda: time.time() + 2 * 3600)
    with pytest.raises(Unauthorized):
        later({"authorization": tokens["IdToken"]}, "GET", "/me")
