"""Cognito ID-token checks as API Gateway's Cognito user-pool authorizer performs them.

A token is accepted only when its RS256 signature verifies against the issuing pool's JWKS,
its issuer is one of the configured pools, ``token_use`` is ``id``, its audience is one of
the pools' app clients, and it has not expired. Claims are handed on as strings, the way
API Gateway puts them in ``requestContext.authorizer.claims``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from local.gateway import Unauthorized

JwksFetcher = Callable[[str], Mapping[str, Any]]


def fetch_jwks(url: str) -> Mapping[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http(s) URL from config
        return json.load(response)


class CognitoTokenVerifier:
    """Verify ``Authorization`` ID tokens from any of ``issuers`` (one per user pool)."""

    def __init__(
        self,
        issuers: Mapping[str, str],
        audiences: Iterable[str],
        *,
        fetch: JwksFetcher = fetch_jwks,
        clock: Callable[[], float] = time.time,
    ):
        # issuer (https://cognito-idp.<region>.amazonaws.com/<pool>) → its JWKS URL
        self.issuers = dict(issuers)
        self.audiences = frozenset(audiences)
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def _key_set(self, issuer: str) -> KeySet:
        with self._lock:
            if issuer not in self._keys:
                self._keys[issuer] = KeySet.import_key_set(dict(self._fetch(self.issuers[issuer])))
            return self._keys[issuer]

    def __call__(self, headers: Mapping[str, str]) -> dict[str, str]:
        header = headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not token:
            raise Unauthorized("missing Authorization token")
        try:
            unverified = json.loads(_b64url_decode(token.split(".")[1]))
        except (IndexError, ValueError) as exc:
            raise Unauthorized("malformed token") from exc
        issuer = unverified.get("iss")
        if issuer not in self.issuers:
            raise Unauthorized("token issuer is not a trusted user pool")
        try:
            decoded = jwt.decode(token, self._key_set(issuer), algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise Unauthorized("invalid token signature") from exc
        claims = decoded.claims
        if claims.get("token_use") != "id":
            raise Unauthorized("not an ID token")
        if claims.get("aud") not in self.audiences:
            raise Unauthorized("token audience is not a known app client")
        if float(claims.get("exp", 0)) <= self._clock():
            raise Unauthorized("token expired")
        return {key: _as_claim(value) for key, value in claims.items()}


def _as_claim(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def _b64url_decode(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
