"""Users: the asynchronous create command, its idempotent apply, its outcome, owner-scoped reads.

`POST /users` never writes to the database: it publishes a `UserCreateMessage` and answers 202
with the message id, so a create is accepted even while the writer region is lost (R-DR-3).
The subscriber applies it with `apply_user_message`, idempotent on the message id (a ledger
row in `processed_messages`), so SQS redeliveries, SNS duplicates and client retries with the
same `Idempotency-Key` create the row once; the ledger is checked first so a late redelivery
cannot resurrect a user erased in the meantime. The outcome (created, or rejected with the
reason) is written to `user_requests` in the same transaction, where the caller reads it with
`GET /users/requests/{id}`.

An email address is unique among one account's users only: another account's users, and so
whether an address is known to the service at all, never change what a caller sees.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from backend.errors import ForbiddenError, NotFoundError, ValidationFailedError
from backend.identity import Caller
from backend.models import (
    CreateUserAccepted,
    CreateUserRequest,
    CreateUserRequestStatus,
    RequestRef,
    User,
    UserCreateMessage,
    UserPage,
    ecma_regex,
)
from backend.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    import psycopg

# Fixed namespace so message ids derived from (caller, Idempotency-Key) are stable forever.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c4b0e-3f57-4c5a-9a53-2b7a0f0c9d11")
MAX_IDEMPOTENCY_KEY = 128
# Visible ASCII: what an HTTP header carries unchanged through every proxy on the way.
IDEMPOTENCY_KEY_PATTERN = rf"^[!-~]{{1,{MAX_IDEMPOTENCY_KEY}}}$"
MAX_PAGE = 100
USER_CREATE = "user.create"

ApplyOutcome = Literal["created", "duplicate", "email_taken", "invalid"]
Publish = Callable[[UserCreateMessage], None]


def message_id_for(caller_sub: str, idempotency_key: str | None) -> uuid.UUID:
    """Deterministic for a client retry with the same key, random otherwise."""
    if idempotency_key is None:
        return uuid.uuid4()
    if not ecma_regex(IDEMPOTENCY_KEY_PATTERN).search(idempotency_key):
        raise ValidationFailedError(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} visible ASCII characters",
            fields=["Idempotency-Key"],
        )
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{caller_sub}\n{idempotency_key}")


def request_user_creation(
    caller: Caller,
    request: CreateUserRequest,
    *,
    idempotency_key: str | None,
    region: str,
    publish: Publish,
    now: datetime | None = None,
) -> CreateUserAccepted:
    message_id = message_id_for(caller.sub, idempotency_key)
    message = UserCreateMessage(
        message_id=message_id,
        # Derived from the message id so every redelivery targets the same primary key.
        user_id=uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"user:{message_id}"),
        owner_sub=caller.sub,
        name=request.name,
        email=request.normalized_email(),
        requested_at=now or datetime.now(UTC),
        region=region,
    )
    publish(message)
    return CreateUserAccepted(message_id=message.message_id, user_id=message.user_id)


def decode_message(body: str) -> Any:
    """The message document in an SQS body: raw delivery or wrapped in an SNS notification."""
    data = json.loads(body)
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        data = json.loads(data["Message"])
    return data


def parse_message(body: str) -> UserCreateMessage:
    return UserCreateMessage.model_validate(decode_message(body))


def request_ref(data: Any) -> RequestRef | None:
    """Who asked for what, from a message whose values may be unusable; None when even that
    is missing (not a message this API published)."""
    try:
        return RequestRef.model_validate(data)
    except ValueError:
        return None


def _record_outcome(
    conn: psycopg.Connection, ref: RequestRef | UserCreateMessage, outcome: ApplyOutcome
) -> None:
    status, reason = ("created", None) if outcome == "created" else ("rejected", outcome)
    conn.execute(
        "UPDATE processed_messages SET outcome = %s WHERE message_id = %s",
        (outcome, ref.message_id),
    )
    conn.execute(
        "INSERT INTO user_requests "
        "(id, owner_sub, user_id, status, reason, requested_at, decided_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, now()) ON CONFLICT (id) DO NOTHING",
        (ref.message_id, ref.owner_sub, ref.user_id, status, reason, ref.requested_at),
    )


def _claim(conn: psycopg.Connection, message_id: uuid.UUID) -> bool:
    return (
        conn.execute(
            "INSERT INTO processed_messages (message_id, kind, outcome, processed_at) "
            "VALUES (%s, %s, 'pending', now()) ON CONFLICT DO NOTHING RETURNING message_id",
            (message_id, USER_CREATE),
        ).fetchone()
        is not None
    )


def apply_user_message(conn: psycopg.Connection, message: UserCreateMessage) -> ApplyOutcome:
    """Apply inside the caller's transaction: plain DML only (write forwarding forwards it)."""
    if not _claim(conn, message.message_id):
        return "duplicate"
    inserted = conn.execute(
        "INSERT INTO users (id, owner_sub, name, email, created_at, home_region) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
        (
            message.user_id,
            message.owner_sub,
            message.name,
            message.email,
            message.requested_at,
            message.region,
        ),
    ).fetchone()
    # The id derives from the message id, which the ledger has just claimed: a conflict can
    # only be the caller's own (owner_sub, email).
    outcome: ApplyOutcome = "created" if inserted else "email_taken"
    _record_outcome(conn, message, outcome)
    return outcome


