"""Child process of the local backend: the real api handler behind the local gateway.

Reads its configuration from the environment the orchestrator prepared (the same variables
the deployed function gets, plus ``LOCAL_*`` for the gateway), prints one JSON line
``{"ready": "<api url>", "web": "<web url>"}`` on stdout once it accepts requests, and serves
until SIGTERM. The web origin (``local.web``) serves ``web/`` with ``/api/*`` routed to the
same handler, as CloudFront does in the cloud.
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
from local.web import API_PREFIX, WebOrigin, is_loopback_origin, serve_web, web_config

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
    lock = threading.Lock()
    gateway = Gateway(
        document,
        handler,
        authorizer,
        base_path=os.environ.get("LOCAL_BASE_PATH", ""),
        cors_origin=is_loopback_origin,
        lock=lock,
    )
    server = serve(gateway, "127.0.0.1", int(os.environ.get("LOCAL_API_PORT", "0")))
    same_origin_api = Gateway(
        document, handler, authorizer, base_path=API_PREFIX, keep_base_path=True, lock=lock
    )
    config = web_config(
        region, os.environ["LOCAL_USER_POOL_ID"], os.environ["LOCAL_CLIENT_ID"], endpoint
    )
    # The page talks to Cognito and presigned S3 URLs on the emulator's origin.
    origin = WebOrigin(ROOT / "web", same_origin_api, config, connect_sources=endpoint)
    web = serve_web(origin, "127.0.0.1", int(os.environ.get("LOCAL_WEB_PORT", "0")))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    host, port = server.server_address[:2]
    web_host, web_port = web.server_address[:2]
    ready = {"ready": f"http://{host}:{port}", "web": f"http://{web_host}:{web_port}"}
    print(json.dumps(ready), flush=True)
    stop.wait()
    web.shutdown()
    server.shutdown()


if __name__ == "__main__":
    main()
