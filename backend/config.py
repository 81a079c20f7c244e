"""Settings for the Lambda functions, parsed once from environment variables and validated.

Each function validates only what it uses (`ApiSettings.from_env`, `DbSettings.from_env`, ...).
A missing or invalid variable raises `SettingsError` naming the variable and the fix, so a bad
deployment fails at the first invocation with a readable message instead of deep in a query.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlparse

DEFAULT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
PUSH_PLATFORMS = ("apns", "fcm")
# A function name, or its ARN, optionally with a version or alias qualifier (Lambda's syntax).
LAMBDA_FUNCTION_REF = re.compile(
    r"(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?"
)


class SettingsError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


def _required(env: Mapping[str, str], name: str, hint: str = "") -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is required{': ' + hint if hint else ''}")
    return value


def _choice(
    env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None
) -> str:
    value = env.get(name, "").strip() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer (got {raw!r})") from exc
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum} (got {value})")
    return value


def _json(env: Mapping[str, str], name: str, default: object) -> object:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} must be valid JSON ({exc.msg})") from exc


@dataclass(frozen=True)
class DbSettings:
    """How to reach PostgreSQL through the regional RDS Proxy (or a local server)."""

    region: str
    role_hint: Literal["primary", "secondary"]
    host: str
    reader_host: str
    port: int
    dbname: str
    user: str
    auth: Literal["iam", "secret"]
    secret_arn: str | None
    sslmode: str
    connect_timeout: int = 3
    # Startup `options` (statement_timeout, write-forwarding consistency) are only sent to a
    # server we run ourselves: through RDS Proxy they live in the DB parameter group instead.
    startup_options: bool = False
    # Sent in the startup message (RDS Proxy accepts application_name there without pinning);
    # lets pg_stat_activity tell the functions apart.
    application_name: str = "mobile-backend"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DbSettings:
        env = os.environ if env is None else env
        auth = _choice(env, "DB_AUTH", ("iam", "secret"), None)
        secret_arn = env.get("DB_SECRET_ARN", "").strip() or None
        if auth == "secret" and not secret_arn:
            raise SettingsError("DB_SECRET_ARN is required when DB_AUTH=secret")
        host = _required(env, "DB_HOST", "the read/write RDS Proxy endpoint")
        sslmode = _choice(
            env,
            "DB_SSLMODE",
            ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
            "require",
        )
        if auth == "iam" and sslmode in ("disable", "allow", "prefer"):
            raise SettingsError("DB_SSLMODE must be require or stricter when DB_AUTH=iam")
        return cls(
            region=_required(env, "AWS_REGION", "set by Lambda; export it when running locally"),
            role_hint=_choice(env, "APP_ROLE_HINT", ("primary", "secondary"), None),  # type: ignore[arg-type]
            host=host,
            reader_host=env.get("DB_READER_HOST", "").strip() or host,
            port=_int(env, "DB_PORT", 5432, 1, 65535),
            dbname=_required(env, "DB_NAME"),
            user=_required(env, "DB_USER"),
            auth=auth,  # type: ignore[arg-type]
            secret_arn=secret_arn,
            sslmode=sslmode,
            startup_options=env.get("DB_STARTUP_OPTIONS", "").strip().lower() in ("1", "true"),
            application_name=(env.get("AWS_LAMBDA_FUNCTION_NAME") or "mobile-backend")[:63],
        )


@dataclass(frozen=True)
class PeerPool:
    region: str
    user_pool_id: str
    client_id: str


@dataclass(frozen=True)
class ApiSettings:
    """What the API function needs besides the database."""

    region: str
    events_topic_arn: str
    assets_bucket: str
    upload_max_bytes: int
    push_platform_applications: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if env is None else env
        platforms = _json(env, "PUSH_PLATFORM_APPLICATIONS", {})
        if not isinstance(platforms, dict) or not all(
            isinstance(k, str)
            and k in PUSH_PLATFORMS
            and isinstance(v, str)
            and v.startswith("arn:")
            for k, v in platforms.items()
        ):
            raise SettingsError(
                "PUSH_PLATFORM_APPLICATIONS must be a JSON object mapping apns/fcm to "
                'platform application ARNs, e.g. {"fcm": "arn:aws:sns:..."}'
            )
        topic = _required(env, "EVENTS_TOPIC_ARN", "the SNS topic that receives POST /users")
        if not topic.startswith("arn:"):
            raise SettingsError(f"EVENTS_TOPIC_ARN must be an SNS topic ARN (got {topic!r})")
        return cls(
            region=_required(env, "AWS_REGION"),
            events_topic_arn=topic,
            assets_bucket=_required(env, "ASSETS_BUCKET"),
            upload_max_bytes=_int(
                env, "UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES, 1, 5 * 1024 * 1024 * 1024
            ),
            push_platform_applications=dict(platforms),
        )


@dataclass(frozen=True)
class MigrationTriggerSettings:
    """Sources the Cognito user-migration trigger consults, in order."""

    region: str
    peer_pools: tuple[PeerPool, ...]
    legacy_auth_url: str | None
    # Discovery instead of a static list: regional stacks cannot know each other's pool ids
    # at deploy time, so the deployed trigger finds the peer pools (and their migration app
    # client) by their deterministic names in PEER_USER_POOL_REGIONS.
    pool_name: str | None = None
    peer_regions: tuple[str, ...] = ()
    migration_client_name: str | None = None
    # The in-VPC user-directory function (name or alias ARN) the trigger invokes; unset: the
    # directory is not consulted.
    user_directory_function: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MigrationTriggerSettings:
        env = os.environ if env is None else env
        regions = _json(env, "PEER_USER_POOL_REGIONS", [])
        if not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions):
            raise SettingsError('PEER_USER_POOL_REGIONS must be a JSON list like ["us-west-1"]')
        pool_name = env.get("USER_POOL_NAME", "").strip() or None
        client_name = env.get("MIGRATION_CLIENT_NAME", "").strip() or None
        if regions and not (pool_name and client_name):
            raise SettingsError(
                "USER_POOL_NAME and MIGRATION_CLIENT_NAME are required with PEER_USER_POOL_REGIONS"
            )
        raw = _json(env, "PEER_USER_POOLS", [])
        pools: list[PeerPool] = []
        if not isinstance(raw, list):
            raise SettingsError("PEER_USER_POOLS must be a JSON list")
        for index, item in enumerate(raw):
            if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) and item.get(k)
                for k in ("region", "user_pool_id", "client_id")
            ):
                raise SettingsError(
                    f"PEER_USER_POOLS[{index}] needs string region, user_pool_id and client_id"
                )
            pools.append(PeerPool(item["region"], item["user_pool_id"], item["client_id"]))
        legacy = env.get("LEGACY_AUTH_URL", "").strip() or None
        if legacy is not None:
            parsed = urlparse(legacy)
            loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
            # Passwords travel in this request: only TLS, except to a loopback test server.
            if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
                raise SettingsError(f"LEGACY_AUTH_URL must be an https URL (got {legacy!r})")
        directory = env.get("USER_DIRECTORY_FUNCTION", "").strip() or None
        if directory is not None and not LAMBDA_FUNCTION_REF.fullmatch(directory):
            raise SettingsError(
                "USER_DIRECTORY_FUNCTION must be a Lambda function name or ARN "
                f"(optionally with an alias), got {directory!r}"
            )
        return cls(
            region=_required(env, "AWS_REGION"),
            peer_pools=tuple(pools),
            legacy_auth_url=legacy,
            pool_name=pool_name,
            peer_regions=tuple(regions),
            migration_client_name=client_name,
            user_directory_function=directory,
        )
