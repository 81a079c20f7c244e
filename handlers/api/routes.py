"""HTTP routes of the mobile API: adapters from API Gateway requests to `backend` calls.

Routes only parse, authorise the caller and call the library; every error they raise is a
`backend.errors.DomainError` mapped to JSON in `handlers.api.errors`.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query

from backend import preferences, push, uploads, users
from backend.errors import UnauthorizedError
from backend.events import publish_user_create
from backend.identity import Caller, caller_from_authorizer
from backend.models import (
    CreateUserAccepted,
    CreateUserRequest,
    Device,
    DeviceRequest,
    DownloadTicket,
    ErrorResponse,
    Health,
    Me,
    NotificationRequest,
    NotificationResult,
    Preferences,
    UploadRequest,
    UploadTicket,
    User,
    UserCreateMessage,
    UserPage,
)
from handlers import common

router = Router()

HEALTH_TIMEOUT_SECONDS = 2.0
_ERROR_TEXT = {
    400: "Validation error (see `error.fields`)",
    401: "No caller identity",
    403: "The resource belongs to another account",
    404: "Not found",
    409: "Conflict",
    413: "Over the size limit (`error.fields` names the field)",
    503: "Database unavailable, retry later",
}


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
    limit: Annotated[int, Query(ge=1, le=users.MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
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
def get_user(id: Annotated[UUID, Path()]) -> User:
    caller = current_caller()
    return common.database().run(lambda c: users.get_user(c, caller, id), atomic=False)


@router.post(
    "/users",
    summary="Request a user creation (applied asynchronously)",
    tags=["users"],
    status_code=202,
    responses={
        202: {
            "description": "Accepted; the write happens asynchronously",
            "content": {"application/json": {"model": CreateUserAccepted}},
        },
        **errors(400, 401),
    },
)
def create_user(
    body: Annotated[CreateUserRequest, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=users.MAX_IDEMPOTENCY_KEY,
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
    responses={**ok(Preferences), **errors(400, 401, 413, 503)},
)
def put_preferences(body: Annotated[dict[str, Any], Body()]) -> Preferences:
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
        **errors(400, 401, 413),
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
        max_bytes=settings.upload_max_bytes,
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
        Path(pattern=uploads.ID_PATTERN.pattern, description="Upload id from POST /uploads"),
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
        **errors(400, 401, 409, 503),
    },
)
def register_device(body: Annotated[DeviceRequest, Body()]) -> Device:
    caller = current_caller()
    settings = common.api_settings()
    sns = common.aws_client("sns", settings.region)
    return common.database().run(
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


@router.post(
    "/notifications",
    summary="Send a push notification to a user's devices (self, or anyone for admins)",
    tags=["push"],
    responses={**ok(NotificationResult), **errors(400, 401, 403, 404, 503)},
)
def send_notification(body: Annotated[NotificationRequest, Body()]) -> NotificationResult:
    caller = current_caller()
    push.authorize_notification(caller, body)
    endpoints = common.database().run(
        lambda c: push.device_endpoints(c, body.user_sub), atomic=False
    )
    return push.send_notification(
        endpoints, lambda region: common.aws_client("sns", region), caller=caller, request=body
    )
