"""Region switch custom steps: `handlers.dr_probe.main.handler` (docs/dr.md).

An ARC Region switch plan invokes this function through one alias per step
(``contract.names.DR_PROBE_ALIASES``); Lambda passes the ARN it was invoked through, so the
alias picks the check: ``verify-writer`` (this region's cluster is the writer and commits a
write, recorded) or ``smoke`` (the app's own database path writes). A failed check raises, the
step fails, and ARC retries it every minute until the step's timeout.

ARC's event is logged but not relied on beyond an optional execution id.
"""

from __future__ import annotations

import functools
from typing import Any

from backend import dr_probe
from backend.db import Database
from contract import names
from handlers import common
from handlers.observability import logger


class UnknownCheckError(ValueError):
    """Invoked through no alias of a Region switch step (e.g. $LATEST or `live`)."""


def check_of(invoked_function_arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>:<alias>`` → the alias."""
    parts = invoked_function_arn.split(":")
    qualifier = parts[7] if len(parts) > 7 else None
    if qualifier not in names.DR_PROBE_ALIASES:
        raise UnknownCheckError(
            f"invoked as {invoked_function_arn!r}: invoke one of the aliases "
            f"{', '.join(names.DR_PROBE_ALIASES)}"
        )
    return qualifier


@functools.cache
def writer_database() -> Database:
    return Database(dr_probe.writer_settings(common.db_settings()))


def execution_id(event: Any) -> str | None:
    if isinstance(event, dict):
        value = event.get("executionId") or event.get("execution_id")
        return str(value)[:128] if value else None
    return None


@logger.inject_lambda_context
def handler(event: Any, context: Any) -> dict[str, Any]:
    check = check_of(context.invoked_function_arn)
    region = common.db_settings().region
    execution = execution_id(event)
    logger.info("region switch step", extra={"check": check, "event": event})
    if check == names.DR_PROBE_WRITER_ALIAS:
        result = dr_probe.verify_writer(writer_database(), region, execution)
    else:
        result = dr_probe.verify_app_path(common.database(), region, execution)
    logger.info("check passed", extra=result.as_dict())
    return result.as_dict()
