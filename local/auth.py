"""The deployed token authorizer, run locally in front of the api handler.

The cloud API uses a Lambda TOKEN authorizer (``handlers.authorizer``) that trusts every
region's user pool found by its deterministic name. Locally the very same code decides: this
adapter builds the TOKEN event API Gateway would send, lets ``handlers.authorizer.main``
verify the token against the local (moto) pool, and hands the returned context on as
``requestContext.authorizer``, as API Gateway does. Only the transport differs: the pools are
listed and the JWKS fetched from the moto endpoint instead of the public Cognito hosts.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from handlers.authorizer.main import authorize
from handlers.authorizer.pools import TrustedPools
from local.gateway import Unauthorized

EXECUTE_API_ARN = "arn:aws:execute-api:{region}:000000000000:local/api/{method}{path}"


def moto_jwks_fetcher(endpoint: str) -> Callable[[str], Any]:
    """Fetch ``https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json``
    from the emulator, which serves every pool's keys at ``<endpoint>/<pool>/...``."""

    def fetch(url: str) -> Any:
        local = f"{endpoint.rstrip('/')}{urlsplit(url).path}"
        with urllib.request.urlopen(local, timeout=5) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    return fetch


class LocalTokenAuthorizer:
    """``__call__(headers, method, path)`` → the ``requestContext.authorizer`` value."""

    def __init__(
        self,
        trusted: TrustedPools,
        region: str,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.trusted = trusted
        self.region = region
        self._clock = clock

    def __call__(self, headers: Mapping[str, str], method: str, path: str) -> dict[str, Any]:
        token = headers.get("authorization", "")
        if not token:
            # API Gateway answers 401 itself when the identity source header is absent.
            raise Unauthorized("missing Authorization token")
        event = {
            "type": "TOKEN",
            "authorizationToken": token,
            "methodArn": EXECUTE_API_ARN.format(region=self.region, method=method, path=path),
        }
        try:
            result = authorize(event, self.trusted, self._clock())
        except Exception as refusal:  # the authorizer raises "Unauthorized" for any refusal
            raise Unauthorized("Unauthorized") from refusal
        return {"principalId": result["principalId"], **result["context"]}


def for_local_pool(
    pool_name: str, region: str, endpoint: str, client_for: Callable[[str], Any]
) -> LocalTokenAuthorizer:
    trusted = TrustedPools(pool_name, [region], client_for, fetch_json=moto_jwks_fetcher(endpoint))
    return LocalTokenAuthorizer(trusted, region)
