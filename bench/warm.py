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


def prepare_requests(stack: Stack) -> list[Request]:
    """The routes measured, with ids that exist (a user and an upload the caller owns)."""
    from handlers import common

    user_id = common.database().run(
        lambda c: c.execute(
            "SELECT id FROM users WHERE owner_sub = %s ORDER BY created_at LIMIT 1", (BENCH_SUB,)
        ).fetchone()
    )
    if user_id is None:
        raise RuntimeError("no user owned by the bench caller: run the subscriber first")
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
    ]


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
    route, params = found
    body, headers = request.encoded(), request.headers()

    def event() -> dict[str, Any]:
        return gateway.event(
            request.method, request.path, headers, body, route, params, dict(CLAIMS), "127.0.0.1"
        )

    return event  # type: ignore[return-value]


def time_in_process(gateway: Gateway, request: Request, count: int) -> list[float]:
    """Latencies in ms of ``count`` handler invocations; the first answer is checked."""
    make_event = in_process_call(gateway, request)
    samples: list[float] = []
    for index in range(count):
        event = make_event()
        context = LambdaContext()
        started = time.perf_counter()
        result = gateway.handler(event, context)
        samples.append((time.perf_counter() - started) * 1000)
        if index == 0 and result["statusCode"] != request.expect:
            raise RuntimeError(f"{request.label}: {result['statusCode']} {result.get('body')}")
    return samples


class HttpClient:
    """One keep-alive loopback connection to the local gateway."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=10)

    def send(self, request: Request) -> tuple[int, bytes]:
        body = request.encoded()
        headers = {k: v for k, v in request.headers().items() if k != "host"}
        self.connection.request(request.method, request.path, body=body or None, headers=headers)
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
        started = time.perf_counter()
        status, body = http_client.send(request)
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
