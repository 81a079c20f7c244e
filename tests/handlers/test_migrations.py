"""The migration runner and its Lambda handler, on real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from backend.migrate import (
    MIGRATIONS_DIR,
    MigrationError,
    apply_migrations,
    combined_checksum,
    load_migrations,
)
from handlers import common
from handlers.migrations.main import handler as migrate_handler
from local.postgres import LocalPostgres
from tests.handlers.conftest import boto
from tests.handlers.helpers import LambdaContext

SCHEMA_QUERY = """
SELECT table_name, column_name, data_type, is_nullable
FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY table_name, ordinal_position
"""


def connect(pg: LocalPostgres, db: str) -> psycopg.Connection:
    return psycopg.connect(pg.conninfo(db), autocommit=True)


def tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text)


def test_applies_everything_once_and_a_second_run_changes_nothing(pg, empty_db):
    with connect(pg, empty_db) as conn:
        first = apply_migrations(conn)
        schema = conn.execute(SCHEMA_QUERY).fetchall()
        second = apply_migrations(conn)
        assert first.applied == [m.version for m in load_migrations()]
        assert second.applied == []
        assert conn.execute(SCHEMA_QUERY).fetchall() == schema
        assert tables(conn) == {
            "schema_migrations",
            "users",
            "user_preferences",
            "device_tokens",
            "processed_messages",
            "user_directory",
            "user_requests",
            # What the Region switch plans' probe writes (docs/dr.md).
            "dr_writer_probes",
        }
        recorded = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        assert recorded == [(m.version, m.checksum) for m in load_migrations()]


def test_refuses_when_an_applied_file_changed(pg, empty_db, tmp_path):
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (id uuid PRIMARY KEY);")
    with connect(pg, empty_db) as conn:
        apply_migrations(conn, tmp_path)
        write(tmp_path, "0001_a.sql", "CREATE TABLE a (id uuid PRIMARY KEY, x int);")
        write(tmp_path, "0002_b.sql", "CREATE TABLE b (id uuid PRIMARY KEY);")
        with pytest.raises(MigrationError, match=r"0001_a\.sql changed after it was applied"):
            apply_migrations(conn, tmp_path)
        assert "b" not in tables(conn)


def test_refuses_when_an_applied_file_is_missing(pg, empty_db, tmp_path):
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (id uuid PRIMARY KEY);")
    with connect(pg, empty_db) as conn:
        apply_migrations(conn, tmp_path)
        (tmp_path / "0001_a.sql").unlink()
        with pytest.raises(MigrationError, match="0001 is applied in the database but its file"):
            apply_migrations(conn, tmp_path)


def test_a_broken_migration_fails_loudly_and_applies_nothing(pg, empty_db, tmp_path):
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (id uuid PRIMARY KEY);")
    write(tmp_path, "0002_b.sql", "CREATE TABLE b (id uuid PRIMARY KEY);\nCREATE TABLE oops (;")
    with connect(pg, empty_db) as conn:
        with pytest.raises(MigrationError, match=r"migration 0002_b\.sql failed"):
            apply_migrations(conn, tmp_path)
        assert tables(conn) == {"schema_migrations"}
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (0,)


def test_bad_file_name_is_an_error(tmp_path):
    write(tmp_path, "1_init.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match=r"is not NNNN_name\.sql"):
        load_migrations(tmp_path)


def test_concurrent_runners_are_serialised_and_apply_once(pg, empty_db, tmp_path):
    # GIVEN a slow migration and two runners starting together
    write(tmp_path, "0001_slow.sql", "CREATE TABLE s (id uuid PRIMARY KEY);\nSELECT pg_sleep(0.5);")
    results: list[list[str]] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        with connect(pg, empty_db) as conn:
            barrier.wait()
            try:
                results.append(apply_migrations(conn, tmp_path).applied)
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    # THEN exactly one applied it, the other found nothing to do, neither failed
    assert errors == []
    assert sorted(results) == [[], ["0001"]]


def test_combined_checksum_follows_the_documented_algorithm(tmp_path):
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "m")
    digest = hashlib.sha256()
    for path in sorted((tmp_path / "m").glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    assert combined_checksum(tmp_path / "m") == digest.hexdigest() == combined_checksum()
    write(tmp_path / "m", "0099_more.sql", "SELECT 1;")
    assert combined_checksum(tmp_path / "m") != combined_checksum()


@pytest.fixture
def migrator_env(monkeypatch, pg, empty_db, aws):
    """The migration function's environment: master credentials from a secret."""
    secret_arn = boto("secretsmanager").create_secret(
        Name="master", SecretString=json.dumps({"username": "postgres", "password": pg.password})
    )["ARN"]
    for key, value in {
        "AWS_REGION": "eu-west-1",
        "APP_ROLE_HINT": "primary",
        "DB_HOST": pg.host,
        "DB_PORT": str(pg.port),
        "DB_NAME": empty_db,
        "DB_USER": "postgres",
        "DB_AUTH": "secret",
        "DB_SECRET_ARN": secret_arn,
        "DB_SSLMODE": "disable",
    }.items():
        monkeypatch.setenv(key, value)
    common.reset()
    yield empty_db
    common.reset()