def reject_invalid(conn: psycopg.Connection, ref: RequestRef) -> ApplyOutcome:
    """Record a request whose values cannot be stored: rejected, so its caller learns it and
    the message leaves the queue instead of failing into the dead-letter queue."""
    if not _claim(conn, ref.message_id):
        return "duplicate"
    _record_outcome(conn, ref, "invalid")
    return "invalid"


def refused_by_database(exc: BaseException) -> bool:
    """The statement failed on the values themselves (22xxx data, 23xxx integrity): retrying
    the same message can never succeed."""
    import psycopg.errors

    return isinstance(exc, psycopg.errors.DataError | psycopg.errors.IntegrityError)


def request_status(
    conn: psycopg.Connection, caller: Caller, request_id: uuid.UUID
) -> CreateUserRequestStatus:
    """Pending until the subscriber decides; another account's request is "not found" (a 403
    would confirm that the id exists)."""
    row = conn.execute(
        "SELECT owner_sub, user_id, status, reason FROM user_requests WHERE id = %s",
        (request_id,),
    ).fetchone()
    if row is None:
        return CreateUserRequestStatus(id=request_id, status="pending")
    owner_sub, user_id, status, reason = row
    if owner_sub != caller.sub and not caller.is_admin:
        raise NotFoundError("no such request")
    return CreateUserRequestStatus(
        id=request_id,
        status=status,
        user_id=user_id if status == "created" else None,
        reason=reason,
    )


def _row_to_user(row: tuple) -> User:
    return User(id=row[0], name=row[1], email=row[2], created_at=row[3], home_region=row[4])


def list_users(
    conn: psycopg.Connection, caller: Caller, *, limit: int, cursor: str | None
) -> UserPage:
    """Keyset page ordered by (created_at, id); admins see every row, others their own."""
    from psycopg import sql

    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailedError(f"limit must be between 1 and {MAX_PAGE}", fields=["limit"])
    conditions: list[sql.Composable] = []
    params: list[object] = []
    if not caller.is_admin:
        conditions.append(sql.SQL("owner_sub = %s"))
        params.append(caller.sub)
    if cursor is not None:
        after_at, after_id = decode_cursor(cursor)
        conditions.append(sql.SQL("(created_at, id) > (%s, %s)"))
        params += [after_at, after_id]
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    query = sql.SQL(
        "SELECT id, name, email, created_at, home_region FROM users{} "
        "ORDER BY created_at, id LIMIT %s"
    ).format(where)
    rows = conn.execute(query, [*params, limit + 1]).fetchall()
    items = [_row_to_user(r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return UserPage(items=items, next_cursor=next_cursor)


def get_user(conn: psycopg.Connection, caller: Caller, user_id: uuid.UUID) -> User:
    row = conn.execute(
        "SELECT id, name, email, created_at, home_region, owner_sub FROM users WHERE id = %s",
        (user_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError("user not found")
    if row[5] != caller.sub and not caller.is_admin:
        raise ForbiddenError("this user belongs to another account")
    return _row_to_user(row)
