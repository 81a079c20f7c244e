"""SQS subscriber entry point: `handlers.subscriber.main.handler`.

Each record is one `POST /users` message (raw SNS delivery or SNS envelope). Records are
processed one by one with Powertools `BatchProcessor`; a failing record is reported in
`batchItemFailures` so only it returns to the queue (and, after the redrive count, to the DLQ).
Only what may succeed later fails that way (the database unreachable, a message that names no
request): a request whose values the database refuses can never land, so it is recorded as
rejected (`invalid`, visible to its caller) and acknowledged instead of filling the DLQ.
"""

from __future__ import annotations

import gc

# Cold start: the cyclic GC would run dozens of passes over the objects the imports below
# create (Powertools, pydantic), none of them garbage (~9 % of init CPU, docs/performance.md).
# Paused for the imports; the survivors are then frozen out of later collections, which also
# keeps full collections off the warm path, and the GC runs as before.
_gc_was_enabled = gc.isenabled()
gc.disable()
# ruff: noqa: E402 - the imports must follow gc.disable()

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from backend import users
from backend.db import DatabaseUnavailableError
from contract import telemetry
from handlers import common, snapstart
from handlers.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)
# Set when the database proved unreachable during this invocation: the remaining records fail
# at once instead of each waiting out connect timeouts (they return to the queue either way).
_invocation = {"database_down": False}


class MalformedMessageError(ValueError):
    """The record is not a message this API publishes. Carries error locations only, never the
    input values (pydantic messages quote them, and the body holds an email address)."""


def parse(body: str) -> users.UserCreateMessage | users.RequestRef:
    """The message, or, when its values are unusable but the request is identifiable, the
    reference to reject it by."""
    try:
        data = users.decode_message(body)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
        raise MalformedMessageError("body is not JSON") from None
    try:
        return users.UserCreateMessage.model_validate(data)
    except ValidationError as exc:
        ref = users.request_ref(data)
        if ref is not None:
            return ref
        locations = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise MalformedMessageError(f"invalid fields: {', '.join(locations)}") from None


def _run(work: Callable[[Any], str]) -> str:
    if _invocation["database_down"]:
        raise DatabaseUnavailableError("skipped: database unavailable in this invocation")
    try:
        return common.database().run(work, write=True)
    except DatabaseUnavailableError:
        _invocation["database_down"] = True
        raise


def apply(record: SQSRecord) -> str:
    parsed = parse(record.body)
    if isinstance(parsed, users.RequestRef):
        outcome = _run(lambda c: users.reject_invalid(c, parsed))
    else:
        try:
            outcome = _run(lambda c: users.apply_user_message(c, parsed))
        except Exception as exc:
            if not users.refused_by_database(exc):
                raise
            # The caller learns "invalid" from the request status; redelivering could only
            # fail the same way until the message reached the dead-letter queue.
            ref = users.RequestRef.model_validate(parsed.model_dump())
            outcome = _run(lambda c: users.reject_invalid(c, ref))
    if outcome == "duplicate":
        metrics.add_metric(
            name=telemetry.DUPLICATE_MESSAGES_SKIPPED, unit=MetricUnit.Count, value=1
        )
    else:
        metrics.add_metric(name=telemetry.MESSAGES_APPLIED, unit=MetricUnit.Count, value=1)
        if outcome == "created":
            metrics.add_metric(name=telemetry.USERS_CREATED, unit=MetricUnit.Count, value=1)
    logger.info(
        "message processed", extra={"message_id": str(parsed.message_id), "outcome": outcome}
    )
    return outcome


def record_handler(record: SQSRecord) -> str:
    try:
        return apply(record)
    except Exception as exc:
        # Counted here so a poison message or an outage shows up before the DLQ alarm does.
        metrics.add_metric(name=telemetry.MESSAGES_FAILED, unit=MetricUnit.Count, value=1)
        logger.warning(
            "message failed",
            extra={"sqs_message_id": record.message_id, "error": type(exc).__name__},
        )
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _invocation["database_down"] = False
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


# SnapStart: psycopg goes into the snapshot; a restored environment drops the connection
# (handlers/snapstart.py).
snapstart.install(reset=common.reset, preload_modules=("psycopg",))

gc.freeze()
if _gc_was_enabled:
    gc.enable()
