"""Per-user preferences (a bounded JSON object) keyed by the Cognito `sub`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.errors import PayloadTooLargeError, ValidationFailedError
from backend.models import Preferences

if TYPE_CHECKING:
    import psycopg

MAX_PREFERENCES_BYTES = 16 * 1024


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def get_preferences(conn: psycopg.Connection, sub: str) -> Preferences | None:
    row = conn.execute(
        "SELECT preferences, updated_at FROM user_preferences WHERE sub = %s", (sub,)
    ).fetchone()
    return Preferences(preferences=row[0], updated_at=row[1]) if row else None


def put_preferences(conn: psycopg.Connection, sub: str, preferences: dict[str, Any]) -> Preferences:
    """Replace the caller's preferences; last writer wins across devices and regions."""
    from psycopg.types.json import Jsonb

    if not _storable(preferences):
        # jsonb cannot hold U+0000, and a lone surrogate is not UTF-8: refuse, do not 500.
        raise ValidationFailedError(
            "preferences must not contain NUL characters or unpaired surrogates",
            fields=["preferences"],
        )
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
