"""Per-container singletons shared by the handlers: settings parsed once, one Database.

Everything is created on first use, not at import, so importing a handler is cheap and a
misconfigured variable fails the first invocation with a message naming it.
"""

from __future__ import annotations

import functools
from typing import Any

from backend.db import Database
from contract.environment import ApiSettings, DbSettings, MigrationTriggerSettings


@functools.cache
def db_settings() -> DbSettings:
    return DbSettings.from_env()


@functools.cache
def api_settings() -> ApiSettings:
    return ApiSettings.from_env()


@functools.cache
def migration_trigger_settings() -> MigrationTriggerSettings:
    return MigrationTriggerSettings.from_env()


@functools.cache
def database() -> Database:
    return Database(db_settings())


def aws_client(service: str, region: str | None = None) -> Any:
    from backend import aws

    return aws.client(service, region)


def reset() -> None:
    """Forget every singleton (tests change the environment between cases)."""
    if database.cache_info().currsize:
        database().close()
    for cached in (db_settings, api_settings, migration_trigger_settings, database):
        cached.cache_clear()
    from backend import aws

    aws.reset_clients()
