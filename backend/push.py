"""Mobile push: device registration as SNS platform endpoints, and sending to a user.

Who may notify whom: a caller may notify themself; members of the Cognito `admins` group may
notify anyone. Everything else is 403. Push payloads leave AWS (APNs/FCM), so titles and bodies
must be generic ("You have a new message"), never PHI; the API does not log them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.errors import ConflictError, ForbiddenError, NotFoundError
from backend.identity import Caller
from backend.models import Device, DeviceRequest, NotificationRequest, NotificationResult

if TYPE_CHECKING:
    import psycopg

SnsForRegion = Callable[[str], Any]


def register_device(
    conn: psycopg.Connection,
    sns: Any,
    *,
    caller: Caller,
    request: DeviceRequest,
    platform_applications: dict[str, str],
) -> Device:
    application_arn = platform_applications.get(request.platform)
    if application_arn is None:
        raise ConflictError(
            f"push platform {request.platform} is not configured in this region",
            fields=["platform"],
        )
    # CreatePlatformEndpoint is idempotent for the same token and attributes.
    endpoint_arn = sns.create_platform_endpoint(
        PlatformApplicationArn=application_arn,
        Token=request.token,
        CustomUserData=caller.sub,
    )["EndpointArn"]
    now = datetime.now(UTC)
    row = conn.execute(
        "INSERT INTO device_tokens "
        "(id, sub, platform, token, endpoint_arn, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (platform, token) DO UPDATE SET "
        "sub = EXCLUDED.sub, endpoint_arn = EXCLUDED.endpoint_arn, "
        "updated_at = EXCLUDED.updated_at RETURNING id",
        (uuid.uuid4(), caller.sub, request.platform, request.token, endpoint_arn, now, now),
    ).fetchone()
    assert row is not None
    return Device(id=row[0], platform=request.platform)


def push_payload(title: str, body: str) -> str:
    """SNS `MessageStructure=json` payload for APNs (prod and sandbox) and FCM."""
    apns = json.dumps({"aps": {"alert": {"title": title, "body": body}}})
    gcm = json.dumps({"notification": {"title": title, "body": body}})
    return json.dumps({"default": body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": gcm})


def device_endpoints(conn: psycopg.Connection, sub: str) -> list[str]:
    rows = conn.execute(
        "SELECT endpoint_arn FROM device_tokens WHERE sub = %s ORDER BY created_at", (sub,)
    ).fetchall()
    return [r[0] for r in rows]


def send_notification(
    endpoints: list[str],
    sns_for_region: SnsForRegion,
    *,
    caller: Caller,
    request: NotificationRequest,
) -> NotificationResult:
    """Publish to every endpoint; a disabled endpoint counts as failed, not as an error."""
    from botocore.exceptions import ClientError

    authorize_notification(caller, request)
    if not endpoints:
        raise NotFoundError("the user has no registered devices", fields=["user_sub"])
    message = push_payload(request.title, request.body)
    sent = failed = 0
    for arn in endpoints:
        # A device registered in the peer region has its endpoint there.
        region = arn.split(":")[3]
        try:
            sns_for_region(region).publish(TargetArn=arn, Message=message, MessageStructure="json")
            sent += 1
        except ClientError:
            failed += 1
    return NotificationResult(sent=sent, failed=failed)


def authorize_notification(caller: Caller, request: NotificationRequest) -> None:
    if request.user_sub != caller.sub and not caller.is_admin:
        raise ForbiddenError("only admins may notify other users", fields=["user_sub"])
