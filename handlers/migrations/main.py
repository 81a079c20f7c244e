"""Schema migration entry point: `handlers.migrations.main.handler`.

Invoked by `aws.lambda_.Invocation` during `pulumi up`, in the writer region only, with
`{"checksum": "<sha256 of the SQL files>", "app_users": [{"name": ..., "secret_arn": ...}]}`.
`app_users` (optional) are the app's login roles: created if missing, granted `app_rw`, and,
when `secret_arn` is given, their password set from that secret (the one RDS Proxy uses), so a
fresh cluster works before the first rotation. A plain string entry is a name without secret.
The checksum makes the Invocation re-run when the SQL changes and lets this function refuse a
mismatch between what the infrastructure hashed and the code actually deployed. Returns what
it applied, for the Pulumi output.
"""

from __future__ import annotations

import json
from typing import Any

from backend import aws
from backend.migrate import (
    AppUser,
    MigrationError,
    apply_migrations,
    combined_checksum,
    ensure_app_users,
)
from handlers import common
from handlers.observability import logger


def parse_app_users(raw: Any) -> list[dict[str, str]]:
    entries = raw if isinstance(raw, list) else None
    if entries is None:
        raise MigrationError("app_users must be a list")
    users: list[dict[str, str]] = []
    for entry in entries:
        user = {"name": entry} if isinstance(entry, str) else entry
        if not (
            isinstance(user, dict)
            and isinstance(user.get("name"), str)
            and user["name"]
            and isinstance(user.get("secret_arn", ""), str)
        ):
            raise MigrationError("app_users entries need a name (and optionally a secret_arn)")
        users.append(user)
    return users


def resolve(user: dict[str, str]) -> AppUser:
    """The role with its password read from the secret the proxy uses, if one is named."""
    arn = user.get("secret_arn")
    if not arn:
        return AppUser(user["name"])
    secret = json.loads(
        aws.client("secretsmanager", arn.split(":")[3]).get_secret_value(SecretId=arn)[
            "SecretString"
        ]
    )
    if secret.get("username", user["name"]) != user["name"]:
        raise MigrationError(f"secret for {user['name']} names another user")
    return AppUser(user["name"], secret["password"])


@logger.inject_lambda_context
def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    event = event or {}
    expected = event.get("checksum")
    app_users = parse_app_users(event.get("app_users") or [])
    actual = combined_checksum()
    if expected is not None and expected != actual:
        raise MigrationError(
            f"checksum mismatch: infrastructure hashed {str(expected)[:12]}, the deployed "
            f"migrations hash to {actual[:12]}; redeploy the function code"
        )
    database = common.database()
    conn = database.connection()
    if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
        # DDL is not forwarded by Aurora write forwarding: only the writer may migrate.
        raise MigrationError("migrations must run against the writer (this endpoint is a replica)")
    result = apply_migrations(conn)
    created = ensure_app_users(conn, [resolve(user) for user in app_users])
    logger.info("migrations done", extra={"applied": result.applied, "roles_created": created})
    return {
        "applied": result.applied,
        "current_version": result.current_version,
        "checksum": result.checksum,
        "roles_created": created,
    }
