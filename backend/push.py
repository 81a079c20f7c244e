"""Mobile push: device registration as SNS platform endpoints, sending, pruning, unregistering.

Push follows the device (R-MSG-3):

* A push token belongs to one device, and a device to whoever registered it last: registering
  a token another account had moves the row (`device_tokens` is unique on platform + token)
  and the old owner's notifications stop reaching it. Ownership lives in the database only;
  endpoints carry no user id (`CustomUserData`), which is also what made SNS refuse a second
  account's registration of the same token.
* An endpoint is created in the region that serves the registration. Sending, pruning and
  deleting happen in the region of the endpoint's ARN: the api reaches its own region through
  the VPC endpoint for SNS and any other region through the `push_relay` function, which runs
  outside the VPC (an interface endpoint serves its own region only, SNS has no cross-region
  PrivateLink, and there is no NAT gateway). See docs/logic.md "Push".
* SNS disables an endpoint when APNs or FCM report its token dead. Registering the token
  again re-enables it (AWS's documented token-management flow); a send that finds it
  disabled (or gone) prunes it: the row and the endpoint are deleted.

Who may notify whom: a caller may notify themself; members of the Cognito `admins` group may
notify anyone. Everything else is 403. Push payloads leave AWS (APNs/FCM), so titles and bodies
must be generic ("You have a new message"), never PHI; the API does not log them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from backend.identity import Caller
from backend.models import Device, DeviceRequest, NotificationRequest, NotificationResult
from backend.push_relay import RelayUnavailableError

if TYPE_CHECKING:
    import psycopg

# region -> an SNS client for it (boto3's, or `RelayedSns` for another region).
SnsForRegion = Callable[[str], Any]
# What SNS says when CreatePlatformEndpoint meets the token on an endpoint with other
# attributes (disabled, or carrying a previous owner's user data).
_EXISTING_ENDPOINT = re.compile(r"Endpoint (arn:aws[a-z-]*:sns:\S+) already exists")
# SNS error codes after which an endpoint will never deliver again.
_DEAD_ENDPOINT = frozenset({"EndpointDisabled", "NotFound"})


def region_of(endpoint_arn: str) -> str:
    return endpoint_arn.split(":")[3]


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


@dataclass
class Cleanup:
    """Endpoints to delete once the database says so; best effort, never blocking the caller."""

    endpoint_arns: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def run(self, sns_for_region: SnsForRegion) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        for arn in self.endpoint_arns:
            try:
                # Idempotent: an endpoint already gone is not an error.
                sns_for_region(region_of(arn)).delete_endpoint(EndpointArn=arn)
            except (ClientError, BotoCoreError, RelayUnavailableError):
                # Nothing refers to it any more, so it receives nothing from us; an endpoint
                # left behind in a region that was unreachable is only a stale token there.
                self.failed.append(region_of(arn))


def _endpoint_for(sns: Any, application_arn: str, token: str) -> str:
    """The region's one endpoint for `token`, enabled: created, or found and re-enabled."""
    from botocore.exceptions import ClientError

    try:
        endpoint_arn = sns.create_platform_endpoint(
            PlatformApplicationArn=application_arn, Token=token
        )["EndpointArn"]
    except ClientError as exc:
        found = _EXISTING_ENDPOINT.search(str(exc.response.get("Error", {}).get("Message", "")))
        if _error_code(exc) != "InvalidParameter":
            raise
        if found is None:
            # The push service refused the token itself (its format, its length).
            raise ValidationFailedError(
                "the push service refused this token", fields=["token"]
            ) from None
        endpoint_arn = found.group(1)
    try:
        attributes = sns.get_endpoint_attributes(EndpointArn=endpoint_arn)["Attributes"]
    except ClientError as exc:
        if _error_code(exc) != "NotFound":
            raise
        # Deleted between the two calls (a concurrent prune): create it anew.
        return str(
            sns.create_platform_endpoint(PlatformApplicationArn=application_arn, Token=token)[
                "EndpointArn"
            ]
        )
    if attributes.get("Enabled") != "true" or attributes.get("Token") != token:
        sns.set_endpoint_attributes(
            EndpointArn=endpoint_arn,
            Attributes={"Token": token, "Enabled": "true", "CustomUserData": ""},
        )
    return str(endpoint_arn)


