"""Schema migration entry point: `handlers.migrations.main.handler`.

Invoked by `aws.lambda_.Invocation` during `pulumi up`, in the writer region only, with
`{"checksum": "<combined sha256 of the SQL files>"}`. The checksum makes the Invocation re-run
when the SQL changes and lets this function refuse a mismatch between what the infrastructure
hashed and the code actually deployed. Returns what it applied, for the Pulumi output.
"""

from __future__ import annotations

from typing import Any

from backend.migrate import MigrationError, apply_migrations, combined_checksum
from handlers import common
from handlers.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    expected = (event or {}).get("checksum")
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
    logger.info("migrations done", extra={"applied": result.applied})
    return {
        "applied": result.applied,
        "current_version": result.current_version,
        "checksum": result.checksum,
    }
