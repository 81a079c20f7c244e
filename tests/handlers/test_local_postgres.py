"""LocalPostgres, the throwaway server the tests, `make dev` and the DR drills share."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

from local.postgres import LocalPostgres, PostgresNotFoundError, find_bin_dir


def test_starts_on_a_free_loopback_port_and_stops_cleanly():
    directory = Path(tempfile.mkdtemp(prefix="mb-pg-unit-"))
    try:
        server = LocalPostgres(directory).start()
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            fsync, socket_dir = conn.execute(
                "SELECT current_setting('fsync'), current_setting('unix_socket_directories')"
            ).fetchone()
        assert (fsync, socket_dir) == ("off", str(server.data_dir))
        server.stop()
        with socket.socket() as probe:
            assert probe.connect_ex((server.host, server.port)) != 0
        assert not (server.data_dir / "postmaster.pid").exists()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_binary_discovery_honours_pg_bin_and_falls_back(monkeypatch, tmp_path):
    real = find_bin_dir()
    monkeypatch.setenv("PG_BIN", str(real))
    assert find_bin_dir() == real
    # A PG_BIN without server binaries is skipped in favour of the next candidate.
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    assert find_bin_dir() == real


def test_no_binaries_anywhere_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("local.postgres.glob.glob", lambda pattern: [])
    with pytest.raises(PostgresNotFoundError, match="make postgres"):
        find_bin_dir()


def test_the_suite_refuses_connections_beyond_loopback():
    # The session guard in conftest.py makes an accidental real AWS call fail loudly.
    with socket.socket() as sock, pytest.raises(AssertionError, match="only loopback"):
        sock.connect(("192.0.2.1", 443))
