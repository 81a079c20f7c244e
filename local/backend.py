"""The whole backend on this machine (R-DEV-1): PostgreSQL, moto, the api and the subscriber.

``LocalBackend(workdir).start()`` starts a PostgreSQL server in ``workdir`` (migrations
applied with the real runner), moto in server mode seeded like a region, and two child
processes running the real handlers: the api behind the local API Gateway stand-in and the
subscriber polling the local queue. ``stop()`` ends the children, moto and PostgreSQL; it is
also what Ctrl-C runs. Every port is on 127.0.0.1 and picked free unless given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from local.cloud import LocalCloud, Seeded
from local.postgres import LocalPostgres

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "mobile"
DB_USER = "app_user"
DB_PASSWORD = "local-app-password"  # noqa: S105 - loopback-only throwaway cluster
READY_TIMEOUT_SECONDS = 60


@dataclass
class Running:
    api_url: str
    seeded: Seeded
    pg_port: int
    child_pids: list[int]
    web_url: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "api_url": self.api_url,
            "web_url": self.web_url,
            "pg_port": self.pg_port,
            "child_pids": self.child_pids,
            **asdict(self.seeded),
        }


class LocalBackend:
    def __init__(self, workdir: Path, *, api_port: int = 0, web_port: int = 0, base_path: str = ""):
        self.workdir = Path(workdir).resolve()
        self.api_port = api_port
        self.web_port = web_port
        self.base_path = base_path
        self.pg: LocalPostgres | None = None
        self.cloud: LocalCloud | None = None
        self.children: list[subprocess.Popen[str]] = []
        self.running: Running | None = None

    def _database(self, pg: LocalPostgres) -> None:
        from backend.migrate import apply_migrations

        with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_USER,)).fetchone():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(DB_USER), sql.Literal(DB_PASSWORD)
                    )
                )
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
            ).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
        with psycopg.connect(pg.conninfo(DB_NAME), autocommit=True) as conn:
            apply_migrations(conn)
            conn.execute(
                sql.SQL(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
                ).format(sql.Identifier(DB_USER))
            )

    def _environment(self, seeded: Seeded, pg: LocalPostgres) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DB_"))}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "AWS_REGION": seeded.region,
                "AWS_DEFAULT_REGION": seeded.region,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_ENDPOINT_URL": seeded.endpoint,
                "APP_ROLE_HINT": "primary",
                "DB_HOST": pg.host,
                "DB_PORT": str(pg.port),
                "DB_NAME": DB_NAME,
                "DB_USER": DB_USER,
                "DB_AUTH": "secret",
                "DB_SECRET_ARN": seeded.db_secret_arn,
                "DB_SSLMODE": "disable",
                "DB_STARTUP_OPTIONS": "true",
                "EVENTS_TOPIC_ARN": seeded.topic_arn,
                "ASSETS_BUCKET": seeded.bucket,
                "POWERTOOLS_SERVICE_NAME": "mobile-backend-local",
                "POWERTOOLS_METRICS_NAMESPACE": "MobileBackend",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
                "LOCAL_USER_POOL_NAME": seeded.user_pool_name,
                "LOCAL_QUEUE_URL": seeded.queue_url,
                "LOCAL_QUEUE_ARN": seeded.queue_arn,
                "LOCAL_API_PORT": str(self.api_port),
                "LOCAL_WEB_PORT": str(self.web_port),
                "LOCAL_USER_POOL_ID": seeded.user_pool_id,
                "LOCAL_CLIENT_ID": seeded.client_id,
                "LOCAL_BASE_PATH": self.base_path,
            }
        )
        return env

    def _spawn(self, module: str, env: dict[str, str], log: IO[str]) -> dict[str, str]:
        child = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.children.append(child)
        ready: dict[str, str] = {}
        started = threading.Event()

        def read_stdout() -> None:
            # After the ready line, stdout carries the handlers' Powertools logs: copy them to
            # the log (else they are lost and a full pipe would block the child). O_APPEND
            # writes of one line keep the two children's lines whole.
            assert child.stdout is not None
            for line in child.stdout:
                if not started.is_set() and line.startswith('{"ready"'):
                    ready.update(json.loads(line))
                    started.set()
                    continue
                os.write(log.fileno(), line.encode())
            started.set()  # the child exited: stop waiting for a ready line

        threading.Thread(target=read_stdout, daemon=True).start()
        started.wait(READY_TIMEOUT_SECONDS)
        if "ready" not in ready:
            raise RuntimeError(f"{module} did not start; see {log.name}")
        return ready

    def start(self) -> Running:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.pg = LocalPostgres(self.workdir / "postgres").start()
            self._database(self.pg)
            self.cloud = LocalCloud()
            endpoint = self.cloud.start()
            seeded = self.cloud.seed(
                endpoint,
                {
                    "engine": "postgres",
                    "host": self.pg.host,
                    "port": self.pg.port,
                    "username": DB_USER,
                    "password": DB_PASSWORD,
                    "dbname": DB_NAME,
                },
            )
            env = self._environment(seeded, self.pg)
            log = (self.workdir / "backend.log").open("a")
            urls = self._spawn("local.api_server", env, log)
            self._spawn("local.worker", env, log)
        except BaseException:
            self.stop()
            raise
        self.running = Running(
            api_url=urls["ready"],
            seeded=seeded,
            pg_port=self.pg.port,
            child_pids=[child.pid for child in self.children],
            web_url=urls["web"],
        )
        (self.workdir / "local.json").write_text(json.dumps(self.running.describe(), indent=2))
        return self.running

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children.clear()
        if self.cloud is not None:
            self.cloud.stop()
            self.cloud = None
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
