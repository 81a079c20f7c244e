"""Schema migration entry point: `handlers.migrations.main.handler`.

Invoked by `aws.lambda_.Invocation` during `pulumi up`, in the writer region only, with
`{"checksum": "<combined sha256 of the SQL files>", "app_users": ["<DB_USER of the app>"]}`
(`app_users` optional: login roles to create if missing and grant the app's privileges).
The checksum makes the Invocation re-run when the SQL changes and lets this function refuse a
mismatch between what the infrastructure hashed and the code actually deployed. Returns what
it applied, for the Pulumi output.
"""

from __future__ import annotations

from typing import Any

from backend.migrate import MigrationError, apply_migrations, combined_checksum, ensure_app_users
from handlers import common
from handlers.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    event = event or {}
    expected = event.get("checksum")
    app_users = event.get("app_users") or []
    if not isinstance(app_users, list) or not all(isinstance(u, str) and u for u in app_users):
        raise MigrationError("app_users must be a list of role names")
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
    created = ensure_app_users(conn, app_users)
    logger.info("migrations done", extra={"applied": result.applied, "roles_created": created})
    return {
        "applied": result.applied,
        "current_version": result.current_version,
        "checksum": result.checksum,
        "roles_created": created,
    }
