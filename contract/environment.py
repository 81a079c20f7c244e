"""Each Lambda function's environment: its variables, written once, and how they are parsed.

The component that declares a function builds its variables from ``SCHEMAS[function]`` (keyed
by ``Variable``, so no variable name is spelled twice) and ``components/function.py`` refuses a
function whose environment misses a required variable, sets one the handler never reads, or
sets one the Lambda runtime owns; once the values are known it parses them with the same code
the handler runs. The handler parses ``os.environ`` with the settings classes below. A missing
or invalid variable raises ``SettingsError`` naming the variable and the fix.

Standard library only: every function ships this module, the authorizer without a layer.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

from contract import names, telemetry

PUSH_PLATFORMS = ("apns", "fcm")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A function name, or its ARN, optionally with a version or alias qualifier (Lambda's syntax).
LAMBDA_FUNCTION_REF = re.compile(
    r"(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?"
)


class SettingsError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Variable:
    name: str
    hint: str = ""
    # Set by the Lambda runtime itself; a stack must not (Lambda rejects reserved keys).
    runtime: bool = False

    def raw(self, env: Mapping[str, str]) -> str:
        return env.get(self.name, "").strip()

    def required(self, env: Mapping[str, str]) -> str:
        value = self.raw(env)
        if not value:
            raise SettingsError(f"{self.name} is required{': ' + self.hint if self.hint else ''}")
        return value

    def optional(self, env: Mapping[str, str]) -> str | None:
        return self.raw(env) or None

    def choice(self, env: Mapping[str, str], choices: Iterable[str], default: str | None) -> str:
        choices = tuple(choices)
        value = self.raw(env) or default
        if value not in choices:
            raise SettingsError(f"{self.name} must be one of {', '.join(choices)} (got {value!r})")
        return value

    def integer(self, env: Mapping[str, str], default: int, minimum: int, maximum: int) -> int:
        raw = self.raw(env)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise SettingsError(f"{self.name} must be an integer (got {raw!r})") from exc
        if not minimum <= value <= maximum:
            raise SettingsError(
                f"{self.name} must be between {minimum} and {maximum} (got {value})"
            )
        return value

    def json(self, env: Mapping[str, str], default: object) -> object:
        raw = self.raw(env)
        if not raw:
            return default
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{self.name} must be valid JSON ({exc.msg})") from exc

    def flag(self, env: Mapping[str, str]) -> bool:
        return self.raw(env).lower() in ("1", "true")


# Set by Lambda (and exported by hand when a handler runs locally).
AWS_REGION = Variable("AWS_REGION", "set by Lambda; export it when running locally", True)
AWS_LAMBDA_FUNCTION_NAME = Variable("AWS_LAMBDA_FUNCTION_NAME", runtime=True)

# Telemetry (Powertools reads these itself; see handlers/observability.py).
LOG_LEVEL = Variable("LOG_LEVEL")
POWERTOOLS_SERVICE_NAME = Variable("POWERTOOLS_SERVICE_NAME", "the function's service name")
POWERTOOLS_METRICS_NAMESPACE = Variable(
    "POWERTOOLS_METRICS_NAMESPACE", f"the metrics namespace ({telemetry.METRICS_NAMESPACE})"
)

# Database, through the regional RDS Proxy (or straight to the writer for migrations).
APP_ROLE_HINT = Variable("APP_ROLE_HINT", "primary or secondary: the endpoint to try first")
DB_AUTH = Variable("DB_AUTH", "iam (IAM token to RDS Proxy) or secret")
DB_SECRET_ARN = Variable("DB_SECRET_ARN", "the login's Secrets Manager secret")
DB_HOST = Variable("DB_HOST", "the read/write RDS Proxy endpoint")
DB_READER_HOST = Variable("DB_READER_HOST", "the read-only RDS Proxy endpoint")
DB_PORT = Variable("DB_PORT")
DB_NAME = Variable("DB_NAME", "the database name")
DB_USER = Variable("DB_USER", "the database login")
DB_SSLMODE = Variable("DB_SSLMODE")
# Only for a server we run ourselves (tests, make dev): through RDS Proxy these settings live
# in the DB parameter group, and startup options would pin the proxy session.
DB_STARTUP_OPTIONS = Variable("DB_STARTUP_OPTIONS")

# API
EVENTS_TOPIC_ARN = Variable("EVENTS_TOPIC_ARN", "the SNS topic that receives POST /users")
ASSETS_BUCKET = Variable("ASSETS_BUCKET", "this region's assets bucket (uploads)")
PUSH_PLATFORM_APPLICATIONS = Variable(
    "PUSH_PLATFORM_APPLICATIONS", 'JSON platform → application ARN, "{}" when push is off'
)
PUSH_RELAY_FUNCTION = Variable(
    "PUSH_RELAY_FUNCTION", "the push_relay function's alias ARN (device endpoints elsewhere)"
)

# Push relay
PUSH_REGIONS = Variable(
    "PUSH_REGIONS",
    'JSON list of the serving regions whose endpoints it reaches, e.g. ["eu-west-1"]',
)

# Cognito: the user-migration trigger and the authorizer.
USER_POOL_NAME = Variable("USER_POOL_NAME", "the pools' deterministic name")
PEER_USER_POOL_REGIONS = Variable("PEER_USER_POOL_REGIONS")
MIGRATION_CLIENT_NAME = Variable("MIGRATION_CLIENT_NAME")
PEER_USER_POOLS = Variable("PEER_USER_POOLS")
LEGACY_AUTH_URL = Variable("LEGACY_AUTH_URL")
USER_DIRECTORY_FUNCTION = Variable("USER_DIRECTORY_FUNCTION")
USER_POOL_REGIONS = Variable(
    "USER_POOL_REGIONS", 'JSON list of serving regions, e.g. ["eu-west-1"]'
)
TOKEN_USE = Variable("TOKEN_USE")
APP_CLIENT_NAMES = Variable(
    "APP_CLIENT_NAMES", 'JSON list of the app clients whose tokens the API takes, e.g. ["web"]'
)

# Origin-verify rotation (global stack).
DISTRIBUTION_ID = Variable("DISTRIBUTION_ID", "the CloudFront distribution id")
ORIGIN_ID = Variable("ORIGIN_ID", "the API origin's id in the distribution")
HEADER_NAME = Variable("HEADER_NAME", "the origin-verify header")
RULE_NAME = Variable("RULE_NAME", "the regional web ACLs' origin-verify rule")
WEB_ACLS = Variable("WEB_ACLS", 'JSON list of {"region", "name"} of every regional web ACL')
WAF_PROPAGATION_SECONDS = Variable("WAF_PROPAGATION_SECONDS")


@dataclass(frozen=True)
class Telemetry:
    service: str
    namespace: str
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Telemetry:
        env = os.environ if env is None else env
        namespace = POWERTOOLS_METRICS_NAMESPACE.required(env)
        if namespace != telemetry.METRICS_NAMESPACE:
            # The alarms and the dashboard watch this one namespace (contract.telemetry).
            raise SettingsError(
                f"POWERTOOLS_METRICS_NAMESPACE must be {telemetry.METRICS_NAMESPACE!r}, "
                f"the namespace the alarms watch (got {namespace!r})"
            )
        return cls(
            service=POWERTOOLS_SERVICE_NAME.required(env),
            namespace=namespace,
            log_level=LOG_LEVEL.choice(env, LOG_LEVELS, "INFO"),
        )


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
        auth = DB_AUTH.choice(env, ("iam", "secret"), None)
        secret_arn = DB_SECRET_ARN.optional(env)
        if auth == "secret" and not secret_arn:
            raise SettingsError("DB_SECRET_ARN is required when DB_AUTH=secret")
        host = DB_HOST.required(env)
        sslmode = DB_SSLMODE.choice(env, SSL_MODES, "require")
        if auth == "iam" and sslmode in ("disable", "allow", "prefer"):
            raise SettingsError("DB_SSLMODE must be require or stricter when DB_AUTH=iam")
        return cls(
            region=AWS_REGION.required(env),
            role_hint=APP_ROLE_HINT.choice(env, ("primary", "secondary"), None),  # type: ignore[arg-type]
            host=host,
            reader_host=DB_READER_HOST.optional(env) or host,
            port=DB_PORT.integer(env, 5432, 1, 65535),
            dbname=DB_NAME.required(env),
            user=DB_USER.required(env),
            auth=auth,  # type: ignore[arg-type]
            secret_arn=secret_arn,
            sslmode=sslmode,
            startup_options=DB_STARTUP_OPTIONS.flag(env),
            application_name=(AWS_LAMBDA_FUNCTION_NAME.optional(env) or "mobile-backend")[:63],
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
    push_platform_applications: dict[str, str] = field(default_factory=dict)
    # Device endpoints in another region are reached through this function (backend.push).
    push_relay_function: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if env is None else env
        platforms = PUSH_PLATFORM_APPLICATIONS.json(env, {})
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
        topic = EVENTS_TOPIC_ARN.required(env)
        if not topic.startswith("arn:"):
            raise SettingsError(f"EVENTS_TOPIC_ARN must be an SNS topic ARN (got {topic!r})")
        relay = PUSH_RELAY_FUNCTION.required(env)
        if not LAMBDA_FUNCTION_REF.fullmatch(relay):
            raise SettingsError(
                f"PUSH_RELAY_FUNCTION must be a Lambda function name or ARN (got {relay!r})"
            )
        return cls(
            region=AWS_REGION.required(env),
            events_topic_arn=topic,
            assets_bucket=ASSETS_BUCKET.required(env),
            push_platform_applications=dict(platforms),
            push_relay_function=relay,
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
        regions = PEER_USER_POOL_REGIONS.json(env, [])
        if not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions):
            raise SettingsError('PEER_USER_POOL_REGIONS must be a JSON list like ["us-west-1"]')
        pool_name = USER_POOL_NAME.optional(env)
        client_name = MIGRATION_CLIENT_NAME.optional(env)
        if regions and not (pool_name and client_name):
            raise SettingsError(
                "USER_POOL_NAME and MIGRATION_CLIENT_NAME are required with PEER_USER_POOL_REGIONS"
            )
        raw = PEER_USER_POOLS.json(env, [])
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
        legacy = LEGACY_AUTH_URL.optional(env)
        if legacy is not None:
            parsed = urlparse(legacy)
            loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
            # Passwords travel in this request: only TLS, except to a loopback test server.
            if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
                raise SettingsError(f"LEGACY_AUTH_URL must be an https URL (got {legacy!r})")
        directory = USER_DIRECTORY_FUNCTION.optional(env)
        if directory is not None and not LAMBDA_FUNCTION_REF.fullmatch(directory):
            raise SettingsError(
                "USER_DIRECTORY_FUNCTION must be a Lambda function name or ARN "
                f"(optionally with an alias), got {directory!r}"
            )
        return cls(
            region=AWS_REGION.required(env),
            peer_pools=tuple(pools),
            legacy_auth_url=legacy,
            pool_name=pool_name,
            peer_regions=tuple(regions),
            migration_client_name=client_name,
            user_directory_function=directory,
        )


@dataclass(frozen=True)
class AuthorizerSettings:
    """Which pools the token authorizer trusts: the deterministic name in every region."""

    user_pool_name: str
    regions: tuple[str, ...]
    token_use: Literal["id", "access"]
    log_level: str
    # Tokens of any other client of the same pools are refused (R-AUTH-4).
    app_client_names: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthorizerSettings:
        env = os.environ if env is None else env
        regions = USER_POOL_REGIONS.json(env, None)
        if (
            not isinstance(regions, list)
            or not regions
            or not all(isinstance(r, str) and r for r in regions)
        ):
            raise SettingsError(
                'USER_POOL_REGIONS must be a non-empty JSON list like ["eu-west-1"]'
            )
        clients = APP_CLIENT_NAMES.json(env, None)
        if (
            not isinstance(clients, list)
            or not clients
            or not all(isinstance(c, str) and c for c in clients)
        ):
            raise SettingsError('APP_CLIENT_NAMES must be a non-empty JSON list like ["web"]')
        if names.MIGRATION_CLIENT_NAME in clients:
            # That client signs the peer region's trigger in; its tokens are not API tokens.
            raise SettingsError(
                f"APP_CLIENT_NAMES must not list {names.MIGRATION_CLIENT_NAME!r}, the client "
                "the peer region's migration trigger authenticates through"
            )
        return cls(
            user_pool_name=USER_POOL_NAME.required(env),
            regions=tuple(regions),
            token_use=TOKEN_USE.choice(env, ("id", "access"), "id"),  # type: ignore[arg-type]
            log_level=LOG_LEVEL.choice(env, LOG_LEVELS, "INFO"),
            app_client_names=tuple(clients),
        )


@dataclass(frozen=True)
class PushRelaySettings:
    """The serving regions whose device endpoints the push relay may reach."""

    regions: tuple[str, ...]
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PushRelaySettings:
        env = os.environ if env is None else env
        regions = PUSH_REGIONS.json(env, None)
        if (
            not isinstance(regions, list)
            or not regions
            or not all(isinstance(r, str) and r for r in regions)
        ):
            raise SettingsError('PUSH_REGIONS must be a non-empty JSON list like ["eu-west-1"]')
        return cls(regions=tuple(regions), log_level=LOG_LEVEL.choice(env, LOG_LEVELS, "INFO"))


@dataclass(frozen=True)
class DbRotationSettings:
    """The rotation function connects to the cluster named in the secret itself."""

    sslmode: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DbRotationSettings:
        env = os.environ if env is None else env
        return cls(sslmode=DB_SSLMODE.choice(env, SSL_MODES, "require"))


@dataclass(frozen=True)
class WebAclRef:
    region: str
    name: str


@dataclass(frozen=True)
class RotationConfig:
    """Where the origin-verify rotation writes: the distribution and every regional WAF."""

    distribution_id: str
    origin_id: str
    header_name: str
    rule_name: str
    web_acls: tuple[WebAclRef, ...]
    # WAF changes take up to about a minute to reach every WAF host.
    waf_propagation_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RotationConfig:
        env = os.environ if env is None else env
        missing = [
            v.name
            for v in (DISTRIBUTION_ID, ORIGIN_ID, HEADER_NAME, RULE_NAME, WEB_ACLS)
            if not v.raw(env)
        ]
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        raw = WEB_ACLS.json(env, [])
        if not isinstance(raw, list) or not all(
            isinstance(a, dict) and isinstance(a.get("region"), str) and a.get("name") for a in raw
        ):
            raise SettingsError('WEB_ACLS must be a JSON list of {"region": ..., "name": ...}')
        acls = tuple(WebAclRef(a["region"], a["name"]) for a in raw)
        if not acls:
            raise SettingsError("WEB_ACLS lists no web ACL")
        try:
            propagation = float(WAF_PROPAGATION_SECONDS.raw(env) or "60")
        except ValueError as exc:
            raise SettingsError("WAF_PROPAGATION_SECONDS must be a number of seconds") from exc
        return cls(
            distribution_id=DISTRIBUTION_ID.required(env),
            origin_id=ORIGIN_ID.required(env),
            header_name=HEADER_NAME.required(env),
            rule_name=RULE_NAME.required(env),
            web_acls=acls,
            waf_propagation_seconds=propagation,
        )


# --- Per-function schemas ---------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    """What one handler reads from its environment.

    ``required``: the stack must set them (a wiring gap otherwise); ``optional``: the stack
    may set them (a tunable with a default, or a source that may be absent); ``runtime``:
    Lambda sets them. ``parse`` is the handler's own settings code.
    """

    function: str
    required: frozenset[Variable]
    optional: frozenset[Variable]
    parse: Callable[[Mapping[str, str]], Any]
    runtime: frozenset[Variable] = frozenset({AWS_REGION, AWS_LAMBDA_FUNCTION_NAME})

    @property
    def names(self) -> frozenset[str]:
        return frozenset(v.name for v in self.required | self.optional | self.runtime)

    def problems(self, names: Iterable[str]) -> list[str]:
        """Each way an environment with these variable names breaks the handler."""
        given = set(names)
        runtime = {v.name for v in self.runtime}
        problems = [
            f"{v.name} is not set ({v.hint or 'the handler requires it'})"
            for v in sorted(self.required, key=lambda v: v.name)
            if v.name not in given
        ]
        problems += [
            f"{name} is set by the Lambda runtime; a stack must not set it"
            for name in sorted(given & runtime)
        ]
        problems += [
            f"{name} is not read by the {self.function} handler (typo, or a variable to "
            "add to contract/environment.py)"
            for name in sorted(given - self.names)
        ]
        return problems

    def build(self, values: Mapping[Variable, Any]) -> dict[str, Any]:
        """The environment as a name → value dict; refuses what ``problems`` reports."""
        environment = {variable.name: value for variable, value in values.items()}
        problems = self.problems(environment)
        if problems:
            raise SettingsError(f"function {self.function}: " + "; ".join(problems))
        return environment

    def validate(self, environment: Mapping[str, str], *, region: str, function_name: str):
        """Parse a deployed environment as the handler will, with what Lambda adds."""
        runtime = {AWS_REGION.name: region, AWS_LAMBDA_FUNCTION_NAME.name: function_name}
        try:
            return self.parse({**environment, **runtime})
        except SettingsError as exc:
            raise SettingsError(f"function {self.function} ({function_name}): {exc}") from exc


TELEMETRY = frozenset({POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE})
DB_REQUIRED = frozenset(
    {APP_ROLE_HINT, DB_AUTH, DB_HOST, DB_READER_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE}
)
# DB_SECRET_ARN: required with DB_AUTH=secret, which the parser checks on the values.
DB_OPTIONAL = frozenset({DB_SECRET_ARN, DB_STARTUP_OPTIONS})


def _db_function(env: Mapping[str, str]) -> tuple[Telemetry, DbSettings]:
    return Telemetry.from_env(env), DbSettings.from_env(env)


def _api(env: Mapping[str, str]) -> tuple[Telemetry, DbSettings, ApiSettings]:
    return Telemetry.from_env(env), DbSettings.from_env(env), ApiSettings.from_env(env)


def _user_migration(env: Mapping[str, str]) -> tuple[Telemetry, MigrationTriggerSettings]:
    return Telemetry.from_env(env), MigrationTriggerSettings.from_env(env)


def _db_rotation(env: Mapping[str, str]) -> tuple[Telemetry, DbRotationSettings]:
    return Telemetry.from_env(env), DbRotationSettings.from_env(env)


def _origin_verify_rotation(env: Mapping[str, str]) -> tuple[RotationConfig, str]:
    return RotationConfig.from_env(env), LOG_LEVEL.choice(env, LOG_LEVELS, "INFO")


SCHEMAS: dict[str, Schema] = {
    schema.function: schema
    for schema in (
        Schema(
            "api",
            required=TELEMETRY
            | DB_REQUIRED
            | {EVENTS_TOPIC_ARN, ASSETS_BUCKET, PUSH_PLATFORM_APPLICATIONS, PUSH_RELAY_FUNCTION},
            optional=DB_OPTIONAL | {LOG_LEVEL},
            parse=_api,
        ),
        # The functions that only need the database (and telemetry).
        *(
            Schema(
                function,
                required=TELEMETRY | DB_REQUIRED,
                optional=DB_OPTIONAL | {LOG_LEVEL},
                parse=_db_function,
            )
            for function in ("subscriber", "user_directory", "migrations")
        ),
        Schema(
            "dr_probe",
            required=TELEMETRY | DB_REQUIRED,
            optional=DB_OPTIONAL | {LOG_LEVEL},
            parse=_db_function,
        ),
        Schema(
            "user_migration",
            required=TELEMETRY
            | {USER_POOL_NAME, PEER_USER_POOL_REGIONS, MIGRATION_CLIENT_NAME}
            | {USER_DIRECTORY_FUNCTION},
            # The legacy directory is optional (config); PEER_USER_POOLS is a static list
            # for tests and make dev, where pools cannot be discovered by name.
            optional=frozenset({LOG_LEVEL, LEGACY_AUTH_URL, PEER_USER_POOLS}),
            parse=_user_migration,
        ),
        Schema(
            "authorizer",
            required=frozenset({USER_POOL_NAME, USER_POOL_REGIONS, TOKEN_USE, APP_CLIENT_NAMES}),
            optional=frozenset({LOG_LEVEL}),
            parse=AuthorizerSettings.from_env,
        ),
        Schema(
            "push_relay",
            required=frozenset({PUSH_REGIONS}),
            optional=frozenset({LOG_LEVEL}),
            parse=PushRelaySettings.from_env,
        ),
        Schema(
            "db_rotation",
            required=TELEMETRY | {DB_SSLMODE},
            optional=frozenset({LOG_LEVEL}),
            parse=_db_rotation,
        ),
        Schema(
            "origin_verify_rotation",
            required=frozenset({DISTRIBUTION_ID, ORIGIN_ID, HEADER_NAME, RULE_NAME, WEB_ACLS}),
            optional=frozenset({LOG_LEVEL, WAF_PROPAGATION_SECONDS}),
            parse=_origin_verify_rotation,
        ),
    )
}


def schema(function: str) -> Schema:
    try:
        return SCHEMAS[function]
    except KeyError:
        raise SettingsError(
            f"no environment schema for function {function!r}; add it to "
            "contract/environment.py SCHEMAS"
        ) from None
