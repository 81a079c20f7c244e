"""Lambda entry point of the token authorizer (``handlers.authorizer.main.handler``).

Environment: ``USER_POOL_NAME`` (deterministic pool name), ``USER_POOL_REGIONS`` (JSON list of
serving regions), ``APP_CLIENT_NAMES`` (JSON list of the app clients whose tokens the API
takes), ``TOKEN_USE`` (``id``). A valid token yields an Allow policy for the whole
stage (API Gateway caches the result per token for every route, so a per-method policy would
deny the next route) and a context with ``sub`` (the caller's one id across regions:
``custom:uid`` when set, see ``backend.user_ids``), ``email`` and ``groups`` that
``backend.identity`` reads. Anything else raises ``Unauthorized`` (HTTP 401).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from backend.user_ids import user_id
from contract.environment import LOG_LEVEL, AuthorizerSettings
from handlers import snapstart
from handlers.authorizer.pools import TrustedPools
from handlers.authorizer.tokens import InvalidToken, verify

logger = logging.getLogger(__name__)
# The level is applied before settings are parsed, so a bad value cannot hide the error.
logger.setLevel(os.environ.get(LOG_LEVEL.name, "INFO"))

_pools: TrustedPools | None = None
_settings: AuthorizerSettings | None = None


def _boto3_client(region: str):
    import boto3  # deferred: only a cache miss pays for the import

    return boto3.client("cognito-idp", region_name=region)


def settings() -> AuthorizerSettings:
    global _settings
    if _settings is None:
        _settings = AuthorizerSettings.from_env()
    return _settings


def pools() -> TrustedPools:
    global _pools
    if _pools is None:
        config = settings()
        _pools = TrustedPools(
            config.user_pool_name,
            list(config.regions),
            _boto3_client,
            client_names=config.app_client_names,
        )
    return _pools


def stage_arn(method_arn: str) -> str:
    """arn:aws:execute-api:r:acct:api/stage/METHOD/path → arn:...:api/stage/*/*"""
    prefix, _, rest = method_arn.partition(":execute-api:")
    api_and_stage = rest.split("/")[:2]
    return f"{prefix}:execute-api:{'/'.join(api_and_stage)}/*/*"


def authorize(
    event: dict[str, Any],
    trusted: TrustedPools,
    now: float,
    token_use: str = "id",  # noqa: S107 (the token_use claim, not a secret)
) -> dict[str, Any]:
    token = str(event.get("authorizationToken") or "")
    if token.startswith("Bearer "):
        token = token[len("Bearer ") :]
    try:
        claims = verify(
            token,
            trusted=trusted.is_trusted,
            keys=trusted.key,
            app_client=trusted.is_app_client,
            now=now,
            expected_use=token_use,
        )
    except InvalidToken as exc:
        # The reason is logged, never the token (it is a credential).
        logger.info("token refused: %s", exc)
        raise Exception("Unauthorized") from None
    groups = claims.get("cognito:groups") or []
    # The same person has a different sub in each region's pool; custom:uid is their one id.
    caller = user_id(claims)
    return {
        "principalId": caller,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": stage_arn(event["methodArn"]),
                }
            ],
        },
        # Authorizer context values must be strings, numbers or booleans.
        "context": {
            "sub": caller,
            "email": claims.get("email", ""),
            "groups": ",".join(groups) if isinstance(groups, list) else str(groups),
            "issuer": claims["iss"],
        },
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event, pools(), time.time(), settings().token_use)


def reset() -> None:
    """Forget the trusted pools (their boto3 clients hold the snapshot's credentials)."""
    global _pools, _settings
    _pools = None
    _settings = None


# SnapStart: boto3 (imported on the first cache miss otherwise) goes into the snapshot.
snapstart.install(reset=reset, preload_modules=("boto3",))
