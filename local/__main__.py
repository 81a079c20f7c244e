"""``make dev``: run the backend locally until Ctrl-C, and say how to use it."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from local.backend import ROOT, LocalBackend


def banner(running) -> str:
    s = running.seeded
    api = running.api_url
    return f"""
mobile-backend is running locally (no AWS account involved)

  Web app        {running.web_url}/            (sign in as the demo user below)
  API            {api}            (try: curl {api}/health)
  AWS (moto)     {s.endpoint}
  PostgreSQL     127.0.0.1:{running.pg_port}  db=mobile
  details        .dev/local.json   logs: .dev/backend.log

Demo user: {s.demo_email} / {s.demo_password}
Get an ID token:
  TOKEN=$(.venv/bin/python -m local.token)
Then:
  curl -H "Authorization: $TOKEN" {api}/me
  curl -X POST -H "Authorization: $TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"name": "Ada Lovelace", "email": "ada@example.com"}}' {api}/users
  curl -H "Authorization: $TOKEN" "{api}/users?limit=10"
End-to-end check:  .venv/bin/python scripts/smoke.py {api} --local .dev/local.json

Ctrl-C stops everything.
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="API port on 127.0.0.1 (0: any)")
    parser.add_argument(
        "--web-port", type=int, help="web app port (default: API port + 1, or any if that is 0)"
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / ".dev")
    args = parser.parse_args()
    web_port = args.web_port if args.web_port is not None else (args.port + 1 if args.port else 0)

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    backend = LocalBackend(args.workdir, api_port=args.port, web_port=web_port)
    try:
        print("starting PostgreSQL, moto and the handlers ...", flush=True)
        running = backend.start()
        print(banner(running), flush=True)
        stop.wait()
        print("stopping ...", flush=True)
    finally:
        backend.stop()


if __name__ == "__main__":
    main()
