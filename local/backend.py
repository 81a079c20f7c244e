"""The whole backend on this machine, as the dev stack declares it (R-DEV-1, R-DEV-2).

``LocalBackend(workdir).start()``:

1. binds the API and web ports (a busy port stops here, named, before anything starts);
2. synthesizes the dev environment's global stack and its primary region's stack under Pulumi
   mocks (``local.region.synthesize_graph``) while PostgreSQL starts in ``workdir`` (TLS on);
3. starts moto with Cognito's pool rules and builds the region from the graph
   (``local.region.build_region``): queues, topic, subscriptions, buckets, pool, clients,
   secrets, and each function's translated environment and policy, in ``region.json``;
4. prepares PostgreSQL as the cluster and proxy declare it: the master login and database from
   the cluster, and for the logins the proxy admits with IAM, TLS-only access whose password
   is not checked (the IAM token is: ``rds-db:connect`` in the function's policy);
5. starts every function in a process of its own (``local.runtime``): the deploy-time
   migration invocation once, the api and the authorizer behind the local API Gateway
   (``local.api_server``), the subscriber fed by its event source mapping (``local.worker``);
   a supervisor restarts any that dies and reports it in ``/health``;
6. creates the demo user and writes ``local.json`` (URLs, ports, sign-in details).

``stop()`` ends the children, moto and PostgreSQL and frees the ports; Ctrl-C runs it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from contract import names
from local.cloud import DEMO_EMAIL, DEMO_PASSWORD, LocalCloud, client
from local.postgres import LocalPostgres
from local.region import Graph, LocalRegion, build_region, synthesize_graph
from local.runtime import INHERITED, REGION_FILE, ROOT, runtime_environment
from local.supervisor import Supervisor

ENVIRONMENT = "dev"
DB_NAME = names.DB_NAME


class PortInUse(RuntimeError):
    """A port ``make dev`` was asked to use is taken; the message says by what and the fix."""


@dataclass
class Running:
    """What ``local.json`` says: where everything listens and how to sign in."""

    api_url: str
    web_url: str
    endpoint: str
    region: str
    environment: str
    user_pool_id: str
    client_id: str
    pg_port: int
    queue_url: str
    dlq_url: str | None
    topic_arn: str
    assets_bucket: str | None
    workdir: str
    child_pids: list[int] = field(default_factory=list)
    # App client → its API key (R-OPS-2): the local gateway refuses a request without one.
    api_keys: dict[str, str] = field(default_factory=dict)
    demo_email: str = DEMO_EMAIL
    demo_password: str = DEMO_PASSWORD

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def bind(port: int, what: str, flag: str) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: any free port), or ``PortInUse``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} ({what}) is already in use (address already in use): another "
                f"`make dev` or another server holds it. Fix: stop it (`ss -ltnp 'sport = "
                f":{port}'` shows which process), or pick another port: `make dev PORT=8090` "
                f"(python -m local {flag} 8090)"
            ) from None
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def prepare_database(pg: LocalPostgres, region: LocalRegion) -> None:
    """PostgreSQL as the cluster and proxy declare it: the master login and database of the
    cluster; for the logins the proxy admits with IAM, TLS-only access (when the proxy requires
    TLS) whose password is not checked here (the token's signer is: ``rds-db:connect``)."""
    spec = region.database
    # Logins the proxy admits with IAM: TLS only when the proxy requires it; the password
    # (an IAM token) is not checked here, the token's signer is (local.iam).
    method = "hostssl" if spec.proxy_requires_tls else "host"
    hba = [f"{method} all {user} 127.0.0.1/32 trust" for user in spec.proxy_iam_users]
    if spec.proxy_requires_tls:
        hba += [f"hostnossl all {user} 0.0.0.0/0 reject" for user in spec.proxy_iam_users]
    pg.hba = tuple(hba)
    pg.reload()
    master = sql.Identifier(spec.master_username)
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (spec.master_username,)
        ).fetchone()
        # Aurora's master user holds rds_superuser; a superuser is the nearest here.
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                master, sql.Literal(spec.master_password)
            )
        )
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (spec.name,)
        ).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(spec.name), master)
            )


