"""DB secret rotation steps against real PostgreSQL and moto Secrets Manager.

moto's `rotate_secret` leaves AWSCURRENT empty, so the steps are called directly with the
events Secrets Manager would send, like the real service does one after the other.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql

from backend.rotation import RotationError
from handlers.db_rotation.main import handler
from tests.handlers.conftest import boto
from tests.handlers.helpers import LambdaContext


@pytest.fixture
def rotation(monkeypatch, pg, db_name, admin_conn, aws):
    """A login role with a known password and the secret describing it."""
    role = f"rot_{uuid.uuid4().hex[:8]}"
    admin_conn.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal("initial-password")
        )
    )
    secret = {
        "engine": "postgres",
        "host": pg.host,
        "port": pg.port,
        "username": role,
        "password": "initial-password",
        "dbname": db_name,
    }
    arn = boto("secretsmanager").create_secret(Name=role, SecretString=json.dumps(secret))["ARN"]
    monkeypatch.setenv("DB_SSLMODE", "disable")
    yield {"arn": arn, "role": role, "secret": secret}
    admin_conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
    )


def step(arn: str, token: str, name: str) -> None:
    handler({"SecretId": arn, "ClientRequestToken": token, "Step": name}, LambdaContext())


def can_login(secret: dict, password: str) -> bool:
    try:
        with psycopg.connect(
            host=secret["host"],
            port=secret["port"],
            dbname=secret["dbname"],
            user=secret["username"],
            password=password,
            sslmode="disable",
            connect_timeout=3,
        ):
            return True
    except psycopg.OperationalError:
        return False


def stage_value(arn: str, stage: str) -> dict:
    return json.loads(
        boto("secretsmanager").get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]
    )


def test_full_rotation_switches_password_and_current_version(rotation):
    arn, secret = rotation["arn"], rotation["secret"]
    token = str(uuid.uuid4())
    # WHEN the four steps run in order
    for name in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        step(arn, token, name)
    # THEN AWSCURRENT holds a new password that logs in, the old one no longer does,
    # and the old value is kept as AWSPREVIOUS
    current = stage_value(arn, "AWSCURRENT")
    assert current["password"] != "initial-password"
    assert {k: v for k, v in current.items() if k != "password"} == {
        k: v for k, v in secret.items() if k != "password"
    }
    assert can_login(secret, current["password"])
    assert not can_login(secret, "initial-password")
    assert stage_value(arn, "AWSPREVIOUS")["password"] == "initial-password"
    stages = boto("secretsmanager").describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages[token] == ["AWSCURRENT"]


def test_every_step_is_idempotent_when_retried(rotation):
    arn, secret = rotation["arn"], rotation["secret"]
    token = str(uuid.uuid4())
    step(arn, token, "createSecret")
    pending = stage_value(arn, "AWSPENDING")["password"]
    step(arn, token, "createSecret")
    assert stage_value(arn, "AWSPENDING")["password"] == pending
    step(arn, token, "setSecret")
    step(arn, token, "setSecret")
    step(arn, token, "testSecret")
    step(arn, token, "testSecret")
    step(arn, token, "finishSecret")
    step(arn, token, "finishSecret")
    assert stage_value(arn, "AWSCURRENT")["password"] == pending
    assert can_login(secret, pending)


def test_failed_test_step_leaves_old_password_working_and_current_unchanged(rotation):
    # GIVEN a pending secret whose password was never set on the database
    arn, secret = rotation["arn"], rotation["secret"]
    token = str(uuid.uuid4())
    step(arn, token, "createSecret")
    # WHEN testSecret runs THEN it fails, and nothing visible to clients changed
    with pytest.raises(RotationError, match="cannot log in"):
        step(arn, token, "testSecret")
    assert stage_value(arn, "AWSCURRENT")["password"] == "initial-password"
    assert can_login(secret, "initial-password")


def test_failed_set_step_leaves_old_password_working_and_current_unchanged(rotation):
    # GIVEN a pending version that would change the user (forbidden for single-user rotation)
    arn, secret = rotation["arn"], rotation["secret"]
    token = str(uuid.uuid4())
    boto("secretsmanager").put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps({**secret, "username": "postgres", "password": "hijack-1"}),
        VersionStages=["AWSPENDING"],
    )
    # WHEN setSecret runs THEN it refuses, the old password works and AWSCURRENT is unchanged
    with pytest.raises(RotationError, match="changes username"):
        step(arn, token, "setSecret")
    assert can_login(secret, "initial-password")
    assert stage_value(arn, "AWSCURRENT")["password"] == "initial-password"


def test_set_step_cannot_log_in_leaves_everything_unchanged(rotation, admin_conn):
    # GIVEN the database password drifted away from both stored versions
    arn, secret, role = rotation["arn"], rotation["secret"], rotation["role"]
    token = str(uuid.uuid4())
    step(arn, token, "createSecret")
    admin_conn.execute(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal("drifted"))
    )
    # WHEN setSecret runs THEN it fails loudly and AWSCURRENT still holds the old value
    with pytest.raises(RotationError, match="cannot log in with AWSCURRENT"):
        step(arn, token, "setSecret")
    assert stage_value(arn, "AWSCURRENT")["password"] == "initial-password"
    assert can_login(secret, "drifted")


def test_unknown_step_and_foreign_token_are_refused(rotation):
    arn = rotation["arn"]
    with pytest.raises(RotationError, match="unknown rotation step"):
        step(arn, str(uuid.uuid4()), "dance")
    with pytest.raises(RotationError, match="has no stage for rotation"):
        step(arn, str(uuid.uuid4()), "setSecret")
