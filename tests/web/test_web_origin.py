"""The local web origin (`make dev`): static files as the stack uploads them, config.json,
and same-origin `/api/*` routing with the prefix kept, as CloudFront does in the cloud."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.gateway import Gateway
from local.web import WebOrigin, is_loopback_origin, web_config

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = {
    "openapi": "3.0.3",
    "security": [{"cognito": []}],
    "paths": {"/health": {"get": {"security": []}}, "/users": {"get": {}}},
}


def echo(event, context):
    return {"statusCode": 200, "headers": {}, "body": json.dumps({"path": event["path"]})}


def refuse(headers, method, path):
    from local.gateway import Unauthorized

    raise Unauthorized("no token")


@pytest.fixture
def origin():
    api = Gateway(DOCUMENT, echo, refuse, base_path="/api", keep_base_path=True)
    config = web_config("eu-west-1", "eu-west-1_x", "client", "k" * 20, "http://127.0.0.1:5000")
    return WebOrigin(ROOT / "web", api, config, HEADERS)


# What local.region.edge_headers makes of the edge's synthesized policy (tested there).
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "connect-src 'self' http://127.0.0.1:5000",
    "X-Content-Type-Options": "nosniff",
}


def get(origin, path, method="GET", headers=None):
    return origin.handle(method, path, headers or {}, b"", "127.0.0.1")


def test_root_serves_index_html_with_the_edges_security_headers(origin):
    status, headers, body = get(origin, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="js/app.js">' in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert "connect-src 'self' http://127.0.0.1:5000" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_modules_are_served_as_javascript(origin):
    status, headers, body = get(origin, "/js/api-client.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert b"export class ApiError" in body


def test_unknown_hidden_and_escaping_paths_are_404(origin):
    for path in ("/nope.js", "/../README.md", "/%2e%2e/README.md", "/js/../../Makefile"):
        assert get(origin, path)[0] == 404, path


def test_config_json_is_generated_and_never_cached(origin):
    status, headers, body = get(origin, "/config.json")
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert json.loads(body) == {
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_x",
        "clientId": "client",
        "cognitoEndpoint": "http://127.0.0.1:5000/",
        "apiBase": "/api",
        "apiKey": "k" * 20,
    }


def test_api_paths_reach_the_gateway_with_the_prefix_kept(origin):
    status, _, body = get(origin, "/api/health")
    assert status == 200
    assert json.loads(body) == {"path": "/api/health"}
    assert get(origin, "/api/users")[0] == 401
    assert get(origin, "/health")[0] == 404  # the API lives under /api only


def test_static_files_refuse_writes(origin):
    status, headers, _ = get(origin, "/index.html", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_dev_api_answers_cors_preflight_for_loopback_origins_only():
    api = Gateway(DOCUMENT, echo, refuse, cors_origin=is_loopback_origin)
    preflight = {"origin": "http://localhost:3000", "access-control-request-method": "GET"}
    status, headers, _ = api.handle("OPTIONS", "/users", preflight, b"", "127.0.0.1")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    status, headers, _ = api.handle("GET", "/health", {"origin": "http://127.0.0.1:8081"}, b"", "")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8081"
    foreign = {"origin": "https://evil.example", "access-control-request-method": "GET"}
    status, headers, _ = api.handle("OPTIONS", "/users", foreign, b"", "127.0.0.1")
    assert status == 405 and "Access-Control-Allow-Origin" not in headers
