"""Versioned SQL migrations: discovery, checksums and a transactional runner.

Files live in `backend/migrations/` as `NNNN_name.sql`. `apply_migrations` applies every
pending file in ONE transaction, records `(version, checksum, applied_at)` in
`schema_migrations`, and serialises concurrent runners with a table lock on that table (not an
advisory lock: advisory locks are session state that pins RDS Proxy connections). It refuses to
run when an applied file was edited or deleted, and a failing file rolls back everything.

`combined_checksum()` is the fingerprint of all SQL files; the infrastructure hashes the same
files to decide when to re-invoke the migration function. Algorithm (reproduce it exactly):
sha256 over, for each file in lexical name order, `name + NUL + content + NUL` (bytes, UTF-8
name).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
FILENAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

BOOTSTRAP_SQL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migration run was refused or failed; nothing was applied."""


@dataclass(frozen=True)
class Migration:
    version: str
    filename: str
    sql: str
    checksum: str


@dataclass(frozen=True)
class MigrationResult:
    applied: list[str] = field(default_factory=list)
    current_version: str | None = None
    checksum: str = ""


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migration files in version order; stray `.sql` names are an error, not ignored."""
    migrations: list[Migration] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.sql")):
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_name.sql")
        version = match.group("version")
        if version in seen:
            raise MigrationError(f"two migration files share version {version}")
        seen.add(version)
        content = path.read_bytes()
        migrations.append(
            Migration(
                version=version,
                filename=path.name,
                sql=content.decode("utf-8"),
                checksum=hashlib.sha256(content).hexdigest(),
            )
        )
    return migrations


def combined_checksum(directory: Path = MIGRATIONS_DIR) -> str:
    """sha256 over every file's name and content, in name order (see module docstring)."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.sql"), key=lambda p: p.name):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _bootstrap(conn: psycopg.Connection) -> None:
    import psycopg.errors

    # Two first-ever runners can race on CREATE TABLE IF NOT EXISTS (the loser trips over the
    # catalog: duplicate key, table or row type); it simply finds the table there afterwards.
    try:
        with conn.transaction():
            conn.execute(BOOTSTRAP_SQL)
    except (
        psycopg.errors.UniqueViolation,
        psycopg.errors.DuplicateTable,
        psycopg.errors.DuplicateObject,
    ):
        pass


APP_GROUP_ROLE = "app_rw"
APP_STATEMENT_TIMEOUT = "5s"


@dataclass(frozen=True)
class AppUser:
    """A login role for the app. `password`, when given, is set on the role (the value of the
    secret RDS Proxy uses to reach the database)."""

    name: str
    password: str | None = None


def ensure_app_users(conn: psycopg.Connection, users: list[AppUser]) -> list[str]:
    """Make each login role exist, belong to `app_rw` and carry the role-level defaults.

    No `rds_iam` grant: with RDS Proxy the Lambda authenticates to the proxy with IAM, while the
    proxy logs in to the database with the password from Secrets Manager, and AWS warns that
    mixing `rds_iam` and password authentication for one user breaks connections.
    The role-level `statement_timeout` is applied by the server when a session starts, so it
    holds through RDS Proxy without a client `SET` (which would pin the session).
    Returns the roles that had to be created.
    """
    from psycopg import sql

    created: list[str] = []
    with conn.transaction():
        for user in users:
            role = sql.Identifier(user.name)
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (user.name,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
                created.append(user.name)
            if user.password is not None:
                conn.execute(
                    sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                        role, sql.Literal(user.password)
                    )
                )
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_GROUP_ROLE), role))
            conn.execute(
                sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                    role, sql.Literal(APP_STATEMENT_TIMEOUT)
                )
            )
    return created


def apply_migrations(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> MigrationResult:
    """Apply pending migrations on an autocommit connection; returns the versions applied."""
    if not conn.autocommit:
        raise MigrationError("apply_migrations needs an autocommit connection")
    migrations = load_migrations(directory)
    by_version = {m.version: m for m in migrations}
    _bootstrap(conn)
    applied_now: list[str] = []
    with conn.transaction():
        # SHARE ROW EXCLUSIVE conflicts with itself: a second runner waits here until the first
        # commits, then sees its rows and has nothing left to do.
        # The parameter group's short statement_timeout is for the app; a migration may need
        # longer (SET LOCAL ends with this transaction).
        conn.execute("SET LOCAL statement_timeout = '15min'")
        conn.execute("LOCK TABLE schema_migrations IN SHARE ROW EXCLUSIVE MODE")
        rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        applied = {version: checksum for version, checksum in rows}
        for version, checksum in sorted(applied.items()):
            known = by_version.get(version)
            if known is None:
                raise MigrationError(
                    f"migration {version} is applied in the database but its file is missing"
                )
            if known.checksum != checksum:
                raise MigrationError(
                    f"migration {known.filename} changed after it was applied "
                    f"(database {checksum[:12]}, file {known.checksum[:12]}); "
                    "add a new migration instead of editing an applied one"
                )
        for migration in migrations:
            if migration.version in applied:
                continue
            try:
                conn.execute(migration.sql.encode("utf-8"))
            except Exception as exc:
                raise MigrationError(f"migration {migration.filename} failed: {exc}") from exc
            conn.execute(
                "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                (migration.version, migration.checksum),
            )
            applied_now.append(migration.version)
    current = migrations[-1].version if migrations else None
    return MigrationResult(
        applied=applied_now, current_version=current, checksum=combined_checksum(directory)
    )
