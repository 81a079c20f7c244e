"""The deployed token authorizer in front of the local API, as API Gateway runs it.

The cloud API uses a Lambda TOKEN authorizer (``handlers.authorizer``) that trusts every
region's user pool found by its deterministic name. Locally the very same function decides:
``TokenAuthorizer`` does what API Gateway does around it, with the settings the synthesized
REST API declares (``x-amazon-apigateway-authorizer``): a header that does not match
``identityValidationExpression`` is refused without invoking the function; otherwise the TOKEN
event goes to the function (``invoke``), a failure is a 401, a returned policy that does not
allow ``execute-api:Invoke`` on the method ARN is a 403, and the answer (principal and
context, handed on as ``requestContext.authorizer``) is cached per token for
``authorizerResultTtlInSeconds``.

``make dev`` invokes the authorizer function in its own process (``RemoteFunction``: its own
environment and IAM policy); ``for_local_pool`` runs its code in this process against a local
pool (the gateway tests).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from contract.names import API_CLIENT_NAMES
from handlers.authorizer.main import authorize
from handlers.authorizer.pools import TrustedPools
from local.gateway import Forbidden, FunctionError, Unauthorized

METHOD_ARN = "arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}{path}"
Invoke = Callable[[dict[str, Any]], dict[str, Any]]


class RemoteFunction:
    """Invokes a function process (``local.function_host``) like Lambda's Invoke API:
    ``__call__(event, context=None)`` → its result; a function error raises ``FunctionError``.
    One keep-alive connection per calling thread."""

    def __init__(self, url: str, timeout: float = 35.0):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.connection = connection
        return connection

    def __call__(self, event: dict[str, Any], context: Any = None) -> Any:
        body = json.dumps(event).encode()
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("POST", "/invoke", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                # A restarted function process closed the kept-alive connection: reconnect once.
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise FunctionError("the function process is not answering") from None
        result = json.loads(payload or b"null")
        if response.getheader("X-Amz-Function-Error"):
            raise FunctionError(f"{result.get('errorType')}: {result.get('errorMessage')}")
        return result


class TokenAuthorizer:
    """``__call__(headers, method, path)`` → the ``requestContext.authorizer`` value."""

    def __init__(
        self,
        invoke: Invoke,
        *,
        region: str,
        account: str = "000000000000",
        api_id: str = "local",
        stage: str = "local",
        identity_pattern: str | None = None,
        ttl_seconds: int = 0,
        clock: Callable[[], float] = time.time,
    ):
        self.invoke = invoke
        self.region, self.account, self.api_id, self.stage = region, account, api_id, stage
        self.pattern = re.compile(identity_pattern) if identity_pattern else None
        self.ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def method_arn(self, method: str, path: str) -> str:
        return METHOD_ARN.format(
            region=self.region,
            account=self.account,
            api_id=self.api_id,
            stage=self.stage,
            method=method,
            path=path,
        )

    def __call__(self, headers: Mapping[str, str], method: str, path: str) -> dict[str, Any]:
        token = headers.get("authorization", "")
        # API Gateway answers 401 itself for these: the function is never invoked.
        if not token:
            raise Unauthorized("missing Authorization token")
        if self.pattern is not None and not self.pattern.match(token):
            raise Unauthorized("Unauthorized")
        method_arn = self.method_arn(method, path)
        result = self._cached(token)
        if result is None:
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            try:
                result = self.invoke(event)
            except Exception as refusal:  # the authorizer raises "Unauthorized" for any refusal
                raise Unauthorized("Unauthorized") from refusal
            if self.ttl:
                with self._lock:
                    self._cache[token] = (self._clock() + self.ttl, result)
        if not allows(result.get("policyDocument") or {}, method_arn):
            raise Forbidden("User is not authorized to access this resource")
        return {"principalId": result["principalId"], **(result.get("context") or {})}

    def _cached(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._cache.get(token)
            if hit is None or hit[0] <= self._clock():
                self._cache.pop(token, None)
                return None
            return hit[1]


def allows(policy: Mapping[str, Any], method_arn: str) -> bool:
    """An Allow for ``execute-api:Invoke`` on ``method_arn`` and no Deny (``*`` wildcards)."""
    statements = policy.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]

    def matches(statement: Mapping[str, Any]) -> bool:
        actions = statement.get("Action") or []
        resources = statement.get("Resource") or []
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        return any(_glob(a, "execute-api:Invoke") for a in actions) and any(
            _glob(r, method_arn) for r in resources
        )

    relevant = [s for s in statements if matches(s)]
    return any(s.get("Effect") == "Allow" for s in relevant) and not any(
        s.get("Effect") == "Deny" for s in relevant
    )


def _glob(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def moto_jwks_fetcher(endpoint: str) -> Callable[[str], Any]:
    """Fetch ``https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json``
    from the emulator, which serves every pool's keys at ``<endpoint>/<pool>/...``."""

    def fetch(url: str) -> Any:
        local = f"{endpoint.rstrip('/')}{urlsplit(url).path}"
        with urllib.request.urlopen(local, timeout=5) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    return fetch


def for_local_pool(
    pool_name: str, region: str, endpoint: str, client_for: Callable[[str], Any]
) -> TokenAuthorizer:
    """The authorizer's code in this process, trusting ``pool_name`` in ``region`` and the
    tokens of its app clients (by the names the stack gives the deployed authorizer)."""
    trusted = TrustedPools(
        pool_name,
        [region],
        client_for,
        fetch_json=moto_jwks_fetcher(endpoint),
        client_names=API_CLIENT_NAMES,
    )
    authorizer = TokenAuthorizer(lambda event: {}, region=region)
    authorizer.invoke = lambda event: authorize(event, trusted, authorizer._clock())
    return authorizer
