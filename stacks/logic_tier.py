"""Wiring of the logic and identity tiers into a regional stack (docs/logic.md).

Kept apart from ``regional_stack.py`` so that file only gains one call: functions, identity,
the REST API from the committed OpenAPI document, the regional WAF and ``api.<domain>``.
Inputs owned by other regional tiers (database endpoints and grants, events topic, push
applications) arrive as arguments and are passed through as they are; what the global stack
owns (the hosted zone, this region's assets bucket and its key) is read from it here. None is
invented here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.api import STAGE, Api, ApiArgs
from components.api_domain import ApiDomain, ApiDomainArgs
from components.app_functions import AppFunctions, AppFunctionsArgs
from components.app_keys import AppKeys, AppKeysArgs, UsageLimits
from components.code_signing import FunctionSecurity
from components.function import ALIAS
from components.identity import Identity, IdentityArgs
from components.regional_waf import RegionalWaf, RegionalWafArgs
from contract.environment import Variable
from settings import Settings
from stacks import artifacts, contract
from stacks.providers import in_region

OPENAPI_DOCUMENT = artifacts.ROOT / "openapi" / "openapi.json"
# CloudFront forwards /api/* unchanged to api.<domain>; the stage is named and mapped "api",
# so /api/<route> is the same path on the custom domain and the default endpoint.
BASE_PATH = STAGE
HEALTH_CHECK_PATH = f"/{STAGE}{contract.HEALTH_ROUTE}"


@dataclass
class LogicTier:
    functions: AppFunctions
    identity: Identity
    api: Api
    waf: RegionalWaf
    domain: ApiDomain
    app_keys: AppKeys

    def outputs(self) -> dict[str, pulumi.Input]:
        return {
            contract.REGIONAL_API_URL: self.api.invoke_url,
            contract.REGIONAL_API_HEALTH_CHECK_ID: self.domain.health_check_id,
            contract.REGIONAL_WEB_ACL_ARN: self.waf.web_acl_arn,
            contract.REGIONAL_USER_POOL_ID: self.identity.user_pool_id,
            contract.REGIONAL_USER_POOL_CLIENT_IDS: self.identity.client_ids,
            contract.REGIONAL_IDENTITY_POOL_ID: self.identity.identity_pool_id,
        }


def load_openapi(path=OPENAPI_DOCUMENT) -> dict[str, Any]:
    if not path.is_file():
        raise pulumi.RunError(
            f"{path} is missing. Fix: generate it with `make openapi` (api handler) and commit it."
        )
    return json.loads(path.read_text())


def build_logic_tier(
    settings: Settings,
    *,
    provider,
    account_id: pulumi.Input[str],
    keys_arns: Mapping[str, pulumi.Input[str]],
    vpc_id: pulumi.Input[str],
    private_subnet_ids: pulumi.Input[Sequence[str]],
    global_stack: contract.GlobalStack,
    db_environment: Mapping[Variable, pulumi.Input[str]],
    db_statements: Sequence[Mapping[str, Any]],
    events_topic_arn: pulumi.Input[str],
    layer_arn: pulumi.Input[str],
    api_statements: Sequence[Mapping[str, Any]],
    push_env_json: pulumi.Input[str],
    extra_security_group_ids: Sequence[pulumi.Input[str]],
    subscriber_statements: Sequence[Mapping[str, Any]],
    security: FunctionSecurity,
    push_relay_statements: Sequence[Mapping[str, Any]],
) -> LogicTier:
    regional = settings.regional
    assert regional is not None
    config = regional.logic
    opts = in_region(provider)
    env = settings.environment
    # The API presigns uploads into this region's bucket; identity-pool credentials reach the
    # same bucket. Both need its key: the bucket encrypts with SSE-KMS.
    assets_bucket = global_stack.require_for_region(contract.ASSETS_BUCKETS, regional.region)
    assets_key_arn = global_stack.require_for_region(contract.ASSETS_KEY_ARNS, regional.region)

    # "logic": the resource name it was deployed under (URN-stable across the rename).
    functions = AppFunctions(
        "logic",
        AppFunctionsArgs(
            environment=env,
            region=regional.region,
            regions=settings.region_names,
            is_primary=regional.is_primary,
            account_id=account_id,
            vpc_id=vpc_id,
            vpc_cidr=regional.cidr,
            private_subnet_ids=private_subnet_ids,
            logs_key_arn=keys_arns["logs"],
            log_retention_days=settings.log_retention_days,
            security=security,
            code={fn: artifacts.function_code(fn) for fn in AppFunctions.FUNCTIONS},
            layer_arn=layer_arn,
            reserved_concurrency=regional.reserved_concurrency,
            provisioned_concurrency=regional.provisioned_concurrency,
            snap_start=regional.snap_start,
            db_environment=db_environment,
            db_statements=db_statements,
            events_topic_arn=events_topic_arn,
            assets_bucket_name=assets_bucket.apply(lambda bucket: bucket["name"]),
            assets_key_arn=assets_key_arn,
            api_statements=api_statements,
            push_env_json=push_env_json,
            extra_security_group_ids=extra_security_group_ids,
            extra_statements={
                "subscriber": subscriber_statements,
                "push_relay": push_relay_statements,
            },
            legacy_auth_url=config.legacy_auth_url,
        ),
        opts=opts,
    )
    identity = Identity(
        "identity",
        IdentityArgs(
            environment=env,
            region=regional.region,
            account_id=account_id,
            mfa=config.mfa,
            migration_function_name=functions.user_migration.function.name,
            migration_alias_arn=functions.user_migration.alias_arn,
            migration_qualifier=ALIAS,
            web_callback_urls=[f"https://{settings.domain}/auth/callback"],
            mobile_callback_urls=["examplehealth://auth/callback"],
            federation=config.federation,
            deletion_protection=settings.deletion_protection,
            assets_bucket_arn=assets_bucket.apply(lambda bucket: bucket["arn"]),
            assets_key_arn=assets_key_arn,
        ),
        opts=opts,
    )
    api = Api(
        "api",
        ApiArgs(
            environment=env,
            region=regional.region,
            account_id=account_id,
            document=load_openapi(),
            api_function_name=functions.api.function.name,
            api_invoke_arn=functions.api.invoke_arn,
            authorizer_function_name=functions.authorizer.function.name,
            authorizer_invoke_arn=functions.authorizer.invoke_arn,
            qualifier=ALIAS,
            logs_key_arn=keys_arns["logs"],
            log_retention_days=settings.log_retention_days,
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            logging_level=config.api_logging_level,
        ),
        opts=opts,
    )
    # R-OPS-2: one key and usage plan per app client on the stage, keys valued by the global
    # stack so every region accepts the same app.
    app_keys = AppKeys(
        "app-keys",
        AppKeysArgs(
            environment=env,
            rest_api_id=api.rest_api_id,
            stage_name=api.stage_name,
            key_values=global_stack.require(contract.APP_KEYS),
            limits={
                app: UsageLimits(plan.rate_limit, plan.burst_limit, plan.daily_quota)
                for app, plan in regional.usage_plans.items()
            },
        ),
        opts=opts,
    )
    waf = RegionalWaf(
        "api-waf",
        RegionalWafArgs(
            environment=env,
            region=regional.region,
            stage_arn=api.stage_arn,
            rate_limit=config.waf_rate_limit,
            health_path=HEALTH_CHECK_PATH,
            logs_key_arn=keys_arns["logs"],
            log_retention_days=settings.log_retention_days,
            web_acl_name=contract.api_web_acl_name(env, regional.region),
            origin_verify_secret_name=contract.origin_verify_secret_name(env),
        ),
        opts=opts,
    )
    domain = ApiDomain(
        "api-domain",
        ApiDomainArgs(
            domain_name=f"api.{settings.domain}",
            region=regional.region,
            hosted_zone_id=global_stack.require(contract.HOSTED_ZONE_ID),
            rest_api_id=api.rest_api_id,
            stage_name=api.stage_name,
            base_path=BASE_PATH,
            health_check_host=api.endpoint_host,
            health_check_path=HEALTH_CHECK_PATH,
            health_check_interval=config.health_check_interval,
            health_check_failure_threshold=config.health_check_failure_threshold,
            ttl_seconds=config.dns_ttl_seconds,
            region_switch_health_check_ids=global_stack.require_for_region(
                contract.REGION_SWITCH_HEALTH_CHECK_IDS, regional.region
            ),
        ),
        opts=opts,
    )
    return LogicTier(
        functions=functions,
        identity=identity,
        api=api,
        waf=waf,
        domain=domain,
        app_keys=app_keys,
    )
