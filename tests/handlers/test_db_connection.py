"""One connection per container: reuse, reconnect, rotation, endpoint selection, settings."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql

from backend.db import Database
from contract.environment import ApiSettings, DbSettings, MigrationTriggerSettings, SettingsError
from handlers import common
from tests.handlers.conftest import READER_HOST, boto, wait_replayed
from tests.handlers.helpers import ALICE, call, claims

VALID_ENV = {
    "AWS_REGION": "eu-west-1",
    "APP_ROLE_HINT": "primary",
    "DB_HOST": "proxy-rw.example",
    "DB_PORT": "5432",
    "DB_NAME": "app",
    "DB_USER": "app_user",
    "DB_AUTH": "secret",
    "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db",
    "EVENTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:events",
    "ASSETS_BUCKET": "assets",
    "PUSH_RELAY_FUNCTION": "arn:aws:lambda:eu-west-1:123456789012:function:push-relay:live",
}


def app_backends(conn: psycopg.Connection, db_name: str, user: str) -> list[int]:
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = %s", (db_name, user)
    ).fetchall()
    return [r[0] for r in rows]


def test_warm_invocations_reuse_exactly_one_connection(env, admin_conn, db_name):
    # WHEN ten warm invocations hit the database
    for _ in range(10):
        assert call("GET", "/me", authorizer=claims(ALICE))[0] == 200
    # THEN the container opened one connection and the server sees one session
    assert common.database().connects == 1
    assert len(app_backends(admin_conn, db_name, env["DB_USER"])) == 1


def test_killed_server_connection_is_reestablished_on_next_invocation(env, admin_conn, db_name):
    # GIVEN a warm container whose server-side session is terminated
    assert call("GET", "/me", authorizer=claims(ALICE))[0] == 200
    (pid,) = app_backends(admin_conn, db_name, env["DB_USER"])
    admin_conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # WHEN the next invocations run (a read and a write)
    status_read, _ = call("GET", "/me", authorizer=claims(ALICE))
    status_write, _ = call("PUT", "/me/preferences", authorizer=claims(ALICE), body={"a": 1})
    # THEN both succeed on one new connection
    assert (status_read, status_write) == (200, 200)
    assert common.database().connects == 2
    assert app_backends(admin_conn, db_name, env["DB_USER"]) not in ([], [pid])


def test_rotated_password_is_picked_up_by_refetching_the_secret(
    env, admin_conn, db_name, monkeypatch
):
    # GIVEN a dedicated role whose password lives in the secret, and a warm container
    role = f"r_{uuid.uuid4().hex[:8]}"
    admin_conn.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'old-pass'").format(sql.Identifier(role))
    )
    admin_conn.execute(
        sql.SQL("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(role)
        )
    )
    sm = boto("secretsmanager")
    sm.put_secret_value(
        SecretId=env["DB_SECRET_ARN"],
        SecretString=json.dumps({"username": role, "password": "old-pass"}),
    )
    monkeypatch.setenv("DB_USER", role)
    common.reset()
    assert call("GET", "/me", authorizer=claims(ALICE))[0] == 200
    # WHEN the password rotates and the proxy drops the session
    admin_conn.execute(sql.SQL("ALTER ROLE {} PASSWORD 'new-pass'").format(sql.Identifier(role)))
    sm.put_secret_value(
        SecretId=env["DB_SECRET_ARN"],
        SecretString=json.dumps({"username": role, "password": "new-pass"}),
    )
    admin_conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
    )
    # THEN the next invocation fails once on the cached password, refetches and succeeds
    assert call("GET", "/me", authorizer=claims(ALICE))[0] == 200
    database = common.database()
    assert database.connects == 2
    assert database._secret is not None and database._secret.fetches == 2


def test_primary_falls_back_to_reader_endpoint_when_writer_refuses(env, monkeypatch):
    # GIVEN the read/write endpoint has no target (nothing listens on 127.0.0.3)
    monkeypatch.setenv("DB_HOST", "127.0.0.3")
    monkeypatch.setenv("DB_READER_HOST", "127.0.0.1")
    common.reset()
    # WHEN a request needs the database THEN it is served through the other endpoint
    assert call("GET", "/me", authorizer=claims(ALICE))[0] == 200
    assert common.database().current_host == "127.0.0.1"


def test_secondary_reads_from_replica_endpoint_and_reports_forwarding_role(
    env, pg, replica, monkeypatch
):
    # GIVEN a secondary-region container: read/write endpoint 127.0.0.1, read-only endpoint a
    # real hot standby on 127.0.0.2
    wait_replayed(pg, replica)
    monkeypatch.setenv("APP_ROLE_HINT", "secondary")
    monkeypatch.setenv("DB_READER_HOST", READER_HOST)
    common.reset()
    # WHEN the health probe runs THEN it went to the replica and reports the forwarding role
    status, body = call("GET", "/health")
    assert (status, body["role"]) == (200, "forwarding")
    assert common.database().current_host == READER_HOST


def test_write_on_read_only_endpoint_switches_endpoint_and_retries_once(
    env, pg, replica, monkeypatch
):
    # GIVEN a secondary-hinted container connected to the replica, which cannot write (as the
    # reader of a freshly promoted primary cluster, which has no write forwarding)
    wait_replayed(pg, replica)
    monkeypatch.setenv("APP_ROLE_HINT", "secondary")
    monkeypatch.setenv("DB_READER_HOST", READER_HOST)
    common.reset()
    assert call("GET", "/me", authorizer=claims(ALICE))[0] == 200
    assert common.database().current_host == READER_HOST
    # WHEN the container writes
    status, body = call("PUT", "/me/preferences", authorizer=claims(ALICE), body={"x": 1})
    # THEN the ReadOnlySqlTransaction moves it to the read/write endpoint, and it stays there
    assert (status, body["preferences"]) == (200, {"x": 1})
    assert common.database().current_host == "127.0.0.1"
    assert call("PUT", "/me/preferences", authorizer=claims(ALICE), body={"x": 2})[0] == 200
    assert common.database().connects == 2


def test_read_only_error_on_a_read_is_not_retried_elsewhere(env, pg, replica):
    # A read-only unit of work never writes, so a 25006 there is a bug to surface, not retry.
    wait_replayed(pg, replica)
    settings = DbSettings.from_env(
        {**env, "APP_ROLE_HINT": "secondary", "DB_READER_HOST": READER_HOST}
    )
    database = Database(settings)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            database.run(lambda c: c.execute("DELETE FROM users"))
        assert database.current_host == READER_HOST
    finally:
        database.close()


def test_secondary_session_gets_statement_timeout_and_consistency_mode(env, monkeypatch):
    monkeypatch.setenv("APP_ROLE_HINT", "secondary")
    common.reset()
    database = common.database()
    settings = database.run(
        lambda c: c.execute(
            "SELECT current_setting('statement_timeout'), "
            "current_setting('apg_write_forward.consistency_mode')"
        ).fetchone()
    )
    assert settings == ("5s", "SESSION")


def test_iam_mode_signs_a_token_and_sends_no_startup_options(env, monkeypatch):
    monkeypatch.setenv("DB_AUTH", "iam")
    monkeypatch.setenv("DB_SSLMODE", "require")
    monkeypatch.setenv("DB_STARTUP_OPTIONS", "false")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mobile-api-eu")
    common.reset()
    kwargs = Database(DbSettings.from_env()).connect_kwargs("proxy.example")
    assert "X-Amz-Signature=" in kwargs["password"]
    assert kwargs["password"].startswith("proxy.example:")
    assert (kwargs["sslmode"], kwargs["prepare_threshold"], kwargs["autocommit"]) == (
        "require",
        None,
        True,
    )
    assert "options" not in kwargs
    assert kwargs["application_name"] == "mobile-api-eu"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DB_NAME": ""}, "DB_NAME is required"),
        ({"DB_AUTH": "kerberos"}, "DB_AUTH must be one of iam, secret"),
        ({"DB_SECRET_ARN": ""}, "DB_SECRET_ARN is required when DB_AUTH=secret"),
        ({"DB_PORT": "x"}, "DB_PORT must be an integer"),
        ({"APP_ROLE_HINT": "tertiary"}, "APP_ROLE_HINT must be one of primary, secondary"),
        ({"DB_AUTH": "iam", "DB_SSLMODE": "disable"}, "DB_SSLMODE must be require"),
    ],
)
def test_db_settings_errors_name_the_variable(overrides, message):
    with pytest.raises(SettingsError, match=message):
        DbSettings.from_env({**VALID_ENV, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"EVENTS_TOPIC_ARN": ""}, "EVENTS_TOPIC_ARN is required"),
        ({"PUSH_PLATFORM_APPLICATIONS": '{"sms": "arn:x"}'}, "PUSH_PLATFORM_APPLICATIONS"),
        ({"PUSH_PLATFORM_APPLICATIONS": "{bad"}, "PUSH_PLATFORM_APPLICATIONS must be valid JSON"),
        ({"PUSH_RELAY_FUNCTION": ""}, "PUSH_RELAY_FUNCTION is required"),
        ({"PUSH_RELAY_FUNCTION": "not a function"}, "PUSH_RELAY_FUNCTION must be a Lambda"),
    ],
)
def test_api_settings_errors_name_the_variable(overrides, message):
    with pytest.raises(SettingsError, match=message):
        ApiSettings.from_env({**VALID_ENV, **overrides})


def test_valid_environment_parses_with_documented_defaults():
    db = DbSettings.from_env({k: v for k, v in VALID_ENV.items() if k != "DB_PORT"})
    api = ApiSettings.from_env(VALID_ENV)
    assert (db.port, db.reader_host, db.sslmode, db.startup_options) == (
        5432,
        "proxy-rw.example",
        "require",
        False,
    )
    assert api.push_platform_applications == {}


def test_migration_trigger_settings_validate_pools_and_legacy_url():
    base = {"AWS_REGION": "eu-west-1"}
    with pytest.raises(SettingsError, match=r"PEER_USER_POOLS\[0\]"):
        MigrationTriggerSettings.from_env({**base, "PEER_USER_POOLS": '[{"region": "x"}]'})
    with pytest.raises(SettingsError, match="LEGACY_AUTH_URL must be an https URL"):
        MigrationTriggerSettings.from_env({**base, "LEGACY_AUTH_URL": "http://legacy.example"})
    settings = MigrationTriggerSettings.from_env(
        {
            **base,
            "PEER_USER_POOLS": '[{"region": "us-west-1", "user_pool_id": "p", "client_id": "c"}]',
            "LEGACY_AUTH_URL": "https://legacy.example/auth",
        }
    )
    assert settings.peer_pools[0].region == "us-west-1"
    assert settings.legacy_auth_url == "https://legacy.example/auth"


def test_api_misconfiguration_is_a_500_without_details(env, monkeypatch):
    monkeypatch.delenv("EVENTS_TOPIC_ARN")
    common.reset()
    status, body = call(
        "POST", "/users", authorizer=claims(ALICE), body={"name": "a", "email": "a@b.co"}
    )
    assert status == 500
    assert body == {"error": {"code": "internal_error", "message": "internal error"}}


def test_unreadable_secret_is_503_not_500(env, monkeypatch):
    # GIVEN the secret cannot be read (deleted, or Secrets Manager unreachable)
    monkeypatch.setenv(
        "DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf"
    )
    common.reset()
    # WHEN a data route runs THEN the caller is told to retry, without details
    status, body = call("GET", "/me", authorizer=claims(ALICE))
    assert status == 503
    assert body["error"]["code"] == "unavailable"