def deploy_time_invocation(
    region: LocalRegion, workdir: Path, supervisor: Supervisor
) -> dict[str, Any] | None:
    """What ``pulumi up`` invokes once (the migrations function with its synthesized payload),
    in a function process of its own; ``None`` when the stack declares no such invocation."""
    if region.migration is None:
        return None
    key = region.migration.function
    env = runtime_environment(region.functions[key], region, workdir)
    return supervisor.run_once(f"{key} (deploy-time invocation)", ["-m", "local.invoke", key], env)


class LocalBackend:
    def __init__(
        self,
        workdir: Path,
        *,
        api_port: int = 0,
        web_port: int = 0,
        base_path: str = "",
        environment: str = ENVIRONMENT,
        region: str | None = None,
        graph: Graph | None = None,
        announce: Callable[[str], None] = lambda message: None,
    ):
        self.workdir = Path(workdir).resolve()
        self.api_port, self.web_port = api_port, web_port
        self.base_path = base_path
        self.environment = environment
        self.region_name = region
        self.graph = graph
        self.announce = announce
        self.pg: LocalPostgres | None = None
        self.cloud: LocalCloud | None = None
        self.region: LocalRegion | None = None
        self.supervisor: Supervisor | None = None
        self.running: Running | None = None
        self._sockets: list[socket.socket] = []

    # --- pieces ----------------------------------------------------------------------------
    def _start_postgres(self, result: dict[str, Any]) -> None:
        try:
            server = LocalPostgres(self.workdir / "postgres", tls=True, synchronous_commit=True)
            result["pg"] = server.start()
        except BaseException as error:  # re-raised by start() in the main thread
            result["error"] = error

    def _synthesize(self) -> Graph:
        # Pulumi's warnings (deprecated resource types) belong to the stacks' tests, not to
        # the console of every `make dev`: they go to the log.
        with (self.workdir / "backend.log").open("a") as log, contextlib.redirect_stderr(log):
            return synthesize_graph(self.environment, self.workdir / "build", self.region_name)

    def _demo_user(self, region: LocalRegion) -> None:
        idp = client("cognito-idp", region.endpoint, region.region)
        idp.admin_create_user(
            UserPoolId=region.user_pool_id,
            Username=DEMO_EMAIL,
            UserAttributes=[
                {"Name": "email", "Value": DEMO_EMAIL},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=region.user_pool_id,
            Username=DEMO_EMAIL,
            Password=DEMO_PASSWORD,
            Permanent=True,
        )

    def _gateway_environment(self, api_url: str, authorizer_url: str | None) -> dict[str, str]:
        env = {k: os.environ[k] for k in INHERITED if k in os.environ}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "LOCAL_WORKDIR": str(self.workdir),
                "LOCAL_API_FD": str(self._sockets[0].fileno()),
                "LOCAL_WEB_FD": str(self._sockets[1].fileno()),
                "LOCAL_API_FUNCTION_URL": api_url,
                "LOCAL_AUTHORIZER_URL": authorizer_url or "",
                "LOCAL_BASE_PATH": self.base_path,
            }
        )
        return env

    def _start_functions(self, region: LocalRegion, supervisor: Supervisor) -> dict[str, Any]:
        pending = []
        urls: dict[str, str] = {}
        hosted = [region.api_function]
        if region.authorizer_function is not None:
            hosted.append(region.authorizer_function)
        for key in dict.fromkeys(hosted):
            sock = bind(0, f"{key} function", "")
            self._sockets.append(sock)
            urls[key] = f"http://127.0.0.1:{sock.getsockname()[1]}"
            env = runtime_environment(
                region.functions[key],
                region,
                self.workdir,
                {"LOCAL_LISTEN_FD": str(sock.fileno())},
            )
            pending.append(
                supervisor.spawn(key, ["-m", "local.function_host", key], env, [sock.fileno()])
            )
        for source in region.event_sources:
            env = runtime_environment(region.functions[source.function], region, self.workdir)
            pending.append(
                supervisor.spawn(source.function, ["-m", "local.worker", source.function], env)
            )
        gateway_env = self._gateway_environment(
            urls[region.api_function],
            urls.get(region.authorizer_function or ""),
        )
        fds = [self._sockets[0].fileno(), self._sockets[1].fileno()]
        pending.append(supervisor.spawn("gateway", ["-m", "local.api_server"], gateway_env, fds))
        # Meanwhile, the deploy-time migration (the functions connect only when invoked).
        deploy_time_invocation(region, self.workdir, supervisor)
        ready = {}
        for child, started in pending:
            ready[child.name] = supervisor.await_ready(child, started).ready
        return ready

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Running:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._sockets = [
                bind(self.api_port, "API", "--port"),
                bind(self.web_port, "web app", "--web-port"),
            ]
            postgres: dict[str, Any] = {}
            pg_thread = threading.Thread(target=self._start_postgres, args=(postgres,))
            pg_thread.start()
            try:
                graph = self.graph or self._synthesize()
            finally:
                pg_thread.join()
                # Owned from here on, so that a failed start stops it too.
                self.pg = postgres.get("pg")
            if "error" in postgres:
                raise postgres["error"]
            assert self.pg is not None
            self.cloud = LocalCloud()
            endpoint = self.cloud.start()
            web_port = self._sockets[1].getsockname()[1]
            self.region = build_region(
                graph,
                lambda service: client(service, endpoint, graph.region),
                endpoint=endpoint,
                db_port=self.pg.port,
                web_origin=f"http://127.0.0.1:{web_port}",
            )
            (self.workdir / REGION_FILE).write_text(
                json.dumps(self.region.describe(), indent=2, default=str)
            )
            prepare_database(self.pg, self.region)
            log = (self.workdir / "backend.log").open("a")
            self.supervisor = Supervisor(
                self.workdir, log, announce=self.announce, advance_clock=self.advance_queue_clock
            )
            ready = self._start_functions(self.region, self.supervisor)
            self._demo_user(self.region)
        except BaseException:
            self.stop()
            raise
        self.running = self._running(ready["gateway"])
        (self.workdir / "local.json").write_text(json.dumps(self.running.describe(), indent=2))
        self.supervisor.write_status()
        self.supervisor.watch()
        return self.running

    def _running(self, gateway: dict[str, Any]) -> Running:
        region, pg, supervisor = self.region, self.pg, self.supervisor
        assert region is not None and pg is not None and supervisor is not None
        source = region.event_sources[0]
        topic = region.topics.get(names.events_topic_name(region.environment), "")
        assets = [b for b in region.buckets if "-assets-" in b]
        return Running(
            api_url=gateway["ready"],
            web_url=gateway["web"],
            endpoint=region.endpoint,
            region=region.region,
            environment=region.environment,
            user_pool_id=region.user_pool_id,
            client_id=region.web_config.get("clientId") or region.client_ids[names.WEB_CLIENT],
            pg_port=pg.port,
            queue_url=source.queue_url,
            dlq_url=source.dead_letter_queue_url,
            topic_arn=topic,
            assets_bucket=assets[0] if assets else None,
            workdir=str(self.workdir),
            child_pids=[c.pid for c in supervisor.children.values() if c.pid is not None],
            api_keys=dict(region.api_keys),
        )

    def advance_queue_clock(self, seconds: float) -> None:
        """Let ``seconds`` pass for the queues (a drill waiting out a visibility timeout)."""
        assert self.cloud is not None, "the local backend is not running"
        self.cloud.advance(seconds)

    def stop(self) -> list[str]:
        """Stop everything; returns what was stopped, in order, for the final message."""
        stopped = []
        if self.supervisor is not None:
            names_ = list(self.supervisor.children)
            self.supervisor.stop()
            stopped += names_
            self.supervisor = None
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        if self.cloud is not None:
            self.cloud.stop()
            self.cloud = None
            stopped.append("moto")
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
            stopped.append("PostgreSQL")
        return stopped
