"""Warm latency, throughput and connection counts against the local backend's pieces.

``local_stack`` builds what ``make dev`` builds, minus the long-running function processes:
the dev stack's region from its synthesized graph (``local.region``) in moto, PostgreSQL as the
cluster and proxy declare it (TLS, IAM logins; schema by the deploy-time migration invocation),
and the api function's synthesized environment applied to this process (no IAM check: the
figures are the handler's own cost). Requests are API
Gateway REST proxy events built by ``local.gateway.Gateway.event`` (the same code ``make dev``
uses), handed to the real handler in this process, and, for the HTTP figures, sent over
loopback to ``local.gateway.serve`` with ``http.client`` (keep-alive, one connection, as one
Lambda container serves one request at a time). Identity comes from a fixed set of claims, as
API Gateway's Cognito authorizer would pass them: token checks happen before the function in
the cloud and are not part of its latency.

``profile_routes`` runs each route once more under libpq's protocol trace and botocore's call
events (bench/profile.py): the round trips and AWS calls the latency and cost models use.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.profile import SUBSCRIBER_LABEL, AwsCalls, RouteProfile, traced
from contract import environment as env_vars
from contract.names import API_KEY_HEADER
from local.backend import DB_NAME, deploy_time_invocation, prepare_database
from local.cloud import LocalCloud, client
from local.gateway import Gateway, LambdaContext, serve
from local.postgres import LocalPostgres
from local.region import LocalRegion, build_region, synthesize_graph
from local.runtime import REGION_FILE, runtime_environment
from local.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[1]
BENCH_SUB = "0b6f2f9e-5c1d-4d0e-9a4e-6c0f1b2a3c4d"
# The app key the bench's gateway accepts: an identifier, not a secret (R-OPS-2).
BENCH_API_KEY = "bench-app-key-00000000"
CLAIMS = {"sub": BENCH_SUB, "email": "bench@example.com"}


@dataclass
class Stack:
    region: LocalRegion
    pg: LocalPostgres
    env: dict[str, str]
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def queue_arn(self) -> str:
        return self.region.event_sources[0].queue_arn

    @property
    def assets_bucket(self) -> str:
        return self.region.functions["api"].environment["ASSETS_BUCKET"]


@contextmanager
def local_stack() -> Iterator[Stack]:
    """The dev region + PostgreSQL + the api's environment applied to this process."""
    from handlers import common

    # The data directory itself is handed to the postgres user when running as root (its
    # parent must stay traversable): a directory of its own, as the handler tests do.
    # moto's server logs every request through werkzeug: thousands of lines otherwise.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    workdir.chmod(0o755)
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        graph = synthesize_graph("dev", workdir / "build")
    pg = LocalPostgres(workdir / "postgres", tls=True).start()
    cloud = LocalCloud()
    saved = dict(os.environ)
    try:
        endpoint = cloud.start()
        region = build_region(
            graph,
            lambda service: client(service, endpoint, graph.region),
            endpoint=endpoint,
            db_port=pg.port,
            web_origin="http://127.0.0.1:1",
        )
        (workdir / REGION_FILE).write_text(json.dumps(region.describe(), default=str))
        prepare_database(pg, region)
        with (workdir / "migrations.log").open("a") as log:
            deploy_time_invocation(region, workdir, Supervisor(workdir, log))
        env = runtime_environment(region.functions["api"], region, workdir)
        env["LOG_LEVEL"] = "WARNING"
        os.environ.clear()
        os.environ.update(env)
        common.reset()
        yield Stack(region, pg, env, region.api_document)
    finally:
        common.reset()
        os.environ.clear()
        os.environ.update(saved)
        cloud.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class Request:
    label: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    expect: int = 200
    # For a request that consumes what it names (DELETE): a new path per invocation, made
    # untimed before it; ``path`` is then an example of its shape.
    fresh: Callable[[], str] | None = field(default=None, compare=False, repr=False)

    def target(self) -> str:
        return self.fresh() if self.fresh is not None else self.path

    def encoded(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()

    def headers(self) -> dict[str, str]:
        headers = {
            "host": "bench.local",
            "user-agent": "bench",
            "accept": "application/json",
            API_KEY_HEADER: BENCH_API_KEY,
        }
        if self.body is not None:
            headers["content-type"] = "application/json"
        return headers


def user_message(index: int, owner: str = BENCH_SUB) -> str:
    message_id = uuid.uuid4()
    return json.dumps(
        {
            "type": "user.create",
            "version": 1,
            "message_id": str(message_id),
            "user_id": str(uuid.uuid5(message_id, "user")),
            "owner_sub": owner,
            "name": f"Bench User {index}",
            "email": f"bench-{message_id.hex}@example.com",
            "requested_at": datetime.now(UTC).isoformat(),
            "region": os.environ.get("AWS_REGION", "eu-west-1"),
        }
    )


def sqs_event(bodies: list[str], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS event source mapping batch, shaped like ``local.poller.to_event``."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for body in bodies
        ]
    }


