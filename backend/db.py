"""One PostgreSQL connection per Lambda container: lazy, reused, re-established on failure.

`Database` owns a single psycopg connection (autocommit; explicit transactions via `run`).
Why each rule exists:

* `prepare_threshold=None`: server-side prepared statements pin RDS Proxy sessions.
* No `SET` on the proxy path: session settings pin too. RDS Proxy accepts only a few startup
  parameters (user, database, application_name, client_encoding, DateStyle, TimeZone,
  extra_float_digits, search_path) and `options` is not one of them, so `statement_timeout`
  and `apg_write_forward.consistency_mode` come from the DB parameter group and the role's
  defaults; only against a server we run ourselves (`DB_STARTUP_OPTIONS=true`) are they sent
  as startup options.
* Endpoint selection survives a switchover without a redeploy: the primary prefers the
  read/write proxy endpoint, the secondary the read-only one (its read/write endpoint has no
  target until promotion; Aurora write forwarding forwards DML from the reader). If the
  preferred endpoint refuses the connection the other one is tried; a write that fails with
  ReadOnlySqlTransaction (25006) flips the preference and is retried once.
* A dropped connection (e.g. `pg_terminate_backend`, proxy idle timeout) is detected by the
  driver marking it broken; the unit of work is retried once on a fresh connection. Units of
  work must therefore be idempotent, which every write in this codebase is (ON CONFLICT).
* A failed connect in secret mode refetches the secret once: after a rotation the cached
  password is stale and PostgreSQL reports the failure without a SQLSTATE.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from contract.environment import DbSettings

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

STATEMENT_TIMEOUT_MS = 5000
CONSISTENCY_MODE = "SESSION"


class DatabaseUnavailableError(RuntimeError):
    """No endpoint accepted a connection (message carries no credentials)."""


class Database:
    """Lazily connected, self-healing single connection. Thread-safe for /health's timeout."""

    def __init__(self, settings: DbSettings) -> None:
        self.settings = settings
        self._conn: psycopg.Connection | None = None
        self._lock = threading.RLock()
        self._prefer_writer = settings.role_hint == "primary"
        self._secret = None
        if settings.auth == "secret":
            from backend.credentials import SecretCache

            assert settings.secret_arn is not None
            self._secret = SecretCache(settings.secret_arn, settings.region)
        self.connects = 0
        self.current_host: str | None = None

    # -- connection management -------------------------------------------------------------
    def _hosts(self) -> list[str]:
        writer, reader = self.settings.host, self.settings.reader_host
        ordered = [writer, reader] if self._prefer_writer else [reader, writer]
        return list(dict.fromkeys(ordered))

    def connect_kwargs(self, host: str, *, refresh_secret: bool = False) -> dict[str, Any]:
        """libpq parameters for `host`; the password is a fresh IAM token or the secret's."""
        s = self.settings
        if s.auth == "iam":
            from backend import aws

            password = aws.client("rds", s.region).generate_db_auth_token(
                DBHostname=host, Port=s.port, DBUsername=s.user, Region=s.region
            )
        else:
            assert self._secret is not None
            creds = self._secret.get(force=refresh_secret)
            password = creds.password
        kwargs: dict[str, Any] = {
            "host": host,
            "port": s.port,
            "dbname": s.dbname,
            "user": s.user,
            "password": password,
            "sslmode": s.sslmode,
            "connect_timeout": s.connect_timeout,
            "autocommit": True,
            "prepare_threshold": None,
            "application_name": s.application_name,
        }
        if s.startup_options:
            options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
            if s.role_hint == "secondary":
                options += f" -c apg_write_forward.consistency_mode={CONSISTENCY_MODE}"
            kwargs["options"] = options
        return kwargs

    def _open(self) -> psycopg.Connection:
        import psycopg

        last_error: Exception | None = None
        # Second round only in secret mode: same endpoints, freshly fetched password.
        rounds = (False, True) if self._secret is not None else (False,)
        for refresh in rounds:
            for host in self._hosts():
                try:
                    kwargs = self.connect_kwargs(host, refresh_secret=refresh)
                except Exception as exc:
                    # Secrets Manager / STS unreachable: as unavailable as the database itself.
                    raise DatabaseUnavailableError(
                        f"could not obtain database credentials ({type(exc).__name__})"
                    ) from exc
                try:
                    conn = psycopg.connect(**kwargs)
                except psycopg.OperationalError as exc:
                    last_error = exc
                    refresh = False  # refetch the secret once per round, not per host
                    continue
                self.connects += 1
                self.current_host = host
                return conn
        raise DatabaseUnavailableError(
            f"could not connect to {self.settings.dbname} on any endpoint "
            f"({type(last_error).__name__})"
        ) from last_error

    def connection(self) -> psycopg.Connection:
        """The container's connection, opened on first use or after it broke."""
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._discard()
                self._conn = self._open()
            return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            # A broken socket may refuse even to close; the object is dropped either way.
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        # Never wait here: a /health probe abandoned on timeout may still hold the lock while
        # its connect attempt runs out; it finishes on its own.
        if self._lock.acquire(blocking=False):
            try:
                self._discard()
            finally:
                self._lock.release()

    # -- units of work ---------------------------------------------------------------------
    def run(
        self, work: Callable[[psycopg.Connection], T], *, write: bool = False, atomic: bool = True
    ) -> T:
        """Run `work(conn)` in one transaction; retried once on a dropped connection or, for
        writes, on a read-only endpoint. `work` must be idempotent.

        ``atomic=False`` is for work that runs a single statement: it then runs as one
        autocommit statement, one round trip instead of three (BEGIN, statement, COMMIT). From a
        secondary region that is one forwarded round trip to the writer instead of two, the
        COMMIT being the writer's (docs/performance.md, latency model)."""
        import psycopg
        import psycopg.errors

        with self._lock:
            for attempt in (1, 2):
                conn = self.connection()
                try:
                    if not atomic:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
                except psycopg.errors.ReadOnlySqlTransaction:
                    if not write or attempt == 2:
                        raise
                    # We landed on an endpoint that cannot write (e.g. a reader of what is now
                    # the primary cluster after a switchover): move to the other endpoint.
                    self._prefer_writer = self.current_host != self.settings.host
                    self._discard()
                except psycopg.Error:
                    if attempt == 2 or not (conn.closed or conn.broken):
                        raise
                    self._discard()
        raise AssertionError("unreachable")  # pragma: no cover

    def role(self) -> str:
        """`forwarding` on a replica (secondary region, write forwarding), else `writer`."""
        in_recovery = self.run(
            lambda c: c.execute("SELECT pg_is_in_recovery()").fetchone()[0], atomic=False
        )
        return "forwarding" if in_recovery else "writer"

    def probe(self, timeout: float) -> tuple[bool, str | None]:
        """(reachable, role) within `timeout` seconds; never raises."""
        result: dict[str, Any] = {}

        def target() -> None:
            try:
                result["role"] = self.role()
            except Exception as exc:  # health reports, it does not raise
                result["error"] = type(exc).__name__

        worker = threading.Thread(target=target, daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive() or "role" not in result:
            return False, None
        return True, result["role"]
