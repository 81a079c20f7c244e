"""What one request of each API route sends over the network, counted while it runs.

``make bench`` runs every route through the real api handler on the dev region (bench/warm.py)
and records, per route, into ``bench/profile.json``:

* the database round trips, read from libpq's own protocol trace of the handler's connection
  (one round trip per ``Query`` or ``Sync`` answered by ``ReadyForQuery``, so the BEGIN and
  COMMIT a transaction adds are counted too), each with its statements and whether Aurora
  global write forwarding would send it to the writer region from a secondary;
* the AWS API calls the handler makes (botocore's ``before-call`` event), with their region;
* the handler's own time on this machine (in-process p50/p99, AWS calls subtracted: against
  moto they measure the emulator) and the response size.

Nothing here is written by hand: a route whose statements change changes its recorded round
trips at the next ``make bench``, and a test compares a fresh count with the committed file.
The latency and cost models (bench/latency.py, bench/cost.py) read the file.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROFILE_FILE = Path(__file__).resolve().with_name("profile.json")
# The queued write behind POST /users, profiled next to the routes (what it costs downstream).
SUBSCRIBER_LABEL = "subscriber: one user.create message"

# Statements Aurora PostgreSQL forwards from a secondary cluster to the writer (DML and row
# locks); everything else in a read-only transaction is answered by the local replica.
_WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b",
    re.IGNORECASE,
)
# A statement with a WITH clause is a write when any part of it modifies data (its main
# statement, or a data-modifying CTE): `WITH previous AS (SELECT ...) INSERT ...`.
_WITH_WRITE = re.compile(r"^\s*WITH\b.*\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE | re.DOTALL)
# A trace line: direction, length, message type, then the message's fields.
_TRACE = re.compile(r"^(?P<direction>[FB])\t\d+\t(?P<message>\w+)(?:\t ?(?P<fields>.*))?$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class RoundTrip:
    """One client message batch and the server's answer (until ReadyForQuery)."""

    statements: tuple[str, ...]
    # Sent to the writer region when the handler runs in a secondary (write forwarding): a
    # write, a row lock, or any later statement of a transaction that already forwarded one
    # (its reads must see its writes; its COMMIT is the writer's).
    forwarded: bool


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    region: str
    # What an SNS Publish addresses: "topic" (the events topic: a queued write follows) or
    # "endpoint" (a mobile push); empty for other calls.
    target: str = ""

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class RouteProfile:
    route: str
    round_trips: list[RoundTrip] = field(default_factory=list)
    aws_calls: list[AwsCall] = field(default_factory=list)
    handler_p50_ms: float | None = None
    handler_p99_ms: float | None = None
    response_bytes: int = 0

    @property
    def forwarded_trips(self) -> int:
        return sum(1 for trip in self.round_trips if trip.forwarded)

    @property
    def local_trips(self) -> int:
        return len(self.round_trips) - self.forwarded_trips

    def shape(self) -> dict[str, Any]:
        """What the code decides (statements and calls), without this machine's timings."""
        return {
            "round_trips": [
                asdict(t) | {"statements": list(t.statements)} for t in self.round_trips
            ],
            "aws_calls": [asdict(c) for c in self.aws_calls],
        }


def _normalize(sql: str) -> str:
    text = " ".join(sql.replace("\\n", " ").split())
    return text if len(text) <= 120 else text[:117] + "..."


def is_write(sql: str) -> bool:
    return bool(_WRITE.search(sql) or _WITH_WRITE.search(sql))


def parse_trace(text: str) -> list[RoundTrip]:
    """Round trips in a libpq protocol trace (``PGconn.trace``, SUPPRESS_TIMESTAMPS)."""
    trips: list[RoundTrip] = []
    pending: list[str] = []
    writes = False  # a pending statement writes (judged on the full text, not the shortened)
    forwarding = False  # the open transaction has forwarded a statement
    for line in text.splitlines():
        match = _TRACE.match(line.strip("\n"))
        if match is None:
            continue
        direction, message = match["direction"], match["message"]
        if direction == "F" and message in ("Query", "Parse"):
            quoted = _QUOTED.findall(match["fields"] or "")
            # Query carries the SQL; Parse carries the statement name, then the SQL.
            sql = quoted[0] if message == "Query" else (quoted[1] if len(quoted) > 1 else "")
            writes = writes or is_write(sql)
            pending.append(_normalize(sql))
        elif direction == "B" and message == "ReadyForQuery":
            if not pending:
                continue
            forwarded = forwarding or writes
            trips.append(RoundTrip(tuple(pending), forwarded))
            status = (match["fields"] or "").strip()
            # 'I': idle, outside any transaction: an autocommit statement or a finished one.
            forwarding = forwarded and status != "I"
            pending, writes = [], False
    return trips


