"""Lambda entry point of the push relay (``handlers.push_relay.main.handler``).

Invoked by the api only (its role holds the one invoke grant) with ``{"region", "action",
"params"}``: publish to, read, update or delete one device endpoint in a serving region other
than the api's own (``backend.push_relay`` says why the api cannot). Standard library and the
runtime's boto3 only: no layer, a small cold start on a user's request path. Logs name the
region, the action and the SNS error code, never a token, a message or an ARN.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from backend.push_relay import InvalidRelayRequest, check_request
from contract.environment import LOG_LEVEL, PushRelaySettings
from handlers import snapstart

logger = logging.getLogger(__name__)
logger.setLevel(os.environ.get(LOG_LEVEL.name, "INFO"))

_settings: PushRelaySettings | None = None
_clients: dict[str, Any] = {}


def settings() -> PushRelaySettings:
    global _settings
    if _settings is None:
        _settings = PushRelaySettings.from_env()
    return _settings


def sns(region: str) -> Any:
    if region not in _clients:
        import boto3  # deferred: the import is most of a cold start
        from botocore.config import Config

        config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2})
        _clients[region] = boto3.client("sns", region_name=region, config=config)
    return _clients[region]


def relay(event: Any, regions: tuple[str, ...]) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        region, action, params = check_request(event, regions)
    except InvalidRelayRequest as refusal:
        logger.warning("refused: %s", refusal)
        raise
    try:
        result = getattr(sns(region), action)(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        logger.info("%s in %s: %s", action, region, error.get("Code"))
        return {"error": {"Code": error.get("Code", ""), "Message": error.get("Message", "")}}
    result.pop("ResponseMetadata", None)
    return {"result": result}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return relay(event, settings().regions)


def reset() -> None:
    """Forget the SNS clients (they hold credentials): a restored environment makes its own."""
    _clients.clear()


# SnapStart: boto3 and botocore's Config (imported on the first call otherwise) go into the
# snapshot; a restored environment drops its clients (handlers/snapstart.py).
snapstart.install(reset=reset, preload_modules=("boto3", "botocore.config"))
