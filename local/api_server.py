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

from local import auth
from local.cloud import client
from local.gateway import Gateway, serve

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from handlers.api.main import handler

    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_REGION"]
    authorizer = auth.for_local_pool(
        os.environ["LOCAL_USER_POOL_NAME"],
        region,
        endpoint,
        lambda r: client("cognito-idp", endpoint, r),
    )
    gateway = Gateway(
        document, handler, authorizer, base_path=os.environ.get("LOCAL_BASE_PATH", "")
    )
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
