"""The checks behind the Region switch plans' custom steps (``handlers/dr_probe``, docs/dr.md).

Each check is one idempotent write that must commit, and the row it writes is the record
(``dr_writer_probes``, one row per region and check):

* ``verify_writer``: through the read/write endpoint only, this region's cluster must be the
  writer (``pg_is_in_recovery()`` false) and commit the write. A fallback to the read-only
  endpoint would let a forwarded write pass for a local writer, so the settings are narrowed to
  that one endpoint (``writer_settings``).
* ``verify_app_path``: through ``Database`` exactly as the app functions use it (the role hint
  and endpoints they were deployed with): the write must commit, forwarded or not. This is what
  proves a region keeps writing after a switchover without a redeploy.

A failed check raises: the plan's step fails and ARC retries it until the step's timeout.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from contract.environment import DbSettings

if TYPE_CHECKING:
    import psycopg

    from backend.db import Database

Check = Literal["writer", "app"]

RECORD = """
INSERT INTO dr_writer_probes (probe_region, probe, writer_region, forwarded, execution)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (probe_region, probe) DO UPDATE
SET writer_region = EXCLUDED.writer_region,
    forwarded = EXCLUDED.forwarded,
    execution = EXCLUDED.execution,
    probed_at = now()
RETURNING probed_at
"""


class ProbeFailedError(RuntimeError):
    """The check ran and found the region not ready (the message says why)."""


@dataclass(frozen=True)
class ProbeResult:
    check: Check
    region: str
    # The writer's region when the session was on it, None when the write was forwarded.
    writer_region: str | None
    forwarded: bool
    endpoint: str | None
    probed_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "probed_at": self.probed_at.isoformat()}


def writer_settings(settings: DbSettings) -> DbSettings:
    """The read/write endpoint and nothing else."""
    return dataclasses.replace(settings, role_hint="primary", reader_host=settings.host)


def _in_recovery(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    assert row is not None
    return bool(row[0])


def _record(
    conn: psycopg.Connection,
    region: str,
    check: Check,
    writer_region: str | None,
    forwarded: bool,
    execution: str | None,
) -> datetime:
    row = conn.execute(RECORD, (region, check, writer_region, forwarded, execution)).fetchone()
    assert row is not None
    return row[0]


def verify_writer(database: Database, region: str, execution: str | None = None) -> ProbeResult:
    """``database`` must be built from ``writer_settings``."""

    def work(conn: psycopg.Connection) -> ProbeResult:
        if _in_recovery(conn):
            raise ProbeFailedError(
                f"the read/write endpoint in {region} reaches a replica: this region's cluster "
                "is not the writer (yet)"
            )
        probed_at = _record(conn, region, "writer", region, False, execution)
        return ProbeResult("writer", region, region, False, database.current_host, probed_at)

    return database.run(work, write=True)


def verify_app_path(database: Database, region: str, execution: str | None = None) -> ProbeResult:
    """``database`` is the app's own (``handlers.common.database()``)."""

    def work(conn: psycopg.Connection) -> ProbeResult:
        forwarded = _in_recovery(conn)
        writer = None if forwarded else region
        probed_at = _record(conn, region, "app", writer, forwarded, execution)
        return ProbeResult("app", region, writer, forwarded, database.current_host, probed_at)

    return database.run(work, write=True)
