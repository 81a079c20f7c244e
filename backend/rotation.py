"""Secrets Manager rotation for a single-user PostgreSQL secret.

The secret is JSON `{engine, host, port, username, password, dbname}`. The four steps follow
the Secrets Manager contract and are each safe to re-run:

* createSecret: put a new random password under AWSPENDING (unless one exists for the token).
* setSecret: if the pending password already logs in, do nothing; otherwise log in with
  AWSCURRENT (or AWSPREVIOUS, if a half-finished rotation already changed the password) and
  `ALTER ROLE ... PASSWORD` via `psycopg.sql` (identifier and literal quoted by the driver).
* testSecret: log in with the pending secret and check who we are.
* finishSecret: move AWSCURRENT to the token's version (Secrets Manager keeps the old one as
  AWSPREVIOUS). Until this step AWSCURRENT still holds the old password, so a failure earlier
  never publishes an untested password.

Single-user rotation means the old password stops working once setSecret succeeds; clients
recover by refetching the secret on a failed connect (see backend/db.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# Characters that would need escaping in a libpq connection string or a shell.
EXCLUDE_CHARACTERS = "/@\"'\\ `"
Connect = Callable[[dict[str, Any]], "psycopg.Connection"]


class RotationError(RuntimeError):
    """The rotation step cannot proceed; the message carries no secret material."""


def _client_error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def get_secret_dict(sm: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"SecretId": arn, "VersionStage": stage}
    if token:
        kwargs["VersionId"] = token
    secret = json.loads(sm.get_secret_value(**kwargs)["SecretString"])
    missing = [k for k in ("host", "username", "password") if not secret.get(k)]
    if missing:
        raise RotationError(f"secret {stage} lacks {', '.join(missing)}")
    return secret


def check_version(sm: Any, arn: str, token: str, step: str) -> bool:
    """False when the token's version is already AWSCURRENT (nothing to do)."""
    versions = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    if step == "createSecret" and token not in versions:
        return True  # created by this step (real RotateSecret pre-creates it, moto does not)
    if token not in versions:
        raise RotationError(f"secret version {token} has no stage for rotation")
    if "AWSCURRENT" in versions[token]:
        return False
    if "AWSPENDING" not in versions[token]:
        raise RotationError(f"secret version {token} is not AWSPENDING")
    return True


def create_secret(sm: Any, arn: str, token: str) -> None:
    current = get_secret_dict(sm, arn, "AWSCURRENT")
    try:
        get_secret_dict(sm, arn, "AWSPENDING", token)
        return  # re-run: the pending value for this token already exists
    except Exception as exc:
        if _client_error_code(exc) != "ResourceNotFoundException":
            raise
    password = sm.get_random_password(PasswordLength=32, ExcludeCharacters=EXCLUDE_CHARACTERS)[
        "RandomPassword"
    ]
    sm.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps({**current, "password": password}),
        VersionStages=["AWSPENDING"],
    )


def _try_login(connect: Connect, secret: dict[str, Any]) -> psycopg.Connection | None:
    import psycopg

    try:
        return connect(secret)
    except psycopg.OperationalError:
        return None


def set_secret(sm: Any, arn: str, token: str, connect: Connect) -> None:
    from psycopg import sql

    pending = get_secret_dict(sm, arn, "AWSPENDING", token)
    current = get_secret_dict(sm, arn, "AWSCURRENT")
    for key in ("username", "host"):
        if pending[key] != current[key]:
            raise RotationError(f"pending secret changes {key}; single-user rotation forbids it")
    already = _try_login(connect, pending)
    if already is not None:
        already.close()
        return
    conn = _try_login(connect, current)
    if conn is None:
        try:
            conn = _try_login(connect, get_secret_dict(sm, arn, "AWSPREVIOUS"))
        except Exception as exc:
            if _client_error_code(exc) != "ResourceNotFoundException":
                raise
    if conn is None:
        raise RotationError("cannot log in with AWSCURRENT or AWSPREVIOUS to set the password")
    with conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                sql.Identifier(pending["username"]), sql.Literal(pending["password"])
            )
        )


def verify_secret(sm: Any, arn: str, token: str, connect: Connect) -> None:
    pending = get_secret_dict(sm, arn, "AWSPENDING", token)
    conn = _try_login(connect, pending)
    if conn is None:
        raise RotationError("the pending secret cannot log in")
    with conn:
        user = conn.execute("SELECT current_user").fetchone()[0]
    if user != pending["username"]:
        raise RotationError("the pending secret logs in as another role")


def finish_secret(sm: Any, arn: str, token: str) -> None:
    versions = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    current = next((v for v, stages in versions.items() if "AWSCURRENT" in stages), None)
    if current == token:
        return
    sm.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )
    if "AWSPENDING" in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].get(token, []):
        sm.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token
        )


def rotate(step: str, arn: str, token: str, *, sm: Any, connect: Connect) -> None:
    """Run one rotation step (what the Lambda handler calls)."""
    if step not in STEPS:
        raise RotationError(f"unknown rotation step {step!r}")
    if not check_version(sm, arn, token, step):
        return
    if step == "createSecret":
        create_secret(sm, arn, token)
    elif step == "setSecret":
        set_secret(sm, arn, token, connect)
    elif step == "testSecret":
        verify_secret(sm, arn, token, connect)
    else:
        finish_secret(sm, arn, token)