def run_subscriber(stack: Stack, batches: int, batch_size: int = 10) -> tuple[int, float]:
    """(messages applied, seconds): ``batches`` SQS batches through the real subscriber."""
    from handlers.subscriber.main import handler

    events = [
        sqs_event(
            [user_message(b * batch_size + i) for i in range(batch_size)],
            stack.queue_arn,
            stack.region.region,
        )
        for b in range(batches)
    ]
    from handlers.observability import metrics

    failed = 0
    # Metrics leave as EMF lines on stdout, as in Lambda: written (that is part of the cost),
    # but not onto the bench's report.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        started = time.perf_counter()
        for event in events:
            failed += len(handler(event, LambdaContext())["batchItemFailures"])
        elapsed = time.perf_counter() - started
        metrics.clear_metrics()
    if failed:
        raise RuntimeError(f"subscriber: {failed} records failed")
    return batches * batch_size, elapsed


def prepare_requests(stack: Stack, gateway: Gateway) -> list[Request]:
    """The routes measured, with ids that exist (a user, an upload, a user-creation request
    and, one per DELETE, a device the caller owns)."""
    from handlers import common

    user_id = common.database().run(
        lambda c: c.execute(
            "SELECT id FROM users WHERE owner_sub = %s ORDER BY created_at LIMIT 1", (BENCH_SUB,)
        ).fetchone()
    )
    if user_id is None:
        raise RuntimeError("no user owned by the bench caller: run the subscriber first")
    # The id POST /users answered with is the message's id; the subscriber's decision on it is
    # what GET /users/requests/{id} reads (the bench's user.create messages are those).
    request_id = common.database().run(
        lambda c: c.execute(
            "SELECT id FROM user_requests WHERE owner_sub = %s ORDER BY requested_at LIMIT 1",
            (BENCH_SUB,),
        ).fetchone()
    )
    if request_id is None:
        raise RuntimeError("no user-creation request by the bench caller: run the subscriber")
    # The subscriber just bulk-inserted: settle autovacuum/analyze now, before the timings,
    # so the latencies are the steady state's and not a vacuum's (as superuser: it owns them).
    import psycopg

    with psycopg.connect(stack.pg.conninfo(DB_NAME), autocommit=True) as admin:
        admin.execute("VACUUM ANALYZE")
    key = f"uploads/{BENCH_SUB}/{uuid.uuid4()}-bench.txt"
    client("s3", stack.region.endpoint, stack.region.region).put_object(
        Bucket=stack.assets_bucket, Key=key, Body=b"bench", ContentType="text/plain"
    )
    from backend.uploads import upload_id

    enable_push(stack)

    return [
        Request("GET /health", "GET", "/health"),
        Request("GET /users", "GET", "/users?limit=20"),
        Request("GET /users/{id}", "GET", f"/users/{user_id[0]}"),
        Request("GET /me", "GET", "/me"),
        Request("PUT /me/preferences", "PUT", "/me/preferences", {"theme": "dark", "units": "si"}),
        Request("POST /users", "POST", "/users", {"name": "Ada", "email": "ada@example.com"}, 202),
        Request(
            "POST /uploads",
            "POST",
            "/uploads",
            {"filename": "scan.pdf", "content_type": "application/pdf", "size": 1024},
            201,
        ),
        Request("GET /uploads/{key}", "GET", f"/uploads/{upload_id(key)}"),
        Request("POST /devices", "POST", "/devices", {"platform": "fcm", "token": "bench-t"}, 201),
        Request(
            "DELETE /devices/{id}",
            "DELETE",
            f"/devices/{uuid.uuid4()}",
            expect=204,
            fresh=lambda: f"/devices/{register_device(gateway)}",
        ),
        Request("GET /users/requests/{id}", "GET", f"/users/requests/{request_id[0]}"),
        Request(
            "POST /notifications",
            "POST",
            "/notifications",
            {"user_sub": BENCH_SUB, "title": "Hello", "body": "You have a new message"},
        ),
    ]


