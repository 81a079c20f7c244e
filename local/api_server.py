"""Child process of the local backend: the real api handler behind the local gateway.

Reads its configuration from the environment the orchestrator prepared (the same variables
the deployed function gets, plus ``LOCAL_*`` for the gateway), prints one JSON line
``{"ready": "<url>"}`` on stdout once it accepts requests, and serves until SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

from local.auth import CognitoTokenVerifier
from local.gateway import Gateway, serve

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from handlers.api.main import handler

    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    verifier = CognitoTokenVerifier(
        {os.environ["LOCAL_COGNITO_ISSUER"]: os.environ["LOCAL_COGNITO_JWKS_URL"]},
        os.environ["LOCAL_COGNITO_CLIENT_IDS"].split(","),
    )
    gateway = Gateway(document, handler, verifier, base_path=os.environ.get("LOCAL_BASE_PATH", ""))
    server = serve(gateway, "127.0.0.1", int(os.environ.get("LOCAL_API_PORT", "0")))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    host, port = server.server_address[:2]
    print(json.dumps({"ready": f"http://{host}:{port}"}), flush=True)
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
