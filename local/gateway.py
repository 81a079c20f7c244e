"""A local stand-in for API Gateway (REST, Lambda proxy integration) driven by OpenAPI.

Routes come from the same ``openapi/openapi.json`` API Gateway imports in the cloud: a path
not in the document is a 404 and a method not declared for it a 405 (as API Gateway's
"Missing Authentication Token"/method errors would stop it) before the handler ever runs.
Protected routes go through an authorizer callable that returns what API Gateway would put in
``requestContext.authorizer`` (``local.auth`` runs the deployed token authorizer's own code)
or raises ``Unauthorized``; an operation that requires the app's API key (R-OPS-2) is then
refused with 403 unless ``x-api-key`` holds one of the stage's keys. Each request becomes
a REST proxy event (payload format 1.0) for the real Lambda handler; one request runs at a
time, as in one Lambda container. ``keep_base_path`` routes under a prefix but leaves it in the
event (CloudFront's ``/api/*`` through the custom domain mapping); ``cors_origin`` (dev only)
lets browser tools on those origins call the API cross-origin.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from contract.names import API_KEY_HEADER

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# (headers, method, path) → the value API Gateway puts in ``requestContext.authorizer``.
Authorizer = Callable[[Mapping[str, str], str, str], dict[str, Any]]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Matches the deployed stage's payload limit: API Gateway refuses bodies over 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024


class Unauthorized(Exception):
    """The authorizer refused the request (API Gateway answers 401 without invoking)."""


class Forbidden(Exception):
    """The authorizer's policy does not allow this method (API Gateway answers 403)."""


class FunctionError(Exception):
    """The integration's function failed (API Gateway answers 502 without its details)."""


@dataclass(frozen=True)
class Route:
    template: str
    methods: frozenset[str]
    secured: frozenset[str]
    pattern: re.Pattern[str]
    # Methods whose security requirement includes a plain API key scheme (R-OPS-2).
    key_required: frozenset[str] = frozenset()

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else found.groupdict()


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = ""
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            regex += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(regex)


def routes_from_openapi(document: Mapping[str, Any]) -> list[Route]:
    """Routes in the order API Gateway prefers them: literal paths before templated ones."""
    default_security = bool(document.get("security"))
    # API Gateway's own API keys: an apiKey scheme that is not a custom (Lambda) authorizer,
    # read from the header when the document says so (x-amazon-apigateway-api-key-source).
    key_schemes = {
        name
        for name, scheme in (document.get("components", {}).get("securitySchemes") or {}).items()
        if scheme.get("type") == "apiKey" and "x-amazon-apigateway-authtype" not in scheme
    }
    if document.get("x-amazon-apigateway-api-key-source", "HEADER") != "HEADER":
        key_schemes = set()
    routes = []
    for template, item in document.get("paths", {}).items():
        methods = {m for m in item if m in METHODS}
        secured, key_required = set(), set()
        for method in methods:
            operation = item[method]
            security = operation.get("security")
            if (security is None and default_security) or security:
                secured.add(method)
            if any(key_schemes & set(requirement) for requirement in security or ()):
                key_required.add(method)
        routes.append(
            Route(
                template,
                frozenset(methods),
                frozenset(secured),
                _compile(template),
                frozenset(key_required),
            )
        )
    return sorted(routes, key=lambda r: (r.template.count("{"), -len(r.template)))