def register_device(gateway: Gateway) -> str:
    """A new device of the bench caller's, registered through POST /devices (its own token,
    so a real SNS endpoint of its own): the id one DELETE /devices/{id} unregisters."""
    register = in_process_call(
        gateway,
        Request(
            "POST /devices",
            "POST",
            "/devices",
            {"platform": "fcm", "token": f"bench-{uuid.uuid4().hex}"},
            201,
        ),
    )
    result = gateway.handler(register(), LambdaContext())
    if result["statusCode"] != 201:
        raise RuntimeError(f"registering a device: {result['statusCode']} {result.get('body')}")
    return str(json.loads(result["body"])["id"])


def enable_push(stack: Stack) -> None:
    """An FCM platform application, as a stack with ``pushFcm`` configured has (dev has no
    push credentials, so its api is deployed with none): the push routes run their real path."""
    from handlers import common

    sns = client("sns", stack.region.endpoint, stack.region.region)
    arn = sns.create_platform_application(
        Name="bench-fcm", Platform="GCM", Attributes={"PlatformCredential": "bench"}
    )["PlatformApplicationArn"]
    os.environ[env_vars.PUSH_PLATFORM_APPLICATIONS.name] = json.dumps({"fcm": arn})
    common.api_settings.cache_clear()


def make_gateway(stack: Stack) -> Gateway:
    from handlers.api.main import handler

    # What the token authorizer puts in requestContext.authorizer for a verified caller, and
    # the one app key the bench's requests carry (the document requires one, R-OPS-2).
    return Gateway(
        stack.document,
        handler,
        lambda headers, method, path: {"principalId": BENCH_SUB, **CLAIMS},
        api_keys=[BENCH_API_KEY],
    )


def in_process_call(gateway: Gateway, request: Request) -> Callable[[], dict[str, Any]]:
    """A zero-argument call of the handler with a freshly built event (built untimed)."""
    found = gateway.route(request.path.split("?")[0])
    if found is None:
        raise RuntimeError(f"{request.label}: not in the OpenAPI document")
    body, headers = request.encoded(), request.headers()

    def event() -> dict[str, Any]:
        path = request.target()
        found = gateway.route(path.split("?")[0])
        assert found is not None, path
        route, params = found
        return gateway.event(
            request.method, path, headers, body, route, params, dict(CLAIMS), "127.0.0.1"
        )

    return event  # type: ignore[return-value]


def time_in_process(
    gateway: Gateway,
    request: Request,
    count: int,
    *,
    aws: AwsCalls | None = None,
    own: list[float] | None = None,
) -> list[float]:
    """Latencies in ms of ``count`` handler invocations; the first answer is checked. With
    ``aws`` and ``own``, each invocation's time minus its AWS calls goes to ``own`` too."""
    make_event = in_process_call(gateway, request)
    samples: list[float] = []
    for index in range(count):
        event = make_event()
        context = LambdaContext()
        in_aws = aws.elapsed_ms if aws is not None else 0.0
        started = time.perf_counter()
        result = gateway.handler(event, context)
        samples.append((time.perf_counter() - started) * 1000)
        if aws is not None and own is not None:
            own.append(max(samples[-1] - (aws.elapsed_ms - in_aws), 0.0))
        if index == 0 and result["statusCode"] != request.expect:
            raise RuntimeError(f"{request.label}: {result['statusCode']} {result.get('body')}")
    return samples


def profile_routes(
    gateway: Gateway, routes: list[Request], aws: AwsCalls
) -> dict[str, RouteProfile]:
    """Each route once more, warm, with its connection traced and its AWS calls recorded."""
    from handlers import common

    profiles: dict[str, RouteProfile] = {}
    for request in routes:
        make_event = in_process_call(gateway, request)
        for _ in range(2):  # connection, clients, caches and lazy imports in place
            gateway.handler(make_event(), LambdaContext())
        event = make_event()
        connection = common.database().connection()
        first_call = len(aws.calls)
        with traced(connection) as trips:
            result = gateway.handler(event, LambdaContext())
        if result["statusCode"] != request.expect:
            raise RuntimeError(f"{request.label}: {result['statusCode']} {result.get('body')}")
        if common.database().connection() is not connection:
            raise RuntimeError(f"{request.label}: reconnected while traced; round trips unknown")
        profiles[request.label] = RouteProfile(
            route=request.label,
            round_trips=list(trips),
            aws_calls=aws.calls[first_call:],
            response_bytes=len((result.get("body") or "").encode()),
        )
    return profiles


