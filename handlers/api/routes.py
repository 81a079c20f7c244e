"""HTTP routes of the mobile API: adapters from API Gateway requests to `backend` calls.

Routes only parse, authorise the caller and call the library; every error they raise is a
`backend.errors.DomainError` mapped to JSON in `handlers.api.errors`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from pydantic import BeforeValidator, Field, WithJsonSchema

from backend import preferences, push, uploads, users
from backend.db import DatabaseUnavailableError
from backend.errors import UnauthorizedError
from backend.events import publish_user_create
from backend.identity import Caller, caller_from_authorizer
from backend.models import (
    UUID_PATTERN,
    CreateUserAccepted,
    CreateUserRequest,
    CreateUserRequestStatus,
    Device,
    DeviceRequest,
    DownloadTicket,
    ErrorResponse,
    Health,
    Matches,
    Me,
    NotificationRequest,
    NotificationResult,
    Preferences,
    PreferencesDocument,
    UploadRequest,
    UploadTicket,
    User,
    UserCreateMessage,
    UserPage,
    ecma_regex,
)
from backend.pagination import CURSOR_PATTERN
from backend.push_relay import RelayedSns
from handlers import common
from handlers.observability import logger

router = Router()

HEALTH_TIMEOUT_SECONDS = 2.0
_ERROR_TEXT = {
    400: "Validation error (see `error.fields`)",
    401: "No caller identity",
    403: "The resource belongs to another account",
    404: "Not found",
    409: "Conflict",
    413: "Over a size limit (`error.fields` names the field, or `body`)",
    415: "The body is not `application/json`",
    503: "Database unavailable, retry later",
}
# Every route with a body can answer these before its own logic runs (backend.json_body).
BODY_ERRORS = (400, 413, 415)


def _digits(value: Any) -> Any:
    # A query string carries an integer as decimal digits; pydantic alone would also take
    # "+5", " 5", "5.0" or "1_0", none of which the document's `integer` allows.
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,9}", value):
        raise ValueError("must be decimal digits")
    return value


def _canonical_uuid(value: Any) -> Any:
    # pydantic also takes braces, "urn:uuid:" and bare hex; format `uuid` is the 8-4-4-4-12
    # form only.
    if isinstance(value, str) and not _UUID.search(value):
        raise ValueError("must be a UUID in 8-4-4-4-12 form")
    return value


_UUID = ecma_regex(UUID_PATTERN)
QueryInt = BeforeValidator(_digits)
Uuid = Annotated[
    UUID,
    BeforeValidator(_canonical_uuid),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN}),
]


def errors(*codes: int) -> dict[int, Any]:
    """OpenAPI responses for the error codes a route can answer, all with the error model."""
    return {
        code: {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
        for code in codes
    }


def ok(model: type, description: str = "OK") -> dict[int, Any]:
    """The 200 response (Powertools documents none once `responses` is given)."""
    return {200: {"description": description, "content": {"application/json": {"model": model}}}}


def current_caller() -> Caller:
    authorizer = router.current_event.raw_event.get("requestContext", {}).get("authorizer")
    caller = caller_from_authorizer(authorizer)
    if caller is None:
        raise UnauthorizedError("missing caller identity")
    return caller


@router.get(
    "/health",
    summary="Region, database role and reachability",
    tags=["health"],
    responses={
        200: {"description": "Healthy", "content": {"application/json": {"model": Health}}},
        503: {
            "description": "Database unreachable",
            "content": {"application/json": {"model": Health}},
        },
    },
)
def health() -> tuple[dict[str, Any], int]:
    # Deliberately settings-light: the Route 53 probe must get an answer even when the API's
    # other settings are broken, so it reads only what it needs.
    database = common.database()
    reachable, role = database.probe(HEALTH_TIMEOUT_SECONDS)
    body = Health(
        status="ok" if reachable else "degraded",
        region=database.settings.region,
        role=role or "unknown",  # type: ignore[arg-type]
        database="reachable" if reachable else "unreachable",
    )
    return body.model_dump(mode="json"), 200 if reachable else 503


@router.get(
    "/users",
    summary="List users (keyset pagination)",
    tags=["users"],
    responses={**ok(UserPage), **errors(400, 401, 503)},
)
def list_users(
    limit: Annotated[int, Field(ge=1, le=users.MAX_PAGE), QueryInt, Query()] = 20,
    cursor: Annotated[
        Annotated[str, Matches(CURSOR_PATTERN)] | None,
        Query(description="`next_cursor` of the previous page"),
    ] = None,
) -> UserPage:
    caller = current_caller()
    # One statement per unit of work here: atomic=False spares BEGIN and COMMIT (db.py).
    return common.database().run(
        lambda c: users.list_users(c, caller, limit=limit, cursor=cursor), atomic=False
    )


@router.get(
    "/users/<id>",
    summary="One user",
    tags=["users"],
    responses={**ok(User), **errors(400, 401, 403, 404, 503)},
)
def get_user(id: Annotated[Uuid, Path()]) -> User:
    caller = current_caller()
    return common.database().run(lambda c: users.get_user(c, caller, id), atomic=False)


@router.post(
    "/users",
    summary="Request a user creation (applied asynchronously)",
    tags=["users"],
    status_code=202,
    responses={
        202: {
            "description": (
                "Accepted; the write happens asynchronously: poll "
                "GET /users/requests/{message_id} for the outcome"
            ),
            "content": {"application/json": {"model": CreateUserAccepted}},
        },
        **errors(*BODY_ERRORS, 401),
    },
)
def create_user(
    body: Annotated[CreateUserRequest, Body()],
    idempotency_key: Annotated[
        Annotated[str, Matches(users.IDEMPOTENCY_KEY_PATTERN)] | None,
        Header(
            alias="Idempotency-Key",
            description="Retries with the same key create the user once",
        ),
    ] = None,
) -> CreateUserAccepted:
    caller = current_caller()
    settings = common.api_settings()
    sns = common.aws_client("sns", settings.region)

    def publish(message: UserCreateMessage) -> None:
        publish_user_create(sns, settings.events_topic_arn, message)

    return users.request_user_creation(
        caller, body, idempotency_key=idempotency_key, region=settings.region, publish=publish
    )


@router.get(
    "/users/requests/<id>",
    summary="The outcome of a POST /users: pending, created or rejected (with the reason)",
    tags=["users"],
    responses={**ok(CreateUserRequestStatus), **errors(400, 401, 404, 503)},
)
def get_user_request(
    id: Annotated[Uuid, Path(description="`message_id` from POST /users")],
) -> CreateUserRequestStatus:
    caller = current_caller()
    return common.database().run(lambda c: users.request_status(c, caller, id))


@router.get(
    "/me",
    summary="The caller's profile and preferences",
    tags=["me"],
    responses={**ok(Me), **errors(401, 503)},
)
def me() -> Me:
    caller = current_caller()
    prefs = common.database().run(
        lambda c: preferences.get_preferences(c, caller.sub), atomic=False
    )
    return Me(
        sub=caller.sub,
        email=caller.email,
        groups=sorted(caller.groups),
        preferences=prefs.preferences if prefs else {},
        preferences_updated_at=prefs.updated_at if prefs else None,
    )


@router.put(
    "/me/preferences",
    summary="Replace the caller's preferences (synced across devices)",
    tags=["me"],
    responses={**ok(Preferences), **errors(*BODY_ERRORS, 401, 503)},
)
def put_preferences(
    body: Annotated[
        PreferencesDocument,
        Body(
            description=(
                f"At most {preferences.MAX_PREFERENCES_BYTES} bytes as compact UTF-8 JSON "
                "(413 above)"
            )
        ),
    ],
) -> Preferences:
    caller = current_caller()
    return common.database().run(
        lambda c: preferences.put_preferences(c, caller.sub, body), write=True, atomic=False
    )


@router.post(
    "/uploads",
    summary="Presigned S3 PUT into the caller's own prefix",
    tags=["uploads"],
    status_code=201,
    responses={
        201: {
            "description": "Upload ticket",
            "content": {"application/json": {"model": UploadTicket}},
        },
        **errors(*BODY_ERRORS, 401),
    },
)
def create_upload(body: Annotated[UploadRequest, Body()]) -> UploadTicket:
    caller = current_caller()
    settings = common.api_settings()
    return uploads.create_upload(
        common.aws_client("s3", settings.region),
        bucket=settings.assets_bucket,
        caller=caller,
        request=body,
    )


@router.get(
    "/uploads/<key>",
    summary="Presigned S3 GET for one of the caller's uploads",
    tags=["uploads"],
    responses={**ok(DownloadTicket), **errors(400, 401, 403, 404)},
)
def get_upload(
    key: Annotated[
        str,
        Matches(uploads.UPLOAD_ID_PATTERN),
        Path(description="Upload id from POST /uploads"),
    ],
) -> DownloadTicket:
    caller = current_caller()
    settings = common.api_settings()
    return uploads.create_download(
        common.aws_client("s3", settings.region),
        bucket=settings.assets_bucket,
        caller=caller,
        opaque_id=key,
    )


@router.post(
    "/devices",
    summary="Register a push token as an SNS platform endpoint",
    tags=["push"],
    status_code=201,
    responses={
        201: {"description": "Registered", "content": {"application/json": {"model": Device}}},
        **errors(*BODY_ERRORS, 401, 409, 503),
    },
)
def register_device(body: Annotated[DeviceRequest, Body()]) -> Device:
    caller = current_caller()
    settings = common.api_settings()
    sns = common.aws_client("sns", settings.region)
    device, stale = common.database().run(
        lambda c: push.register_device(
            c,
            sns,
            caller=caller,
            request=body,
            platform_applications=settings.push_platform_applications,
        ),
        write=True,
        atomic=False,
    )
    _clean_up(stale)
    return device


@router.delete(
    "/devices/<id>",
    summary="Unregister one of the caller's devices (its endpoint is deleted)",
    tags=["push"],
    status_code=204,
    responses={204: {"description": "Unregistered"}, **errors(400, 401, 404, 503)},
)
def unregister_device(
    id: Annotated[Uuid, Path(description="`id` from POST /devices")],
) -> Response[None]:
    caller = current_caller()
    # One statement (DELETE ... RETURNING): no transaction around it, so a secondary forwards
    # one round trip to the writer, not three (BEGIN is local; the DELETE and COMMIT are not).
    cleanup = common.database().run(
        lambda c: push.unregister_device(c, caller, id), write=True, atomic=False
    )
    _clean_up(cleanup)
    return Response(status_code=204)


@router.post(
    "/notifications",
    summary="Send a push notification to a user's devices (self, or anyone for admins)",
    tags=["push"],
    responses={**ok(NotificationResult), **errors(*BODY_ERRORS, 401, 403, 404, 503)},
)
def send_notification(body: Annotated[NotificationRequest, Body()]) -> NotificationResult:
    caller = current_caller()
    push.authorize_notification(caller, body)
    started = datetime.now(UTC)
    endpoints = common.database().run(
        lambda c: push.device_endpoints(c, body.user_sub), atomic=False
    )
    delivery = push.send_notification(endpoints, sns_for_region, caller=caller, request=body)
    if not delivery.dead:
        return delivery.result
    try:
        cleanup = common.database().run(
            lambda c: push.prune(c, delivery.dead, found_before=started), write=True
        )
    except DatabaseUnavailableError:
        # The pushes went out: failing now would make the client send them again. The dead
        # endpoints are found again by the next send.
        logger.warning("prune skipped: database unavailable")
        return delivery.result.model_copy(update={"pruned": 0})
    _clean_up(cleanup)
    return delivery.result.model_copy(update={"pruned": len(cleanup.endpoint_arns)})


def sns_for_region(region: str) -> Any:
    """SNS for a device endpoint's region: this region's through its VPC endpoint, another
    region's through the push relay (backend.push_relay says why)."""
    settings = common.api_settings()
    if region == settings.region:
        return common.aws_client("sns", region)
    return RelayedSns(
        common.aws_client("lambda", settings.region), settings.push_relay_function, region
    )


def _clean_up(cleanup: push.Cleanup) -> None:
    cleanup.run(sns_for_region)
    if cleanup.failed:
        logger.warning("device endpoints left behind", extra={"regions": cleanup.failed})