def register_device(
    conn: psycopg.Connection,
    sns: Any,
    *,
    caller: Caller,
    request: DeviceRequest,
    platform_applications: dict[str, str],
) -> tuple[Device, Cleanup]:
    """Register (or move to the caller) the device's token in this region. The returned
    cleanup deletes the endpoint the token had elsewhere, once the caller committed."""
    application_arn = platform_applications.get(request.platform)
    if application_arn is None:
        raise ConflictError(
            f"push platform {request.platform} is not configured in this region",
            fields=["platform"],
        )
    endpoint_arn = _endpoint_for(sns, application_arn, request.token)
    now = datetime.now(UTC)
    # One statement (plain DML, as write forwarding needs): the CTE reads the row as it was.
    row = conn.execute(
        "WITH previous AS (SELECT sub, endpoint_arn FROM device_tokens "
        "WHERE platform = %(platform)s AND token = %(token)s) "
        "INSERT INTO device_tokens "
        "(id, sub, platform, token, endpoint_arn, created_at, updated_at) "
        "VALUES (%(id)s, %(sub)s, %(platform)s, %(token)s, %(arn)s, %(now)s, %(now)s) "
        "ON CONFLICT (platform, token) DO UPDATE SET "
        # A device that changes hands gets a new id: the old owner's id names nothing now.
        "id = CASE WHEN device_tokens.sub = EXCLUDED.sub "
        "THEN device_tokens.id ELSE EXCLUDED.id END, "
        "created_at = CASE WHEN device_tokens.sub = EXCLUDED.sub "
        "THEN device_tokens.created_at ELSE EXCLUDED.created_at END, "
        "sub = EXCLUDED.sub, endpoint_arn = EXCLUDED.endpoint_arn, "
        "updated_at = EXCLUDED.updated_at "
        "RETURNING id, (SELECT endpoint_arn FROM previous)",
        {
            "id": uuid.uuid4(),
            "sub": caller.sub,
            "platform": request.platform,
            "token": request.token,
            "arn": endpoint_arn,
            "now": now,
        },
    ).fetchone()
    assert row is not None
    device_id, previous_arn = row
    stale = [previous_arn] if previous_arn and previous_arn != endpoint_arn else []
    return Device(id=device_id, platform=request.platform), Cleanup(stale)


def unregister_device(conn: psycopg.Connection, caller: Caller, device_id: uuid.UUID) -> Cleanup:
    """Forget the caller's device; another account's device is "not found" (a 403 would
    confirm it exists). The returned cleanup deletes its endpoint."""
    row = conn.execute(
        "DELETE FROM device_tokens WHERE id = %s AND sub = %s RETURNING endpoint_arn",
        (device_id, caller.sub),
    ).fetchone()
    if row is None:
        raise NotFoundError("no such device", fields=["id"])
    return Cleanup([row[0]])


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


@dataclass(frozen=True)
class Delivery:
    result: NotificationResult
    # Endpoints that will never deliver again (disabled by SNS, or deleted).
    dead: list[str]


def send_notification(
    endpoints: list[str],
    sns_for_region: SnsForRegion,
    *,
    caller: Caller,
    request: NotificationRequest,
) -> Delivery:
    """Publish to every endpoint, each in its own region; a dead endpoint is reported for
    pruning, any other failure counts as failed, never as an error of the whole request."""
    from botocore.exceptions import BotoCoreError, ClientError

    authorize_notification(caller, request)
    if not endpoints:
        raise NotFoundError("the user has no registered devices", fields=["user_sub"])
    message = push_payload(request.title, request.body)
    sent = failed = 0
    dead: list[str] = []
    for arn in endpoints:
        try:
            sns_for_region(region_of(arn)).publish(
                TargetArn=arn, Message=message, MessageStructure="json"
            )
            sent += 1
        except ClientError as exc:
            if _error_code(exc) in _DEAD_ENDPOINT:
                dead.append(arn)
            else:
                failed += 1
        except (BotoCoreError, RelayUnavailableError):
            failed += 1
    return Delivery(NotificationResult(sent=sent, failed=failed, pruned=len(dead)), dead)


def prune(conn: psycopg.Connection, endpoints: list[str], *, found_before: datetime) -> Cleanup:
    """Delete the rows of dead endpoints, unless re-registered since the send began (which
    re-enabled the endpoint); the returned cleanup deletes the endpoints themselves."""
    if not endpoints:
        return Cleanup()
    rows = conn.execute(
        "DELETE FROM device_tokens WHERE endpoint_arn = ANY(%s) AND updated_at <= %s "
        "RETURNING endpoint_arn",
        (endpoints, found_before),
    ).fetchall()
    return Cleanup([r[0] for r in rows])


def authorize_notification(caller: Caller, request: NotificationRequest) -> None:
    if request.user_sub != caller.sub and not caller.is_admin:
        raise ForbiddenError("only admins may notify other users", fields=["user_sub"])
