"""Cognito user-migration trigger: `handlers.user_migration.main.handler`.

Handles `UserMigration_Authentication` (sign-in of an unknown user: authenticate, then
`finalUserStatus=CONFIRMED`) and `UserMigration_ForgotPassword` (lookup only, so Cognito can
send the reset code to the verified email). Both suppress the welcome message. Raising makes
Cognito fail the sign-in; the message is generic so it does not reveal whether a user exists.
No `username` attribute is returned: Cognito takes the username from the request (and when the
pool signs in by email, the returned `email` equals it).
"""

from __future__ import annotations

import functools
from typing import Any

from backend import aws, user_migration
from handlers import common, snapstart
from handlers.observability import logger

TRIGGERS = ("UserMigration_Authentication", "UserMigration_ForgotPassword")


def peer_pools() -> tuple:
    """Static PEER_USER_POOLS, or the pools discovered by name (once per container)."""
    settings = common.migration_trigger_settings()
    if settings.peer_pools or not settings.peer_regions:
        return settings.peer_pools
    return _discover(settings.pool_name, settings.peer_regions, settings.migration_client_name)


@functools.cache
def _discover(pool_name: str, regions: tuple[str, ...], client_name: str) -> tuple:
    return user_migration.discover_peer_pools(
        pool_name, regions, client_name, lambda region: aws.client("cognito-idp", region)
    )


@functools.cache
def directory_client() -> Any:
    """Lambda client for the directory function: Cognito waits 5 s for the whole trigger, so
    one attempt (no retry) with a read timeout just above the directory function's own (3 s)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=1, read_timeout=4, retries={"total_max_attempts": 1, "mode": "standard"}
    )
    return boto3.client(
        "lambda", region_name=common.migration_trigger_settings().region, config=config
    )


def sources(event: dict[str, Any]) -> list[tuple[str, user_migration.Source]]:
    settings = common.migration_trigger_settings()
    request = event.get("request") or {}
    metadata = {**(request.get("validationData") or {}), **(request.get("clientMetadata") or {})}
    chain: list[tuple[str, user_migration.Source]] = []
    if user_migration.HOP_MARKER not in metadata:
        for pool in peer_pools():
            idp = aws.client("cognito-idp", pool.region)
            chain.append((f"peer:{pool.region}", user_migration.peer_pool_source(pool, idp)))
    if settings.user_directory_function:
        invoke = user_migration.lambda_invoker(directory_client(), settings.user_directory_function)
        chain.append(("directory", user_migration.remote_directory_source(invoke)))
    if settings.legacy_auth_url:
        chain.append(("legacy", user_migration.legacy_source(settings.legacy_auth_url)))
    return chain


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    trigger = event.get("triggerSource")
    if trigger not in TRIGGERS:
        raise ValueError(f"unsupported trigger {trigger!r}")
    authenticating = trigger == "UserMigration_Authentication"
    password = (event.get("request") or {}).get("password") if authenticating else None
    if authenticating and not password:
        raise user_migration.MigrationRejectedError
    migrated = user_migration.migrate(event["userName"], password, sources(event))
    response = event.setdefault("response", {})
    response["userAttributes"] = migrated.attributes
    response["messageAction"] = "SUPPRESS"
    if authenticating:
        response["finalUserStatus"] = "CONFIRMED"
    logger.info("user migrated", extra={"trigger": trigger, "source": migrated.source})
    return event


def reset() -> None:
    """Forget clients and discovered pools (made with the snapshot's credentials)."""
    common.reset()
    _discover.cache_clear()
    directory_client.cache_clear()


# SnapStart: boto3 goes into the snapshot; a restored environment drops its clients.
snapstart.install(reset=reset, preload_modules=("boto3",))