def _json_response(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, {"Content-Type": "application/json"}, body


class Gateway:
    """Turns HTTP requests into REST proxy events for ``handler`` and back."""

    def __init__(
        self,
        document: Mapping[str, Any],
        handler: Handler,
        authorizer: Authorizer,
        *,
        stage: str = "local",
        base_path: str = "",
        keep_base_path: bool = False,
        cors_origin: Callable[[str], bool] | None = None,
        lock: threading.Lock | None = None,
        api_keys: Collection[str] = (),
    ):
        self.routes = routes_from_openapi(document)
        self.handler = handler
        self.authorizer = authorizer
        self.stage = stage
        self.base_path = base_path.rstrip("/")
        # A custom domain's base path mapping routes without the prefix but leaves it in the
        # proxy event's ``path`` (what CloudFront's ``/api/*`` behaviour produces).
        self.keep_base_path = keep_base_path
        # Dev only: which browser origins (local tools) may call the API cross-origin.
        self.cors_origin = cors_origin
        # Gateways sharing one handler share its lock: one Lambda container, one request.
        self._one_at_a_time = lock or threading.Lock()
        # The enabled keys bound to a usage plan of this stage: anything else is refused.
        self.api_keys = frozenset(api_keys)

    def route(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(path)
            if params is not None:
                return route, params
        return None

    def event(
        self,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        body: bytes,
        route: Route,
        path_params: dict[str, str],
        authorizer: dict[str, Any] | None,
        source_ip: str,
    ) -> dict[str, Any]:
        split = urlsplit(raw_path)
        multi_query = parse_qs(split.query, keep_blank_values=True)
        text_body: str | None = None
        is_base64 = False
        if body:
            try:
                text_body = body.decode("utf-8")
            except UnicodeDecodeError:
                text_body, is_base64 = base64.b64encode(body).decode(), True
        request_id = str(uuid.uuid4())
        context: dict[str, Any] = {
            "resourcePath": route.template,
            "httpMethod": method,
            "path": f"/{self.stage}{split.path}",
            "stage": self.stage,
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", "")},
        }
        if authorizer is not None:
            context["authorizer"] = authorizer
        return {
            "resource": route.template,
            "path": split.path,
            "httpMethod": method,
            "headers": dict(headers),
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": context,
            "body": text_body,
            "isBase64Encoded": is_base64,
        }

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        origin = headers.get("origin", "")
        if not (origin and self.cors_origin is not None and self.cors_origin(origin)):
            return self._handle(method, raw_path, headers, body, source_ip)
        if method == "OPTIONS" and "access-control-request-method" in headers:
            status, response_headers, response_body = 204, {}, b""
            response_headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
            response_headers["Access-Control-Allow-Headers"] = (
                f"Authorization, Content-Type, Idempotency-Key, {API_KEY_HEADER}"
            )
            response_headers["Access-Control-Max-Age"] = "300"
        else:
            status, response_headers, response_body = self._handle(
                method, raw_path, headers, body, source_ip
            )
        response_headers["Access-Control-Allow-Origin"] = origin
        response_headers["Vary"] = "Origin"
        return status, response_headers, response_body

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        if self.base_path:
            if not (path == self.base_path or path.startswith(self.base_path + "/")):
                return _json_response(404, "NotFound", f"no route for {path}")
            path = path[len(self.base_path) :] or "/"
            if not self.keep_base_path:
                query = urlsplit(raw_path).query
                raw_path = path + (f"?{query}" if query else "")
        found = self.route(path)
        if found is None:
            return _json_response(404, "NotFound", f"no route for {path}")
        route, params = found
        lowered = method.lower()
        if lowered not in route.methods:
            status, headers, body = _json_response(
                405, "MethodNotAllowed", f"{method} not allowed on {path}"
            )
            headers["Allow"] = ", ".join(sorted(m.upper() for m in route.methods))
            return status, headers, body
        authorized = None
        if lowered in route.secured:
            try:
                # The authorizer is a Lambda too (one request per container): its pool and
                # key caches are not built for concurrent first calls.
                with self._one_at_a_time:
                    authorized = self.authorizer(headers, method, path)
            except Unauthorized as refusal:
                return _json_response(401, "Unauthorized", str(refusal) or "Unauthorized")
            except Forbidden as refusal:
                return _json_response(403, "AccessDenied", str(refusal))
        # After the authorizer, as API Gateway does: a missing or unknown app key is a 403
        # (gateway response INVALID_API_KEY) without invoking the integration. Throttles and
        # quotas of the usage plans are not modelled locally.
        if lowered in route.key_required:
            key = next((v for k, v in headers.items() if k.lower() == API_KEY_HEADER), None)
            if key is None or key not in self.api_keys:
                return _json_response(403, "INVALID_API_KEY", "Forbidden")
        event = self.event(method, raw_path, headers, body, route, params, authorized, source_ip)
        try:
            with self._one_at_a_time:
                result = self.handler(event, LambdaContext())
        except FunctionError:
            return _json_response(502, "IntegrationFailure", "Internal server error")
        return _from_proxy_result(result)


def _from_proxy_result(result: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result.get("statusCode", 200)), headers, raw


class LambdaContext:
    """The attributes Powertools reads from the Lambda context object."""

    function_name = "mobile-backend-local-api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:mobile-backend-local-api"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/mobile-backend-local-api"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 10

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Origin(Protocol):
    """Anything that answers a request: the API gateway here, the web origin in local.web."""

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]: ...


def serve(
    origin: Origin,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    failure: tuple[int, dict[str, str], bytes] | None = None,
    sock: socket.socket | None = None,
) -> ThreadingHTTPServer:
    """Serve ``origin`` on a daemon thread; the caller owns ``shutdown()``. ``failure`` is the
    answer when ``origin`` itself raises (a JSON 500 by default: never a stack trace).
    ``sock``: an already listening socket (inherited from the orchestrator) instead of
    ``host``/``port``."""
    fallback = failure or _json_response(500, "InternalError", "internal error")
    too_large = _json_response(413, "PayloadTooLarge", "body over 10 MB")

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes; with Nagle on, the body waits for the
        # client's delayed ACK (~40 ms per keep-alive request on loopback).
        disable_nagle_algorithm = True

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                status, headers, body = too_large
            else:
                body_in = self.rfile.read(length) if length else b""
                request_headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, headers, body = origin.handle(
                        self.command, self.path, request_headers, body_in, self.client_address[0]
                    )
                except Exception:  # the origin's own error path failed: never leak a trace
                    status, headers, body = fallback
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the origin (like API Gateway), which answers 405 + Allow
            # for those it does not serve instead of http.server's bare 501.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    if sock is None:
        server = ThreadingHTTPServer((host, port), RequestHandler)
    else:
        server = ThreadingHTTPServer(sock.getsockname()[:2], RequestHandler, False)
        server.socket.close()
        server.socket = sock
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
