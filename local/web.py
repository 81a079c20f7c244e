"""The web app's origin under ``make dev``: what CloudFront does in the cloud, on loopback.

One HTTP server answers, same-origin as the deployed distribution does: ``/api/*`` goes to the
local API Gateway stand-in with the ``/api`` prefix kept in the proxy event (the api handler
strips it, as behind the custom domain's base path mapping); ``GET /config.json`` is the
object the regional stack writes to the web bucket (synthesized, then pointed at the local pool,
client and emulator); everything else is a static file from ``web/`` (``index.html`` for
``/``), with the content type the stack uploads it with and the headers of the edge's
synthesized response headers policy — its CSP's ``connect-src`` naming the local Cognito/S3
emulator instead of the AWS hosts.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from components.web_content import API_BASE as API_PREFIX
from components.web_content import HTML_CACHE_CONTROL, web_config, web_files
from local.gateway import Gateway, serve

__all__ = ["API_PREFIX", "WebOrigin", "is_loopback_origin", "serve_web", "web_config"]


class WebOrigin:
    """``handle(method, raw_path, headers, body, source_ip)`` → (status, headers, body)."""

    def __init__(
        self, root: Path, api: Gateway, config: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        self.root = Path(root).resolve()
        self.api = api
        self.config = dict(config)
        # The edge's response headers policy as synthesized (local.region.edge_headers).
        self.headers = dict(headers)

    def _static(self, path: str) -> tuple[int, dict[str, str], bytes]:
        # Re-read per request: edits under web/ show on reload, as a deploy would after upload.
        files = {f.key: f for f in web_files(self.root)}
        key = unquote(path).lstrip("/") or "index.html"
        found = files.get(key)
        if found is None:
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n"
        headers = {"Content-Type": found.content_type, "Cache-Control": HTML_CACHE_CONTROL}
        return 200, headers, Path(found.path).read_bytes()

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return self.api.handle(method, raw_path, headers, body, source_ip)
        if method not in ("GET", "HEAD"):
            status, response_headers, response_body = 405, {"Allow": "GET, HEAD"}, b""
        elif path == "/config.json":
            response_body = json.dumps(self.config).encode()
            status = 200
            response_headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        else:
            status, response_headers, response_body = self._static(path)
        return status, {**self.headers, **response_headers}, response_body


def serve_web(
    origin: WebOrigin, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None
) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; the caller owns ``shutdown()``."""
    failure = (500, {"Content-Type": "text/plain"}, b"error\n")
    return serve(origin, host, port, failure=failure, sock=sock)


def is_loopback_origin(origin: str) -> bool:
    """Browser origins of local tools (``http://localhost:3000``...) the dev API answers."""
    return urlsplit(origin).hostname in ("localhost", "127.0.0.1", "::1")
