"""Lambda entry point: resolve the Secrets Manager rotation event and hand it to the library.

Clients and settings are built once per container (module level is the cold start); the
WAF clients are regional, one per serving region, because the web ACLs are REGIONAL. Only
boto3 (in the runtime) and the standard library are imported: the function needs no layer,
and Lambda's JSON log format structures the standard ``logging`` records.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3

from contract.environment import LOG_LEVEL
from handlers.origin_verify_rotation.rotation import (
    Distribution,
    RotationConfig,
    Rotator,
    WebAcls,
)

logger = logging.getLogger()
logger.setLevel(os.environ.get(LOG_LEVEL.name, "INFO"))
_rotator: Rotator | None = None


def _build() -> Rotator:
    config = RotationConfig.from_env(os.environ)
    regions = {ref.region for ref in config.web_acls}
    return Rotator(
        secrets=boto3.client("secretsmanager"),
        web_acls=WebAcls({r: boto3.client("wafv2", region_name=r) for r in regions}, config),
        distribution=Distribution(boto3.client("cloudfront"), config),
        config=config,
    )


def handler(event: dict[str, Any], context: Any) -> None:
    global _rotator
    if _rotator is None:
        _rotator = _build()
    # The deadline is per invocation; the clients are per container.
    _rotator.remaining_seconds = lambda: context.get_remaining_time_in_millis() / 1000
    logger.info("rotation step %s for version %s", event["Step"], event["ClientRequestToken"])
    _rotator.run(event["Step"], event["SecretId"], event["ClientRequestToken"])
