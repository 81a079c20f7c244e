"""Keyset cursors: the last row's (created_at, id) as 16 digits of epoch microseconds and the
id's 32 hex digits.

Every string the pattern matches decodes to a valid position (16 digits stay below year
2287; any 128 bits are a UUID), so the document can state exactly which cursors the API
takes: one that matches is a position to continue after, one that does not is a 400. A
position no page ever ended at is still a valid place to start from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from backend.errors import ValidationFailedError
from backend.models import ecma_regex

CURSOR_PATTERN = r"^[0-9]{16}[0-9a-f]{32}$"
_CURSOR = ecma_regex(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    micros = (created_at - _EPOCH) // _MICROSECOND
    if not 0 <= micros < 10**16:
        # Rows are created by the API with the current time; nothing else reaches here.
        raise ValueError(f"created_at {created_at.isoformat()} has no cursor")
    return f"{micros:016d}{row_id.hex}"


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    if not _CURSOR.search(cursor):
        raise ValidationFailedError("cursor is not valid", fields=["cursor"])
    return _EPOCH + int(cursor[:16]) * _MICROSECOND, UUID(hex=cursor[16:])
