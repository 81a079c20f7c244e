"""Which user pools and app clients are ours, and the pools' signing keys: discovered at run
time, cached.

Pool ids are random and every regional stack creates its own pool, so no stack can know the
others' ids at deploy time (regional stacks never reference each other, and the first region
deploys before the second exists). The pools are found instead by their deterministic name
(``mobile-backend-<env>-users``) in each serving region with ``ListUserPools``, which only ever
lists *this account's* pools, so a look-alike pool elsewhere is never trusted. A region added
later is picked up without redeploying the others.

A pool also has clients we do not want tokens from (the ``migration`` client the peer
region's trigger signs in through, or one added by hand), so a token is accepted only when it
was issued to one of this deployment's app clients: found in each trusted pool by their
deterministic names (``contract.names.WEB_CLIENT``, ``MOBILE_CLIENT``) with
``ListUserPoolClients``, which the stack passes in ``APP_CLIENT_NAMES``.

Caches live for the container. A pool id or client id not yet known triggers at most one
re-listing per region (per pool) per ``REFRESH_SECONDS`` (forged issuers cannot turn into a
request flood), and a failed refresh keeps the last good answer, so a peer region's outage
does not stop this region from accepting tokens it could verify before.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from handlers.authorizer.tokens import Issuer, RsaKey

REFRESH_SECONDS = 60
JWKS_TIMEOUT_SECONDS = 2


def _fetch_json(url: str) -> Any:
    if not url.startswith("https://"):
        raise ValueError(f"refusing to fetch keys over {url!r}")
    with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_SECONDS) as response:  # noqa: S310
        return json.loads(response.read())


class TrustedPools:
    def __init__(
        self,
        pool_name: str,
        regions: Iterable[str],
        client_for: Callable[[str], Any],
        fetch_json: Callable[[str], Any] = _fetch_json,
        clock: Callable[[], float] = time.monotonic,
        *,
        client_names: Iterable[str],
    ):
        self.pool_name = pool_name
        self.regions = frozenset(regions)
        self.client_names = frozenset(client_names)
        if not self.client_names:
            raise ValueError("no app client names: no token could ever be accepted")
        self._client_for = client_for
        self._fetch_json = fetch_json
        self._clock = clock
        self._pools: dict[str, frozenset[str]] = {}
        self._listed_at: dict[str, float] = {}
        self._keys: dict[str, dict[str, RsaKey]] = {}
        self._keys_at: dict[str, float] = {}
        self._clients: dict[Issuer, frozenset[str]] = {}
        self._clients_at: dict[Issuer, float] = {}
        self._lock = threading.Lock()

    # --- pools --------------------------------------------------------------------------
    def _list(self, region: str) -> frozenset[str]:
        client = self._client_for(region)
        found: set[str] = set()
        kwargs: dict[str, Any] = {"MaxResults": 60}
        while True:
            page = client.list_user_pools(**kwargs)
            found |= {p["Id"] for p in page.get("UserPools", []) if p["Name"] == self.pool_name}
            if not page.get("NextToken"):
                return frozenset(found)
            kwargs["NextToken"] = page["NextToken"]

    def is_trusted(self, issuer: Issuer) -> bool:
        if issuer.region not in self.regions:
            return False
        with self._lock:
            known = self._pools.get(issuer.region, frozenset())
            if issuer.user_pool_id in known:
                return True
            last = self._listed_at.get(issuer.region)
            if last is not None and self._clock() - last < REFRESH_SECONDS:
                return False
            self._listed_at[issuer.region] = self._clock()
        try:
            listed = self._list(issuer.region)
        except Exception:  # keep the last good answer on any failure
            return False
        with self._lock:
            self._pools[issuer.region] = listed
        return issuer.user_pool_id in listed

    # --- app clients --------------------------------------------------------------------
    def _list_clients(self, issuer: Issuer) -> frozenset[str]:
        client = self._client_for(issuer.region)
        found: set[str] = set()
        kwargs: dict[str, Any] = {"UserPoolId": issuer.user_pool_id, "MaxResults": 60}
        while True:
            page = client.list_user_pool_clients(**kwargs)
            found |= {
                c["ClientId"]
                for c in page.get("UserPoolClients", [])
                if c.get("ClientName") in self.client_names
            }
            if not page.get("NextToken"):
                return frozenset(found)
            kwargs["NextToken"] = page["NextToken"]

    def is_app_client(self, issuer: Issuer, client_id: str) -> bool:
        """Whether ``client_id`` is one of this deployment's app clients in a trusted pool."""
        with self._lock:
            if client_id in self._clients.get(issuer, frozenset()):
                return True
            last = self._clients_at.get(issuer)
            if last is not None and self._clock() - last < REFRESH_SECONDS:
                return False
            self._clients_at[issuer] = self._clock()
        try:
            listed = self._list_clients(issuer)
        except Exception:  # keep the last good answer on any failure
            return False
        with self._lock:
            self._clients[issuer] = listed
        return client_id in listed

    # --- keys ---------------------------------------------------------------------------
    def key(self, issuer: Issuer, kid: str) -> RsaKey | None:
        url = (
            f"https://cognito-idp.{issuer.region}.amazonaws.com/{issuer.user_pool_id}"
            "/.well-known/jwks.json"
        )
        with self._lock:
            known = self._keys.get(url, {})
            if kid in known:
                return known[kid]
            last = self._keys_at.get(url)
            if last is not None and self._clock() - last < REFRESH_SECONDS:
                return None
            self._keys_at[url] = self._clock()
        try:
            document = self._fetch_json(url)
            keys = {
                jwk["kid"]: RsaKey.from_jwk(jwk)
                for jwk in document.get("keys", [])
                if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig"
            }
        except Exception:  # keep the last good keys on any failure
            return None
        with self._lock:
            self._keys[url] = keys
        return keys.get(kid)
