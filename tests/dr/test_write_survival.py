"""R-DR-3 on real PostgreSQL: writes survive the loss of the database writer.

The whole local backend (``make dev``'s ``LocalBackend``: the dev stack's region, PostgreSQL,
moto, each function in its own process with its stack's environment and IAM policy) stands in
for a region whose Aurora writer is gone: PostgreSQL is stopped, clients keep posting users,
and each ``POST /users`` is still accepted (202) because the write is durable in the queue. The
subscriber fails the batch; SQS gives the records back after the queue's visibility timeout,
which the drill reads from the synthesized queue (181 s: six times the subscriber's timeout)
and lets pass on the queue clock instead of sleeping through it. Nothing may reach the
dead-letter queue. When PostgreSQL is back on the same port and data directory (the promoted
writer), the queue drains and every user exists exactly once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from moto.moto_api._internal.models import moto_api_backend

from local.backend import DB_NAME, LocalBackend, Running
from local.cloud import DemoUser, client, sign_in

USERS = 5
DEADLINE_S = 20.0


def call(
    method: str, url: str, token: str | None = None, body: Any = None, *, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = token
    if key:
        # The app's key (R-OPS-2): the local gateway refuses a secured request without one.
        headers["x-api-key"] = key
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_for(what: str, check: Callable[[], Any], timeout: float = DEADLINE_S) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {value!r})")
        time.sleep(0.1)


def messages_in(sqs: Any, queue_url: str, *, visible: bool = False) -> int:
    """Messages on a queue, in flight or not (moto counts exactly, SQS approximately)."""
    names = ["ApproximateNumberOfMessages"]
    if not visible:
        names.append("ApproximateNumberOfMessagesNotVisible")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(v) for v in attributes.values())


@pytest.fixture
def backend() -> Iterator[tuple[LocalBackend, Running]]:
    # Not pytest's tmp_path: its parents are private to root, and the server runs as the
    # postgres user when the tests run as root.
    workdir = Path(tempfile.mkdtemp(prefix="mb-dr-"))
    workdir.chmod(0o755)
    # The backend's moto server runs in this process and moto's state is process-wide: start
    # from a clean state and leave none behind (other suites build the same local names).
    moto_api_backend.reset()
    local = LocalBackend(workdir)
    try:
        yield local, local.start()
    finally:
        local.stop()
        moto_api_backend.reset()
        shutil.rmtree(workdir, ignore_errors=True)


def test_posts_during_a_database_outage_are_applied_exactly_once_afterwards(backend):
    local, running = backend
    assert local.pg is not None and local.region is not None
    source = local.region.event_sources[0]
    api, token = running.api_url, sign_in(DemoUser.from_details(running.describe()))
    key = running.api_keys["web"]
    sqs = client("sqs", running.endpoint, running.region)
    log = local.workdir / "backend.log"

    def subscriber_failures() -> int:
        return log.read_text().count('"message failed"')

    # The drill runs on the synthesized queue, not a copy tuned for it.
    assert source.visibility_timeout_seconds == 181
    assert source.max_receive_count is not None and source.max_receive_count >= 3

    # GIVEN a working backend whose database then becomes unreachable (the writer is lost)
    assert call("GET", f"{api}/health")[0] == 200
    local.pg.stop()
    failures_before = subscriber_failures()

    # WHEN clients create users during the outage
    emails = [f"dr-{uuid.uuid4().hex[:10]}-{i}@example.com" for i in range(USERS)]
    accepted = []
    for email in emails:
        request = {"name": "During Outage", "email": email}
        status, body = call("POST", f"{api}/users", token, request, key=key)
        assert status == 202, f"POST /users during the outage → {status} {body}"
        accepted.append(body["user_id"])

    # THEN the subscriber fails every message, which then stays in flight (not visible, not
    # dead-lettered) for the queue's visibility timeout
    wait_for(
        "each message failed once",
        lambda: subscriber_failures() - failures_before >= USERS,
    )
    wait_for("every message in flight", lambda: messages_in(sqs, running.queue_url) == USERS)
    assert messages_in(sqs, running.queue_url, visible=True) == 0
    assert running.dlq_url is not None and messages_in(sqs, running.dlq_url) == 0

    # WHEN the visibility timeout elapses THEN SQS redelivers and they fail again, still queued
    local.advance_queue_clock(source.visibility_timeout_seconds)
    wait_for(
        "each message redelivered and failed again",
        lambda: subscriber_failures() - failures_before >= 2 * USERS,
    )
    assert messages_in(sqs, running.queue_url) == USERS
    assert messages_in(sqs, running.dlq_url) == 0
    down = call("GET", f"{api}/users/{accepted[0]}", token, key=key)
    assert down[0] == 503, "the database is down"

    # WHEN PostgreSQL returns on the same port and data directory (a writer exists again) and
    # the records come back once more
    local.pg.start()
    local.advance_queue_clock(source.visibility_timeout_seconds)

    # THEN the queue drains and every user exists exactly once, with the id the API promised
    wait_for("the queue drained", lambda: messages_in(sqs, running.queue_url) == 0)
    assert messages_in(sqs, running.dlq_url) == 0, "queued writes were dead-lettered"
    with psycopg.connect(local.pg.conninfo(DB_NAME)) as conn:
        rows = conn.execute(
            "SELECT email, count(*), min(id::text) FROM users WHERE email = ANY(%s) GROUP BY email",
            (emails,),
        ).fetchall()
    assert sorted(rows) == sorted(
        (email, 1, user_id) for email, user_id in zip(emails, accepted, strict=True)
    )
    for user_id in accepted:
        status, user = call("GET", f"{api}/users/{user_id}", token, key=key)
        assert status == 200 and user["id"] == user_id, f"GET /users/{user_id} → {status} {user}"
