"""Users: the asynchronous create command, its idempotent apply, and owner-scoped reads.

`POST /users` never writes to the database: it publishes a `UserCreateMessage` and answers
202. The subscriber applies it with `apply_user_message`, which is idempotent on the message
id (a ledger row in `processed_messages`) so SQS redeliveries, SNS duplicates and client
retries with the same `Idempotency-Key` create the row once. The ledger is checked first so a
late redelivery cannot resurrect a user erased in the meantime.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from backend.errors import ForbiddenError, NotFoundError, ValidationFailedError
from backend.identity import Caller
from backend.models import CreateUserAccepted, CreateUserRequest, User, UserCreateMessage, UserPage
from backend.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    import psycopg

# Fixed namespace so message ids derived from (caller, Idempotency-Key) are stable forever.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c4b0e-3f57-4c5a-9a53-2b7a0f0c9d11")
MAX_IDEMPOTENCY_KEY = 128
MAX_PAGE = 100

ApplyOutcome = Literal["created", "duplicate", "email_taken"]
Publish = Callable[[UserCreateMessage], None]


def message_id_for(caller_sub: str, idempotency_key: str | None) -> uuid.UUID:
    """Deterministic for a client retry with the same key, random otherwise."""
    if idempotency_key is None:
        return uuid.uuid4()
    key = idempotency_key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ValidationFailedError(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters",
            fields=["Idempotency-Key"],
        )
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{caller_sub}\n{key}")


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
        email=request.email,
        requested_at=now or datetime.now(UTC),
        region=region,
    )
    publish(message)
    return CreateUserAccepted(message_id=message.message_id, user_id=message.user_id)


def parse_message(body: str) -> UserCreateMessage:
    """The message from an SQS body: raw delivery or wrapped in an SNS notification."""
    data = json.loads(body)
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        data = json.loads(data["Message"])
    return UserCreateMessage.model_validate(data)


def apply_user_message(conn: psycopg.Connection, message: UserCreateMessage) -> ApplyOutcome:
    """Apply inside the caller's transaction: plain DML only (write forwarding forwards it)."""
    claimed = conn.execute(
        "INSERT INTO processed_messages (message_id, kind, outcome, processed_at) "
        "VALUES (%s, %s, 'pending', now()) ON CONFLICT DO NOTHING RETURNING message_id",
        (message.message_id, message.type),
    ).fetchone()
    if claimed is None:
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
    outcome: ApplyOutcome = "created" if inserted else "email_taken"
    conn.execute(
        "UPDATE processed_messages SET outcome = %s WHERE message_id = %s",
        (outcome, message.message_id),
    )
    return outcome


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
    if cursor:
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
