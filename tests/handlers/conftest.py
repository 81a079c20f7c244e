"""Real dependencies for the handler tests: a throwaway PostgreSQL and a moto server.

One PostgreSQL server per session (started with the machine's initdb/pg_ctl), a template
database migrated with the real migration runner, and a fresh database per test cloned from
it (`CREATE DATABASE ... TEMPLATE`, a few ms). One moto server per session on loopback, reset
before each test. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from moto.server import ThreadedMotoServer

from backend.migrate import AppUser, apply_migrations, ensure_app_users
from contract import telemetry
from handlers import common
from local.postgres import LocalPostgres

# Powertools reads these when the handler modules are imported (module-level Logger/Metrics,
# as in Lambda where the environment exists before the import).
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", telemetry.METRICS_NAMESPACE)
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "mobile-backend-test")

REGION = "eu-west-1"
PEER_REGION = "us-west-1"
APP_USER = "app_user"
APP_PASSWORD = "app-password-1"
TEMPLATE_DB = "app_template"


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """Fail any Python-level connection that would leave the machine (libpq connects in C, but
    only ever to the loopback servers configured here)."""
    original = socket.socket.connect
    original_ex = socket.socket.connect_ex

    def guard(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise AssertionError(f"test tried to reach {address!r}: only loopback is allowed")

    def connect(sock: socket.socket, address: object) -> None:
        guard(sock, address)
        return original(sock, address)

    def connect_ex(sock: socket.socket, address: object) -> int:
        guard(sock, address)
        return original_ex(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]
    socket.socket.connect_ex = original_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def pg() -> Iterator[LocalPostgres]:
    directory = Path(tempfile.mkdtemp(prefix="mb-pg-"))
    server = LocalPostgres(directory).start()
    try:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    psycopg.sql.Identifier(APP_USER), psycopg.sql.Literal(APP_PASSWORD)
                )
            )
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(TEMPLATE_DB))
            )
        with psycopg.connect(server.conninfo(TEMPLATE_DB), autocommit=True) as conn:
            apply_migrations(conn)
            # The same grant path the migration function uses in the cloud.
            ensure_app_users(conn, [AppUser(APP_USER)])
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


READER_HOST = "127.0.0.2"
RELAY_FUNCTION = (
    "arn:aws:lambda:eu-west-1:123456789012:function:mobile-backend-test-push-relay:live"
)


@pytest.fixture(scope="session")
def replica(pg: LocalPostgres) -> Iterator[LocalPostgres]:
    """A streaming hot standby on 127.0.0.2 with the primary's port: the "read-only endpoint"
    (reads work, writes fail with SQLSTATE 25006, `pg_is_in_recovery()` is true)."""
    directory = Path(tempfile.mkdtemp(prefix="mb-pg-replica-"))
    # pg_basebackup starts with a *spread* checkpoint: right after the template's migrations it
    # paces its writes over minutes. One immediate checkpoint first leaves it nothing to pace.
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    server = LocalPostgres.replica_of(pg, directory, READER_HOST)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def wait_replayed(pg: LocalPostgres, replica: LocalPostgres, timeout: float = 10.0) -> None:
    """Block until the replica has replayed everything the primary has written so far."""
    import time

    with psycopg.connect(pg.conninfo(), autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica.conninfo(), autocommit=True) as standby:
        while time.monotonic() < deadline:
            lag = standby.execute(
                "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())", (target,)
            ).fetchone()[0]
            if lag <= 0:
                return
            time.sleep(0.02)
    raise TimeoutError("replica did not catch up")


def _create_db(pg: LocalPostgres, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(template)
            )
        )
    return name


def _drop_db(pg: LocalPostgres, name: str) -> None:
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(name)
            )
        )


@pytest.fixture
def db_name(pg: LocalPostgres) -> Iterator[str]:
    """A fresh, fully migrated database for this test."""
    name = _create_db(pg, TEMPLATE_DB)
    yield name
    _drop_db(pg, name)


@pytest.fixture
def empty_db(pg: LocalPostgres) -> Iterator[str]:
    """A fresh database with no schema at all (for migration runner tests)."""
    name = _create_db(pg, "template0")
    yield name
    _drop_db(pg, name)


@pytest.fixture
def admin_conn(pg: LocalPostgres, db_name: str) -> Iterator[psycopg.Connection]:
    """Superuser connection to the test database, for setup and assertions."""
    with psycopg.connect(pg.conninfo(db_name), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
)


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[str]:
    """A clean moto state and no cached clients for this test."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback moto
        assert response.status == 200
    common.reset()
    yield moto_endpoint
    common.reset()


def boto(service: str, region: str = REGION):
    import boto3

    return boto3.client(service, region_name=region)


@dataclass
class Stack:
    """The AWS resources one regional stack gives the functions, created in moto."""

    secret_arn: str
    topic_arn: str
    queue_url: str
    bucket: str
    platform_apps: dict[str, str]


@pytest.fixture
def stack(aws: str) -> Stack:
    sm = boto("secretsmanager")
    secret_arn = sm.create_secret(
        Name=f"db-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": APP_USER, "password": APP_PASSWORD}),
    )["ARN"]
    sns, sqs = boto("sns"), boto("sqs")
    topic_arn = sns.create_topic(Name="events")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="users")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    bucket = "assets-eu"
    boto("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    fcm = sns.create_platform_application(
        Name="fcm", Platform="GCM", Attributes={"PlatformCredential": "fake-key"}
    )["PlatformApplicationArn"]
    return Stack(secret_arn, topic_arn, queue_url, bucket, {"fcm": fcm})


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, pg: LocalPostgres, db_name: str, stack: Stack
) -> dict[str, str]:
    """The environment the infrastructure gives the functions, pointed at the local stack."""
    values = {
        "AWS_REGION": REGION,
        "APP_ROLE_HINT": "primary",
        "DB_HOST": pg.host,
        "DB_PORT": str(pg.port),
        "DB_NAME": db_name,
        "DB_USER": APP_USER,
        "DB_AUTH": "secret",
        "DB_SECRET_ARN": stack.secret_arn,
        "DB_SSLMODE": "disable",
        "DB_STARTUP_OPTIONS": "true",
        "EVENTS_TOPIC_ARN": stack.topic_arn,
        "ASSETS_BUCKET": stack.bucket,
        "PUSH_PLATFORM_APPLICATIONS": json.dumps(stack.platform_apps),
        "PUSH_RELAY_FUNCTION": RELAY_FUNCTION,
        "POWERTOOLS_SERVICE_NAME": "mobile-backend-test",
        "POWERTOOLS_METRICS_NAMESPACE": telemetry.METRICS_NAMESPACE,
        "LOG_LEVEL": "WARNING",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    common.reset()
    return values
