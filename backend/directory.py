"""The replicated user directory in PostgreSQL (a source for the user-migration trigger)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.passwords import hash_password

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class DirectoryUser:
    username: str
    email: str
    password_hash: str
    attributes: dict[str, str]


def find_user(conn: psycopg.Connection, username: str) -> DirectoryUser | None:
    row = conn.execute(
        "SELECT username, email, password_hash, attributes FROM user_directory WHERE username = %s",
        (username.strip().lower(),),
    ).fetchone()
    return DirectoryUser(row[0], row[1], row[2], dict(row[3])) if row else None


def upsert_user(
    conn: psycopg.Connection,
    username: str,
    email: str,
    password: str,
    attributes: dict[str, Any] | None = None,
) -> None:
    """Add or replace a directory entry (used by imports and by the tests)."""
    from psycopg.types.json import Jsonb

    conn.execute(
        "INSERT INTO user_directory (username, email, password_hash, attributes, updated_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET "
        "email = EXCLUDED.email, password_hash = EXCLUDED.password_hash, "
        "attributes = EXCLUDED.attributes, updated_at = EXCLUDED.updated_at",
        (
            username.strip().lower(),
            email.lower(),
            hash_password(password),
            Jsonb(attributes or {}),
            datetime.now(UTC),
        ),
    )
