"""Child process of the local backend: API Gateway and the web origin, in front of the functions.

Serves the REST API the dev stack synthesizes (its OpenAPI body, stage and authorizer settings,
from ``region.json``) on the API socket and the web app (``local.web``, ``/api/*`` to the same
API as CloudFront does) on the web socket, both inherited from the orchestrator. The api and
authorizer functions run in their own processes (``local.function_host``) and are invoked over
loopback, as API Gateway invokes Lambda; this process makes no AWS call and holds no function's
environment or permissions.

``GET /health`` also reports the local backend's own processes: header ``X-Local-Processes``
names each and its state, and while one is not running (a killed subscriber being restarted)
the answer is ``503`` with ``"status": "degraded"``: the queue is not being drained.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from local.auth import RemoteFunction, TokenAuthorizer
from local.gateway import Gateway, Handler, serve
from local.runtime import load_region
from local.supervisor import read_status
from local.web import API_PREFIX, WebOrigin, is_loopback_origin, serve_web

ROOT = Path(__file__).resolve().parents[1]


def with_process_health(handler: Handler, workdir: Path) -> Handler:
    """``/health`` as the function answers it, degraded while a local process is down."""

    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        result = handler(event, context)
        if event.get("resource") != "/health":
            return result
        status = read_status(workdir)
        down = {name: s["state"] for name, s in status.items() if s.get("state") != "running"}
        headers = dict(result.get("headers") or {})
        headers["X-Local-Processes"] = ", ".join(
            f"{name}={s.get('state')}"
            + (f" (restarts: {s['restarts']})" if s.get("restarts") else "")
            for name, s in sorted(status.items())
        )
        if down:
            body = json.loads(result.get("body") or "{}")
            body["status"] = "degraded"
            result = {**result, "statusCode": 503, "body": json.dumps(body)}
        return {**result, "headers": headers}

    return answer


def main() -> None:
    workdir = Path(os.environ["LOCAL_WORKDIR"])
    region = load_region(workdir)
    api = with_process_health(RemoteFunction(os.environ["LOCAL_API_FUNCTION_URL"]), workdir)
    authorizer = None
    if region.authorizer_function is not None:
        authorizer = TokenAuthorizer(
            RemoteFunction(os.environ["LOCAL_AUTHORIZER_URL"]),
            region=region.region,
            account=region.account,
            stage=region.stage_name,
            identity_pattern=region.authorizer_identity_pattern,
            ttl_seconds=region.authorizer_ttl_seconds,
        )
    document = region.api_document
    gateway = Gateway(
        document,
        api,
        authorizer or (lambda headers, method, path: {}),
        stage=region.stage_name,
        base_path=os.environ.get("LOCAL_BASE_PATH", ""),
        cors_origin=is_loopback_origin,
        api_keys=region.api_keys.values(),
    )
    api_socket = socket.socket(fileno=int(os.environ["LOCAL_API_FD"]))
    web_socket = socket.socket(fileno=int(os.environ["LOCAL_WEB_FD"]))
    server = serve(gateway, sock=api_socket)
    same_origin_api = Gateway(
        document,
        api,
        authorizer or (lambda headers, method, path: {}),
        stage=region.stage_name,
        base_path=API_PREFIX,
        keep_base_path=True,
        api_keys=region.api_keys.values(),
    )
    # The page talks to Cognito and presigned S3 URLs on the emulator's origin.
    origin = WebOrigin(ROOT / "web", same_origin_api, region.web_config, region.web_headers)
    web = serve_web(origin, sock=web_socket)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    host, port = api_socket.getsockname()[:2]
    web_host, web_port = web_socket.getsockname()[:2]
    ready = {"ready": f"http://{host}:{port}", "web": f"http://{web_host}:{web_port}"}
    print(json.dumps(ready), flush=True)
    stop.wait()
    web.shutdown()
    server.shutdown()


if __name__ == "__main__":
    main()
