"""``make dev``: run the dev stack's region locally until Ctrl-C, and say how to use it."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from local.backend import LocalBackend, PortInUse, Running
from local.postgres import PostgresNotFoundError
from local.region import UnsupportedRegion
from local.runtime import ROOT
from local.supervisor import ChildFailed
from local.translation import WiringGap

DEFAULT_WORKDIR = ROOT / ".dev"


def _shown(path: Path) -> str:
    """``path`` as the user can paste it from the repository root."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def banner(running: Running, workdir: Path, seconds: float) -> str:
    api = running.api_url
    details = _shown(workdir / "local.json")
    workdir_flag = (
        ""
        if workdir.resolve() == DEFAULT_WORKDIR.resolve()
        else f" --workdir {shlex.quote(_shown(workdir))}"
    )
    return f"""
mobile-backend is running locally: the {running.environment} stack's {running.region} region
(synthesized, no AWS account involved), ready in {seconds:.1f} s

  Web app        {running.web_url}/            (sign in as the demo user below)
  API            {api}            (try: curl {api}/health)
  AWS (moto)     {running.endpoint}
  PostgreSQL     127.0.0.1:{running.pg_port}  db=mobile
  details        {details}   logs: {_shown(workdir / "backend.log")}

Demo user: {running.demo_email} / {running.demo_password}
Get an ID token (and the web app's key: every route but /health needs an app key):
  TOKEN=$(.venv/bin/python -m local.token{workdir_flag})
  KEY={running.api_keys.get("web", "")}
Then:
  curl -H "Authorization: $TOKEN" -H "x-api-key: $KEY" {api}/me
  curl -X POST -H "Authorization: $TOKEN" -H "x-api-key: $KEY" \\
       -H 'Content-Type: application/json' \\
       -d '{{"name": "Ada Lovelace", "email": "ada@example.com"}}' {api}/users
  curl -H "Authorization: $TOKEN" -H "x-api-key: $KEY" "{api}/users?limit=10"
End-to-end check:  .venv/bin/python scripts/smoke.py {api} --local {shlex.quote(details)}

Ctrl-C stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="API port on 127.0.0.1 (0: any)")
    parser.add_argument(
        "--web-port", type=int, help="web app port (default: API port + 1, or any if that is 0)"
    )
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--environment", default="dev", help="stacks Pulumi.<environment>-*.yaml (default dev)"
    )
    parser.add_argument("--region", help="regional stack to run (default: the primary region)")
    args = parser.parse_args(argv)
    web_port = args.web_port if args.web_port is not None else (args.port + 1 if args.port else 0)

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    backend = LocalBackend(
        args.workdir,
        api_port=args.port,
        web_port=web_port,
        environment=args.environment,
        region=args.region,
        announce=lambda message: print(message, flush=True),
    )
    started = time.monotonic()
    print(
        f"synthesizing the {args.environment} stacks, starting PostgreSQL, moto and the "
        "functions ...",
        flush=True,
    )
    try:
        running = backend.start()
    except (
        PortInUse,
        PostgresNotFoundError,
        WiringGap,
        ChildFailed,
        FileNotFoundError,
        UnsupportedRegion,
    ) as error:
        # Each of these names its cause and its fix; a traceback would only hide them.
        print(f"make dev cannot start: {error}", file=sys.stderr, flush=True)
        return 1
    except Exception as error:  # anything else: its message here, its traceback in the log
        log = args.workdir / "backend.log"
        with log.open("a") as out:
            traceback.print_exc(file=out)
        print(
            f"make dev cannot start: {type(error).__name__}: {error}\n"
            f"(traceback in {_shown(log)}; if the stacks changed, `make test` names the problem)",
            file=sys.stderr,
            flush=True,
        )
        return 1
    print(banner(running, args.workdir, time.monotonic() - started), flush=True)
    stop.wait()
    print("stopping ...", flush=True)
    stopped = backend.stop()
    ports = f"{running.api_url.rsplit(':', 1)[1]}, {running.web_url.rsplit(':', 1)[1]}"
    print(f"stopped {', '.join(stopped)}; ports {ports} are free again.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
