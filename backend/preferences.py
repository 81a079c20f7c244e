"""Per-user preferences (a bounded JSON object) keyed by the user id.

The shape (value types, nesting) is `backend.models.PreferencesDocument`, checked at the API.
What is stored is the compact JSON text in a `json` column (migration 0003): unlike `jsonb`,
`json` keeps any string the document allows, U+0000 included, so nothing the API accepts can
fail at the database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.errors import PayloadTooLargeError
from backend.models import Preferences

if TYPE_CHECKING:
    import psycopg

MAX_PREFERENCES_BYTES = 16 * 1024


def encoded_size(preferences: dict[str, Any]) -> int:
    """The size the limit applies to: compact JSON, UTF-8, characters unescaped."""
    text = json.dumps(preferences, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode())


def get_preferences(conn: psycopg.Connection, sub: str) -> Preferences | None:
    row = conn.execute(
        "SELECT preferences, updated_at FROM user_preferences WHERE sub = %s", (sub,)
    ).fetchone()
    return Preferences(preferences=row[0], updated_at=row[1]) if row else None


def put_preferences(conn: psycopg.Connection, sub: str, preferences: dict[str, Any]) -> Preferences:
    """Replace the caller's preferences; last writer wins across devices and regions."""
    from psycopg.types.json import Json

    if encoded_size(preferences) > MAX_PREFERENCES_BYTES:
        raise PayloadTooLargeError(
            f"preferences must be at most {MAX_PREFERENCES_BYTES} bytes of compact JSON",
            fields=["preferences"],
        )
    now = datetime.now(UTC)
    row = conn.execute(
        "INSERT INTO user_preferences (sub, preferences, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (sub) DO UPDATE SET preferences = EXCLUDED.preferences, "
        "updated_at = EXCLUDED.updated_at RETURNING preferences, updated_at",
        # ASCII-escaped text: U+0000 travels as the six characters \u0000, which `json` keeps.
        (sub, Json(preferences, dumps=_dumps), now),
    ).fetchone()
    assert row is not None
    return Preferences(preferences=row[0], updated_at=row[1])


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