class HttpClient:
    """One keep-alive loopback connection to the local gateway."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=10)

    def send(self, request: Request, path: str | None = None) -> tuple[int, bytes]:
        body = request.encoded()
        headers = {k: v for k, v in request.headers().items() if k != "host"}
        self.connection.request(
            request.method, path or request.path, body=body or None, headers=headers
        )
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


@contextmanager
def http_server(gateway: Gateway) -> Iterator[HttpClient]:
    server = serve(gateway, "127.0.0.1", 0)
    host, port = server.server_address[:2]
    http_client = HttpClient(str(host), int(port))
    try:
        yield http_client
    finally:
        http_client.close()
        server.shutdown()
        server.server_close()


def time_http(http_client: HttpClient, request: Request, count: int) -> list[float]:
    samples: list[float] = []
    for index in range(count):
        path = request.target()
        started = time.perf_counter()
        status, body = http_client.send(request, path)
        samples.append((time.perf_counter() - started) * 1000)
        if index == 0 and status != request.expect:
            raise RuntimeError(f"{request.label} over HTTP: {status} {body[:300]!r}")
    return samples


@dataclass(frozen=True)
class Connections:
    invocations: int
    opened: int
    backend_pids: int
    server_sessions: int
    prepared_statements: int


def count_connections(gateway: Gateway, invocations: int) -> Connections:
    """Connections opened across ``invocations`` warm ``GET /users``: the Database's own
    connect counter, the distinct server backends that answered, and the server-side count
    of sessions carrying this function's ``application_name``."""
    from handlers import common

    database = common.database()
    request = Request("GET /users", "GET", "/users?limit=20")
    make_event = in_process_call(gateway, request)
    before = database.connects
    pids: set[int] = set()
    for _ in range(invocations):
        gateway.handler(make_event(), LambdaContext())
        conn = database._conn
        if conn is not None:
            pids.add(conn.info.backend_pid)
    application = database.settings.application_name
    sessions = database.run(
        lambda c: c.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchone()[0]
    )
    # Server-side prepared statements pin RDS Proxy sessions; prepare_threshold=None keeps
    # this at zero however many times the same query ran.
    prepared = database.run(
        lambda c: c.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    )
    return Connections(
        invocations, database.connects - before, len(pids), int(sessions), int(prepared)
    )


BENCH_CLIENT_ID = "bench-web-client"


class _TrustedKey:
    """The authorizer's view of the trusted pools with the pool's key already fetched, as in
    a warm container (the key list is cached there; a miss costs the token check only)."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def is_trusted(self, issuer: Any) -> bool:
        return True

    def key(self, issuer: Any, kid: str) -> Any:
        return self._key

    def is_app_client(self, issuer: Any, client_id: str) -> bool:
        # Warm: the app client ids are cached like the keys.
        return client_id == BENCH_CLIENT_ID


def time_authorizer(count: int, region: str) -> list[float]:
    """Latencies in ms of the token authorizer's cache-miss work (RS256 check, claims, the
    policy) in this process, on a token signed like Cognito's."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from handlers.authorizer import main as authorizer
    from handlers.authorizer.tokens import RsaKey

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.public_key().public_numbers()
    key = RsaKey.from_jwk(
        {
            "kty": "RSA",
            "kid": "k",
            "n": b64(numbers.n.to_bytes(256, "big")),
            "e": b64(b"\x01\x00\x01"),
        }
    )
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.{region}.amazonaws.com/{region}_BenchPool",
        "sub": BENCH_SUB,
        "email": CLAIMS["email"],
        "token_use": "id",
        "aud": BENCH_CLIENT_ID,
        "iat": now - 60,
        "exp": now + 3600,
    }
    head = b64(json.dumps({"alg": "RS256", "kid": "k"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = private.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {head}.{body}.{b64(signature)}",
        "methodArn": f"arn:aws:execute-api:{region}:123456789012:bench/api/GET/me",
    }
    trusted = _TrustedKey(key)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        authorizer.authorize(event, trusted, now)  # type: ignore[arg-type]
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def profile_subscriber(stack: Stack, per_message_ms: float) -> RouteProfile:
    """One queued ``POST /users`` message through the real subscriber, its connection traced
    (what the write costs downstream of the 202)."""
    from handlers import common
    from handlers.observability import metrics
    from handlers.subscriber.main import handler

    event = sqs_event([user_message(0)], stack.queue_arn, stack.region.region)
    connection = common.database().connection()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        with traced(connection) as trips:
            failures = handler(event, LambdaContext())["batchItemFailures"]
        metrics.clear_metrics()
    if failures or common.database().connection() is not connection:
        raise RuntimeError("subscriber: the traced message failed or reconnected")
    return RouteProfile(
        route=SUBSCRIBER_LABEL,
        round_trips=list(trips),
        handler_p50_ms=round(per_message_ms, 3),
        handler_p99_ms=round(per_message_ms, 3),
    )
