"""The writer probe: does a region's API say its database is the writer?

The default probe is ``GET <health url>`` (the API's ``/health`` route, R-FN-3) expecting JSON
with ``"role": "writer"``; anything else — another role, a non-200, a timeout — is reported, not
raised. Tests and other probes (a DB ``SELECT pg_is_in_recovery()``) implement the same
``Probe`` signature: ``probe(region) -> ProbeResult``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

WRITER_ROLE = "writer"


@dataclass(frozen=True)
class ProbeResult:
    reachable: bool
    role: str | None
    detail: str

    @property
    def is_writer(self) -> bool:
        return self.reachable and self.role == WRITER_ROLE


Probe = Callable[[str], ProbeResult]


class HttpHealthProbe:
    """``probe(region)`` → GET the region's health URL and read ``role`` from the JSON body."""

    def __init__(self, urls: Mapping[str, str], *, timeout_s: float = 5.0):
        self.urls = dict(urls)
        self.timeout_s = timeout_s

    def __call__(self, region: str) -> ProbeResult:
        import urllib.error
        import urllib.request

        url = self.urls.get(region)
        if url is None:
            return ProbeResult(False, None, f"no health URL configured for {region}")
        if not url.startswith(("https://", "http://")):
            return ProbeResult(False, None, f"{url!r} is not an http(s) URL")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return ProbeResult(True, None, f"{url} answered HTTP {exc.code}")
        except (OSError, ValueError) as exc:
            return ProbeResult(False, None, f"{url} unreachable: {exc}")
        role = body.get("role") if isinstance(body, dict) else None
        return ProbeResult(True, role, f"{url} reports role {role!r}")
