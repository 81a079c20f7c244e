"""The Region switch plans' custom steps (``handlers/dr_probe``, docs/dr.md) on real
PostgreSQL: the session's server stands for the writer, its hot standby on 127.0.0.2 for a
reader that refuses writes, and nothing listens on 127.0.0.3 (a proxy endpoint without target).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from backend.db import DatabaseUnavailableError
from backend.dr_probe import ProbeFailedError
from contract import names
from handlers import common
from handlers.dr_probe import main
from tests.handlers.conftest import READER_HOST, REGION, wait_replayed
from tests.handlers.helpers import LambdaContext

NO_TARGET = "127.0.0.3"
FUNCTION = names.function_name("prod", "dr_probe")


def invoke(alias: str, event: object = None) -> dict:
    arn = names.lambda_function_arn(REGION, "123456789012", FUNCTION, alias)
    context = LambdaContext(function_name=FUNCTION, invoked_function_arn=arn)
    return main.handler({} if event is None else event, context)


def rows(admin_conn: psycopg.Connection) -> list[tuple]:
    return admin_conn.execute(
        "SELECT probe_region, probe, writer_region, forwarded, execution FROM dr_writer_probes "
        "ORDER BY probe"
    ).fetchall()


@pytest.fixture(autouse=True)
def fresh_containers() -> Iterator[None]:
    main.writer_database.cache_clear()
    yield
    if main.writer_database.cache_info().currsize:
        main.writer_database().close()
    main.writer_database.cache_clear()
    common.reset()


def test_verify_writer_commits_a_write_and_records_this_region_as_the_writer(env, admin_conn):
    # WHEN ARC runs the verify-writer step twice in this region
    first = invoke(names.DR_PROBE_WRITER_ALIAS, {"executionId": "exec-1"})
    second = invoke(names.DR_PROBE_WRITER_ALIAS, {"executionId": "exec-2"})

    # THEN each committed through the read/write endpoint, and the record holds the last one
    assert (first["check"], first["writer_region"], first["forwarded"]) == ("writer", REGION, False)
    assert second["endpoint"] == env["DB_HOST"]
    assert second["probed_at"] >= first["probed_at"]
    assert rows(admin_conn) == [(REGION, "writer", REGION, False, "exec-2")]


def test_verify_writer_refuses_a_read_write_endpoint_that_reaches_a_replica(
    env, pg, replica, admin_conn, monkeypatch
):
    # GIVEN this region's read/write endpoint reaches a replica (the region is not the writer)
    wait_replayed(pg, replica)
    monkeypatch.setenv("DB_HOST", READER_HOST)
    common.reset()

    # WHEN the step runs THEN it fails (ARC retries it) and writes nothing
    with pytest.raises(ProbeFailedError, match="is not the writer"):
        invoke(names.DR_PROBE_WRITER_ALIAS)
    assert rows(admin_conn) == []


def test_verify_writer_never_lets_a_forwarded_write_pass_for_a_local_writer(
    env, admin_conn, monkeypatch
):
    # GIVEN a secondary region: its proxy's read/write endpoint has no target, its read-only
    # endpoint would accept the write (write forwarding)
    monkeypatch.setenv("DB_HOST", NO_TARGET)
    monkeypatch.setenv("DB_READER_HOST", env["DB_HOST"])
    common.reset()

    # WHEN the writer check runs THEN it does not fall back to the read-only endpoint
    with pytest.raises(DatabaseUnavailableError):
        invoke(names.DR_PROBE_WRITER_ALIAS)
    assert rows(admin_conn) == []


def test_smoke_writes_through_the_apps_own_path_whatever_endpoint_it_lands_on(
    env, pg, replica, admin_conn, monkeypatch
):
    # GIVEN a container deployed as secondary whose read-only endpoint now refuses writes (the
    # readers of a freshly promoted cluster), its read/write endpoint reaching the writer
    wait_replayed(pg, replica)
    monkeypatch.setenv("APP_ROLE_HINT", "secondary")
    monkeypatch.setenv("DB_READER_HOST", READER_HOST)
    common.reset()

    # WHEN the smoke step runs
    result = invoke(names.DR_PROBE_SMOKE_ALIAS, {"executionId": "exec-3"})

    # THEN the app's endpoint selection moved it to the endpoint that writes, and it committed
    assert (result["check"], result["endpoint"], result["forwarded"]) == ("app", pg.host, False)
    assert rows(admin_conn) == [(REGION, "app", REGION, False, "exec-3")]


@pytest.mark.parametrize("qualifier", [None, "live", "$LATEST"])
def test_an_invocation_through_no_step_alias_is_refused(env, admin_conn, qualifier):
    arn = names.lambda_function_arn(REGION, "123456789012", FUNCTION, qualifier)
    with pytest.raises(main.UnknownCheckError, match="invoke one of the aliases"):
        main.handler({}, LambdaContext(function_name=FUNCTION, invoked_function_arn=arn))
    assert rows(admin_conn) == []
