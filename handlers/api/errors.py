"""The single mapping from exceptions to JSON error responses.

Shape: `{"error": {"code", "message", "fields"?}}`. Client errors are 4xx; anything unexpected
is a 500 whose body and log line carry neither the exception message (it may quote a row, an
email) nor the request body: only the exception type and the innermost stack frames, bounded
(a recursion error once wrote a 200 KB line for a 5 KB request).
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from backend.db import DatabaseUnavailableError
from backend.errors import DomainError, UnsupportedMediaTypeError
from contract.environment import PUSH_PLATFORMS
from handlers.observability import logger

_LOCATIONS = {"body", "query", "path", "header", "headers", "cookie"}
# A 500's log line: the innermost frames say where it broke; each frame line is cut short.
LOGGED_FRAMES = 8
LOGGED_FRAME_CHARS = 300
# RFC 8259: JSON is UTF-8, so charset is the only parameter that can be meant (and only so).
JSON_MEDIA_TYPE = "application/json"
_BODY_METHODS = ("POST", "PUT", "PATCH")


def error_body(code: str, message: str, fields: list[str] | None = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return json.dumps({"error": error})


def error_response(
    status: int, code: str, message: str, fields: list[str] | None = None
) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(code, message, fields),
    )


def rejected_before_routing(exc: DomainError) -> dict[str, Any]:
    """A proxy response for what `check_media_type` refused (no resolver has run yet)."""
    return {
        "statusCode": exc.status,
        "multiValueHeaders": {"Content-Type": [JSON_MEDIA_TYPE]},
        "body": error_body(exc.code, exc.message, exc.fields),
        "isBase64Encoded": False,
    }


def is_json(content_type: str) -> bool:
    """`application/json`, optionally with `charset=utf-8`; no look-alikes (`application/jsonp`)."""
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    if media_type != JSON_MEDIA_TYPE:
        return False
    normalized = (p.replace(" ", "").replace('"', "") for p in parameters)
    return all(parameter in ("charset=utf-8", "") for parameter in normalized)


def check_media_type(event: dict[str, Any]) -> None:
    """Refuse a body that is not JSON before any parsing: the API speaks JSON only, and form or
    multipart parsers must never see untrusted bodies. A body without a Content-Type is read
    as JSON, as API Gateway's request validation reads it."""
    if event.get("httpMethod") not in _BODY_METHODS or not event.get("body"):
        return
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type") or JSON_MEDIA_TYPE
    if not is_json(content_type):
        raise UnsupportedMediaTypeError(
            f"send the body as Content-Type: {JSON_MEDIA_TYPE}", fields=["Content-Type"]
        )
    # Media types are case-insensitive; Powertools compares them as written.
    for field in ("headers", "multiValueHeaders"):
        for name in list(event.get(field) or {}):
            if name.lower() == "content-type":
                event[field][name] = JSON_MEDIA_TYPE if field == "headers" else [JSON_MEDIA_TYPE]


def validation_fields(errors: list[dict[str, Any]]) -> list[str]:
    """The field each error is about: ("body", "email") -> "email", ("query", "limit") ->
    "limit", a preference value -> its top-level key, a whole body -> "body". A refused union
    tag names the discriminator (the tag value in the location is not a field)."""
    fields: list[str] = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
        if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            name = str(error.get("ctx", {}).get("discriminator", "body")).strip("'")
        else:
            named = [p for p in loc if p not in _LOCATIONS and p not in _UNION_TAGS]
            name = named[0] if named else (loc[0] if loc else "body")
        if name not in fields:
            fields.append(name)
    return fields


# Tags of the discriminated unions in request bodies (the device's platform): pydantic puts
# the tag of the member that failed into the error's location.
_UNION_TAGS = frozenset(PUSH_PLATFORMS)


def _bounded_stack(exc: BaseException) -> list[str]:
    frames = traceback.format_tb(exc.__traceback__)[-LOGGED_FRAMES:]
    return [frame[:LOGGED_FRAME_CHARS] for frame in frames]


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
            415,
            "unsupported_media_type",
            f"send the body as Content-Type: {JSON_MEDIA_TYPE}",
            ["Content-Type"],
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
            extra={"error_type": type(exc).__name__, "stack": _bounded_stack(exc)},
        )
        return error_response(500, "internal_error", "internal error")

    @app.not_found
    def not_found(_: Exception) -> Response:
        return error_response(404, "route_not_found", "no such route")
