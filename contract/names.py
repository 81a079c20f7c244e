"""Physical names both halves derive from the environment (and region): what the stacks
create and what the functions, the DR tool and the local backend look up by name.

Deterministic names are what let a function in one region find a resource of another stack
without a cross-stack reference (peer user pools, every regional web ACL).
"""

from __future__ import annotations

PROJECT = "mobile-backend"
# S3 bucket names are global and at most 63 characters.
S3_BUCKET_NAME_MAX = 63


def prefix(environment: str) -> str:
    """``mobile-backend-<env>``: the stem of every per-environment physical name."""
    return f"{PROJECT}-{environment}"


def regional_prefix(environment: str, region: str) -> str:
    return f"{prefix(environment)}-{region}"


def global_prefix(environment: str) -> str:
    """Stem of what the global stack names once for all regions (its alarms)."""
    return f"{prefix(environment)}-global"


def alias_prefix(environment: str) -> str:
    """Stem of KMS aliases and secret names: ``mobile-backend/<env>``."""
    return f"{PROJECT}/{environment}"


# Lambda functions ---------------------------------------------------------------------------
def function_name(environment: str, function: str) -> str:
    """``api`` → ``mobile-backend-prod-api``; ``user_migration`` → ``…-user-migration``."""
    return f"{prefix(environment)}-{function.replace('_', '-')}"


def layer_name(environment: str, architecture: str) -> str:
    return f"{prefix(environment)}-deps-{architecture}"


def signing_profile_prefix(environment: str, region: str) -> str:
    """Name prefix of a region's AWS Signer profile for Lambda code: Signer allows letters,
    digits and ``_`` only (64 at most), and never reuses a cancelled profile's name, so the
    profile gets a generated suffix."""
    return f"{prefix(environment)}-{region}-".replace("-", "_")


def lambda_function_arn(
    region: str, account_id: str, name: str, qualifier: str | None = None
) -> str:
    """A function's ARN from its physical name (names are the same in every region, so a
    stack can name another region's function without a cross-stack reference)."""
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


# Cognito ------------------------------------------------------------------------------------
def user_pool_name(environment: str) -> str:
    """The same in every region, so every region finds every pool by name."""
    return f"{prefix(environment)}-users"


# App clients of each pool. The migration client is the one the trigger of a peer region
# authenticates through (ADMIN_USER_PASSWORD_AUTH); the others are what apps sign in with.
WEB_CLIENT = "web"
MOBILE_CLIENT = "mobile"
MIGRATION_CLIENT_NAME = "migration"
# The clients whose tokens the API takes (R-AUTH-4): never the migration client.
API_CLIENT_NAMES = (WEB_CLIENT, MOBILE_CLIENT)


# Messaging ----------------------------------------------------------------------------------
def events_topic_name(environment: str) -> str:
    return f"{prefix(environment)}-events"


def events_queue_name(environment: str) -> str:
    return f"{prefix(environment)}-events"


def events_dlq_name(environment: str) -> str:
    return f"{prefix(environment)}-events-dlq"


def events_delivery_dlq_name(environment: str) -> str:
    return f"{prefix(environment)}-events-delivery-dlq"


def push_application_name(environment: str, platform: str) -> str:
    return f"{prefix(environment)}-{platform}"


# Storage ------------------------------------------------------------------------------------
def bucket_name(environment: str, purpose: str, region: str, account_id: str) -> str:
    """Deterministic, globally unique bucket name (the account id makes it unique), shortened
    to the ``mb-`` stem when the long form exceeds 63 characters."""
    name = f"{prefix(environment)}-{purpose}-{region}-{account_id}"
    if len(name) > S3_BUCKET_NAME_MAX:
        name = f"mb-{environment}-{purpose}-{region}-{account_id}"
    if len(name) > S3_BUCKET_NAME_MAX:
        raise ValueError(f"bucket name {name!r} is longer than {S3_BUCKET_NAME_MAX} characters")
    return name


# Every object a user uploads lives under this prefix, then the user's id.
UPLOADS_PREFIX = "uploads/"

# Data ---------------------------------------------------------------------------------------
DB_NAME = "mobile"
# Not "postgres": a non-default master user name is one guess fewer for an attacker (R-DATA-1).
MASTER_USERNAME = "mobile_admin"
# The application's login (api, subscriber, user_directory): table DML via the `app_rw`
# group role, no DDL, no role management.
APP_USERNAME = "app_user"
DB_PORT = 5432


def global_cluster_identifier(environment: str) -> str:
    return prefix(environment)


def cluster_identifier(environment: str, region: str) -> str:
    return regional_prefix(environment, region)