@contextmanager
def traced(connection: Any) -> Iterator[list[RoundTrip]]:
    """Round trips ``connection`` (psycopg) makes inside the block, from libpq's trace."""
    from psycopg import pq

    trips: list[RoundTrip] = []
    with tempfile.TemporaryFile("w+") as sink:
        connection.pgconn.trace(sink.fileno())
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield trips
        finally:
            connection.pgconn.untrace()
            sink.seek(0)
            trips.extend(parse_trace(sink.read()))


class AwsCalls:
    """Every AWS API call made through boto3's default session, with the time spent in it.

    Registered on the session before any client exists (clients copy the session's handlers
    when they are created), so ``install`` forgets the cached clients first."""

    def __init__(self) -> None:
        self.calls: list[AwsCall] = []
        self.elapsed_ms = 0.0
        self._started: list[float] = []

    @classmethod
    def install(cls) -> AwsCalls:
        import boto3

        from backend import aws

        recorder = cls()
        aws.reset_clients()
        session = boto3._get_default_session()
        session.events.register("before-call", recorder._before)
        session.events.register("after-call", recorder._after)
        return recorder

    def _before(self, model: Any, params: Any = None, request_signer: Any = None, **_: Any) -> None:
        region = getattr(request_signer, "region_name", "") or ""
        body = (params or {}).get("body") or {}
        target = "topic" if "TopicArn" in body else "endpoint" if "TargetArn" in body else ""
        self.calls.append(AwsCall(model.service_model.service_name, model.name, region, target))
        self._started.append(time.perf_counter())

    def _after(self, **_: Any) -> None:
        if self._started:
            self.elapsed_ms += (time.perf_counter() - self._started.pop()) * 1000


def load(path: Path = PROFILE_FILE) -> dict[str, Any]:
    """The recorded file as written by ``save`` (``{}`` when absent)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def routes_from(data: dict[str, Any]) -> dict[str, RouteProfile]:
    result = {}
    for route, body in (data.get("routes") or {}).items():
        handler = body.get("handler_ms") or {}
        result[route] = RouteProfile(
            route=route,
            round_trips=[
                RoundTrip(tuple(t["statements"]), bool(t["forwarded"]))
                for t in body.get("round_trips", [])
            ],
            aws_calls=[AwsCall(**c) for c in body.get("aws_calls", [])],
            handler_p50_ms=handler.get("p50"),
            handler_p99_ms=handler.get("p99"),
            response_bytes=int(body.get("response_bytes", 0)),
        )
    return result


def save(
    path: Path,
    routes: dict[str, RouteProfile],
    *,
    meta: dict[str, Any],
    cold_init_ms: dict[str, dict[str, float]] | None = None,
    authorizer_ms: dict[str, float] | None = None,
) -> None:
    """Write the profile; timings missing from ``routes`` (a short run) keep the file's."""
    previous = load(path)
    kept = routes_from(previous)
    body: dict[str, Any] = {**(previous.get("meta") or {}), **meta}
    out: dict[str, Any] = {"meta": body, "routes": {}}
    for route, profile in sorted(routes.items()):
        old = kept.get(route)
        p50, p99 = profile.handler_p50_ms, profile.handler_p99_ms
        if p50 is None and old is not None:
            p50, p99 = old.handler_p50_ms, old.handler_p99_ms
        out["routes"][route] = {
            **profile.shape(),
            "handler_ms": {"p50": p50, "p99": p99},
            "response_bytes": profile.response_bytes,
        }
    out["cold_init_ms"] = cold_init_ms or previous.get("cold_init_ms") or {}
    out["authorizer_ms"] = authorizer_ms or previous.get("authorizer_ms") or {}
    path.write_text(json.dumps(out, indent=2, sort_keys=False) + "\n")
