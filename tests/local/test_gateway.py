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


# --- what API Gateway does around the authorizer (local.auth.TokenAuthorizer) ---------------
JWT_LIKE = "aaa.bbb.ccc"
PATTERN = r"^(Bearer )?[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+$"


def allowing(resource: str):
    calls = []

    def invoke(event):
        calls.append(event)
        return {
            "principalId": "user-1",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}
                ],
            },
            "context": {"sub": "user-1"},
        }

    return invoke, calls


def token_authorizer(invoke, **kwargs):
    from local.auth import TokenAuthorizer

    return TokenAuthorizer(
        invoke, region="eu-west-1", account="123456789012", stage="api", **kwargs
    )


def test_a_header_not_matching_the_identity_expression_never_invokes_the_function():
    invoke, calls = allowing("*")
    authorizer = token_authorizer(invoke, identity_pattern=PATTERN)
    with pytest.raises(Unauthorized):
        authorizer({"authorization": "not-a-jwt"}, "GET", "/me")
    assert calls == []
    assert authorizer({"authorization": JWT_LIKE}, "GET", "/me")["sub"] == "user-1"
    assert calls[0]["methodArn"] == "arn:aws:execute-api:eu-west-1:123456789012:local/api/GET/me"


def test_a_policy_that_does_not_allow_the_method_is_a_403():
    from local.gateway import Forbidden

    invoke, _ = allowing("arn:aws:execute-api:eu-west-1:123456789012:local/api/GET/*")
    authorizer = token_authorizer(invoke)
    assert authorizer({"authorization": JWT_LIKE}, "GET", "/users")["principalId"] == "user-1"
    with pytest.raises(Forbidden):
        authorizer({"authorization": JWT_LIKE}, "POST", "/users")
    gateway = Gateway(DOCUMENT, echo_handler, authorizer)
    status, _, body = call(gateway, "POST", "/users", {"authorization": JWT_LIKE})
    assert (status, body["error"]["code"]) == (403, "AccessDenied")


def test_answers_are_cached_per_token_for_the_ttl():
    invoke, calls = allowing("*")
    now = [1000.0]
    authorizer = token_authorizer(invoke, ttl_seconds=300, clock=lambda: now[0])
    for _ in range(3):
        authorizer({"authorization": JWT_LIKE}, "GET", "/me")
    assert len(calls) == 1
    now[0] += 301
    authorizer({"authorization": JWT_LIKE}, "GET", "/me")
    assert len(calls) == 2


def test_a_failing_function_is_a_502_without_details():
    from local.gateway import FunctionError

    def failing(event, context):
        raise FunctionError("KeyError: 'secret detail'")

    status, _, body = call(Gateway(DOCUMENT, failing, allow_all), "GET", "/health")
    assert status == 502
    assert body == {"error": {"code": "IntegrationFailure", "message": "Internal server error"}}


def test_health_is_degraded_while_a_local_process_is_down(tmp_path):
    from local.api_server import with_process_health

    def healthy(event, context):
        return {
            "statusCode": 200,
            "headers": {},
            "body": json.dumps({"status": "ok", "role": "writer"}),
        }

    status_file = tmp_path / "status.json"
    status_file.write_text(
        json.dumps(
            {
                "api": {"state": "running", "restarts": 0},
                "subscriber": {"state": "restarting", "restarts": 2},
            }
        )
    )
    answer = with_process_health(healthy, tmp_path)
    result = answer({"resource": "/health"}, None)
    assert result["statusCode"] == 503
    assert json.loads(result["body"]) == {"status": "degraded", "role": "writer"}
    assert result["headers"]["X-Local-Processes"] == (
        "api=running, subscriber=restarting (restarts: 2)"
    )
    # Other routes are the function's answer, untouched.
    assert answer({"resource": "/me"}, None)["statusCode"] == 200


# R-OPS-2: the synthesized body requires the app key next to the token on secured operations.
KEYED_DOCUMENT = {
    "openapi": "3.0.3",
    "x-amazon-apigateway-api-key-source": "HEADER",
    "components": {
        "securitySchemes": {
            "cognito": {"type": "apiKey", "x-amazon-apigateway-authtype": "custom"},
            "app_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
        }
    },
    "paths": {
        "/health": {"get": {"security": []}},
        "/users": {"get": {"security": [{"cognito": [], "app_key": []}]}},
    },
}


def test_a_secured_request_needs_a_valid_app_key_after_its_token():
    keyed = Gateway(KEYED_DOCUMENT, echo_handler, allow_all, api_keys=["web-key-of-twenty-chars"])
    token = {"authorization": "good"}
    # No key, or one no usage plan knows: 403 before the integration, as API Gateway does.
    for headers in (token, {**token, "x-api-key": "someone-elses-key-0000"}):
        status, _, body = call(keyed, "GET", "/users", headers)
        assert (status, body["error"]["code"]) == (403, "INVALID_API_KEY"), headers
    # The token is checked first: no token is a 401 whatever the key.
    assert call(keyed, "GET", "/users", {"x-api-key": "web-key-of-twenty-chars"})[0] == 401
    status, _, body = call(
        keyed, "GET", "/users", {**token, "x-api-key": "web-key-of-twenty-chars"}
    )
    assert status == 200 and body["event"]["headers"]["x-api-key"] == "web-key-of-twenty-chars"
    # The public health check needs neither (Route 53 cannot send headers).
    assert call(keyed, "GET", "/health")[0] == 200