def test_handler_applies_and_reports_then_is_a_no_op(migrator_env, pg):
    # GIVEN the input the infrastructure sends, naming a login role that does not exist yet
    # and the secret (used by RDS Proxy) holding its password
    role = f"app_{uuid.uuid4().hex[:8]}"
    arn = boto("secretsmanager").create_secret(
        Name=role, SecretString=json.dumps({"username": role, "password": "proxy-secret-1"})
    )["ARN"]
    event = {"checksum": combined_checksum(), "app_users": [{"name": role, "secret_arn": arn}]}
    # WHEN the function runs twice
    first = migrate_handler(event, LambdaContext())
    second = migrate_handler(event, LambdaContext())
    # THEN the first run applies everything and creates the role, the second changes nothing
    versions = [m.version for m in load_migrations()]
    assert first == {
        "applied": versions,
        "current_version": versions[-1],
        "checksum": combined_checksum(),
        "roles_created": [role],
    }
    assert (second["applied"], second["roles_created"]) == ([], [])
    with connect(pg, migrator_env) as conn:
        assert "users" in tables(conn)
        privileges = conn.execute(
            "SELECT has_table_privilege(%(r)s, 'users', 'INSERT'), "
            "has_table_privilege(%(r)s, 'user_directory', 'SELECT'), "
            "has_table_privilege(%(r)s, 'user_directory', 'UPDATE'), "
            "has_table_privilege(%(r)s, 'schema_migrations', 'SELECT')",
            {"r": role},
        ).fetchone()
        assert privileges == (True, True, False, False)
        config = conn.execute(
            "SELECT rolconfig FROM pg_roles WHERE rolname = %s", (role,)
        ).fetchone()
        assert config == (["statement_timeout=5s"],)
    # AND the role logs in with the secret's password and gets the role-level timeout
    login = f"host={pg.host} port={pg.port} dbname={migrator_env} user={role} "
    with psycopg.connect(login + "password=proxy-secret-1 sslmode=disable") as app:
        assert app.execute("SHOW statement_timeout").fetchone() == ("5s",)
        assert app.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_handler_rejects_malformed_app_users(migrator_env):
    with pytest.raises(MigrationError, match="app_users entries need a name"):
        migrate_handler({"app_users": [{"secret_arn": "x"}]}, LambdaContext())


def test_handler_refuses_a_checksum_mismatch_before_touching_the_database(migrator_env, pg):
    with pytest.raises(MigrationError, match="checksum mismatch"):
        migrate_handler({"checksum": "0" * 64}, LambdaContext())
    with connect(pg, migrator_env) as conn:
        assert tables(conn) == set()
