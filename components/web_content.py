"""The static web app's files as plain values (key, path, content type, hash), read from a
directory once by the stack so the edge component only declares objects."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

# HTML must be revalidated so a deploy is visible at once; other assets may be cached a day.
HTML_CACHE_CONTROL = "no-cache"
ASSET_CACHE_CONTROL = "public, max-age=86400"


# Written per region by the regional stacks (components.web_config), never part of web/.
CONFIG_KEY = "config.json"
API_BASE = "/api"


def web_config(
    region: str,
    user_pool_id: str,
    client_id: str,
    api_key: str,
    cognito_endpoint: str | None = None,
) -> dict[str, str]:
    """The web app's ``config.json``: the region's pool and web client, where to sign in,
    where the API is (same origin, under CloudFront's ``/api/*`` behaviour) and the web app's
    API key (sent as ``x-api-key``; it identifies the app, it is not a secret). The local
    backend serves the same keys with the emulator as ``cognito_endpoint``."""
    endpoint = cognito_endpoint or f"https://cognito-idp.{region}.amazonaws.com/"
    return {
        "region": region,
        "userPoolId": user_pool_id,
        "clientId": client_id,
        "cognitoEndpoint": endpoint.rstrip("/") + "/",
        "apiBase": API_BASE,
        "apiKey": api_key,
    }


@dataclass(frozen=True)
class WebFile:
    key: str
    path: str
    content_type: str
    cache_control: str
    sha256: str


def web_files(directory: Path) -> tuple[WebFile, ...]:
    """Every regular file under ``directory`` (sorted, hidden files skipped)."""
    if not directory.is_dir():
        raise FileNotFoundError(f"web app directory {directory} does not exist")
    files = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in {
            "application/javascript",
            "application/json",
        }:
            content_type += "; charset=utf-8"
        files.append(
            WebFile(
                key=relative.as_posix(),
                path=str(path),
                content_type=content_type,
                cache_control=HTML_CACHE_CONTROL
                if path.suffix in {".html", ".htm"}
                else ASSET_CACHE_CONTROL,
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            )
        )
    if not files:
        raise FileNotFoundError(f"web app directory {directory} has no files")
    return tuple(files)