def db_secret_name(environment: str) -> str:
    return f"{alias_prefix(environment)}/db/master"


def db_app_secret_name(environment: str) -> str:
    return f"{alias_prefix(environment)}/db/app"


def proxy_name(environment: str) -> str:
    return f"{prefix(environment)}-db"


# Edge and the regional WAF ------------------------------------------------------------------
# The header CloudFront adds on the API origin, and the regional web ACL + rule that check it.
# The origin-verify rotation function finds every regional web ACL by its name.
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
ORIGIN_VERIFY_RULE_NAME = "origin-verify"
# CloudFront forwards /api/* unchanged; the regional custom domain maps base path "api".
API_PATH_PREFIX = "api"
# The API's unauthenticated route (R-FN-3), below the stage's path: Route 53 probes
# <stage invoke URL><HEALTH_ROUTE> (the regional WAF lets exactly that path through), and the
# DR tool derives the same URL from a regional stack's apiUrl output.
HEALTH_ROUTE = "/health"


def api_web_acl_name(environment: str, region: str) -> str:
    return f"{prefix(environment)}-api-{region}"


def dnssec_key_signing_key_name(environment: str) -> str:
    """Route 53 key-signing keys allow letters, digits and ``_`` only."""
    return f"{prefix(environment)}-ksk".replace("-", "_")


def route53_query_log_group(domain: str) -> str:
    """AWS's convention for a public zone's query log group (us-east-1)."""
    return f"/aws/route53/{domain}"


def origin_verify_secret_name(environment: str) -> str:
    return f"{alias_prefix(environment)}/origin-verify"


def rest_api_name(environment: str) -> str:
    return f"{prefix(environment)}-api"


# Observability ------------------------------------------------------------------------------
def trail_name(environment: str) -> str:
    return f"{prefix(environment)}-audit"


# Disaster recovery (ARC Region switch, docs/dr.md) -----------------------------------------
# AWS fixes a Region switch plan's regions at exactly two and its name at 32 characters of
# [A-Za-z0-9-]: one plan per pair of serving regions, named after the pair.
REGION_SWITCH_PLAN_NAME_MAX = 32
_DIRECTIONS = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def region_code(region: str) -> str:
    """``eu-west-1`` → ``euw1``, ``ap-southeast-2`` → ``apse2`` (the usual short form)."""
    country, *words, number = region.split("-")
    return country + "".join(_DIRECTIONS.get(word, word[:1]) for word in words) + number


def region_switch_plan_name(environment: str, regions: tuple[str, str]) -> str:
    """``mobile-backend-prod-euw1-usw1``: the plan for one pair, in a stable order; the
    ``mb-`` stem when the long form exceeds AWS's 32 characters."""
    codes = "-".join(region_code(region) for region in sorted(regions))
    name = f"{prefix(environment)}-{codes}"
    if len(name) > REGION_SWITCH_PLAN_NAME_MAX:
        name = f"mb-{environment}-{codes}"
    if len(name) > REGION_SWITCH_PLAN_NAME_MAX:
        raise ValueError(
            f"Region switch plan name {name!r} is longer than {REGION_SWITCH_PLAN_NAME_MAX} "
            "characters: use a shorter environment name"
        )
    return name


# The dr_probe function answers two custom steps of a plan, one alias each: Lambda gives the
# handler the ARN it was invoked through, qualifier included, and the alias picks the check.
DR_PROBE_WRITER_ALIAS = "verify-writer"
DR_PROBE_SMOKE_ALIAS = "smoke"
DR_PROBE_ALIASES = (DR_PROBE_WRITER_ALIAS, DR_PROBE_SMOKE_ALIAS)


# Operations (R-OPS-1, R-OPS-3) ----------------------------------------------------------------
def codedeploy_application_name(environment: str) -> str:
    """The region's CodeDeploy application; its deployment groups are named after the
    functions they release."""
    return f"{prefix(environment)}-releases"


def query_folder(environment: str) -> str:
    """Logs Insights shows a saved query named ``a/b/c`` in folder ``a/b``."""
    return f"{PROJECT}/{environment}"


# App keys (R-OPS-2): one API key and usage plan per app client. A key identifies an app
# (its throttle and quota), never a user, and ships inside the app: it is not a secret.
APP_KEY_CLIENTS = ("ios", "android", "web")
API_KEY_HEADER = "x-api-key"


def usage_plan_name(environment: str, app: str) -> str:
    return f"{prefix(environment)}-{app}"


def api_key_name(environment: str, app: str) -> str:
    return f"{prefix(environment)}-{app}"


# The alias every app function is invoked through (API Gateway, the event source mapping,
# Cognito); provisioned concurrency and releases act on it.
LIVE_ALIAS = "live"
