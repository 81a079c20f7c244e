"""Per-user preferences (a bounded JSON object) keyed by the Cognito `sub`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.errors import PayloadTooLargeError
from backend.models import Preferences

if TYPE_CHECKING:
    import psycopg

MAX_PREFERENCES_BYTES = 16 * 1024


def get_preferences(conn: psycopg.Connection, sub: str) -> Preferences | None:
    row = conn.execute(
        "SELECT preferences, updated_at FROM user_preferences WHERE sub = %s", (sub,)
    ).fetchone()
    return Preferences(preferences=row[0], updated_at=row[1]) if row else None


def put_preferences(conn: psycopg.Connection, sub: str, preferences: dict[str, Any]) -> Preferences:
    """Replace the caller's preferences; last writer wins across devices and regions."""
    from psycopg.types.json import Jsonb

    encoded = json.dumps(preferences, separators=(",", ":"))
    if len(encoded.encode()) > MAX_PREFERENCES_BYTES:
        raise PayloadTooLargeError(
            f"preferences must be at most {MAX_PREFERENCES_BYTES} bytes of JSON",
            fields=["preferences"],
        )
    now = datetime.now(UTC)
    row = conn.execute(
        "INSERT INTO user_preferences (sub, preferences, updated_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (sub) DO UPDATE SET preferences = EXCLUDED.preferences, "
        "updated_at = EXCLUDED.updated_at RETURNING preferences, updated_at",
        (sub, Jsonb(preferences), now),
    ).fetchone()
    assert row is not None
    return Preferences(preferences=row[0], updated_at=row[1])
