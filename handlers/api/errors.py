"""The single mapping from exceptions to JSON error responses.

Shape: `{"error": {"code", "message", "fields"?}}`. Client errors are 4xx; anything unexpected
is a 500 whose body and log line carry neither the exception message (it may quote a row, an
email) nor the request body: only the exception type and the stack frames are logged.
"""

from __future__ import annotations

import traceback
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from backend.db import DatabaseUnavailableError
from backend.errors import DomainError
from handlers.observability import logger

_LOCATIONS = {"body", "query", "path", "header", "headers", "cookie"}


def error_response(
    status: int, code: str, message: str, fields: list[str] | None = None
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body={"error": error}
    )


def unsupported_media_type(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 415 proxy response for a request body that is not JSON, before any parsing: the API
    speaks JSON only, and form or multipart parsers must never see untrusted bodies."""
    if event.get("httpMethod") not in ("POST", "PUT", "PATCH") or not event.get("body"):
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = (headers.get("content-type") or "application/json").strip().lower()
    if content_type.startswith("application/json"):
        return None
    body = '{"error":{"code":"unsupported_media_type","message":"send the body as '
    body += 'Content-Type: application/json"}}'
    return {
        "statusCode": 415,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": body,
        "isBase64Encoded": False,
    }


def validation_fields(errors: list[dict[str, Any]]) -> list[str]:
    """Field names from pydantic locations: ("body", "email") -> "email", ("body",) -> "body"."""
    fields: list[str] = []
    for error in errors:
        parts = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
        named = [p for p in parts if p not in _LOCATIONS]
        name = ".".join(named) if named else (parts[0] if parts else "body")
        if name not in fields:
            fields.append(name)
    return fields


def register(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.exception_handler(RequestValidationError)
    def request_invalid(exc: RequestValidationError) -> Response:
        return error_response(
            400, "validation_error", "request validation failed", validation_fields(exc.errors())
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_media_type(exc: RequestUnsupportedContentType) -> Response:
        return error_response(
            415, "unsupported_media_type", "send the body as Content-Type: application/json"
        )

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(exc: UnicodeDecodeError) -> Response:
        # A body that is not UTF-8 cannot be JSON; it is the client's error, not ours.
        return error_response(400, "validation_error", "request body is not UTF-8 JSON", ["body"])

    @app.exception_handler(DatabaseUnavailableError)
    def database_down(exc: DatabaseUnavailableError) -> Response:
        logger.warning("database unavailable", extra={"error_type": type(exc).__name__})
        return error_response(503, "unavailable", "the database is unavailable, retry later")

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        logger.error(
            "unhandled exception",
            extra={
                "error_type": type(exc).__name__,
                "stack": traceback.format_tb(exc.__traceback__),
            },
        )
        return error_response(500, "internal_error", "internal error")

    @app.not_found
    def not_found(_: Exception) -> Response:
        return error_response(404, "route_not_found", "no such route")
