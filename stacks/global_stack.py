"""The global stack: what spans regions (edge in us-east-1, DNS, the Aurora global cluster,
cross-region pairs). One provider per region it touches, all made here."""

from __future__ import annotations

import pulumi

from components.keys import Keys, KeysArgs, ReplicatedKey, ReplicatedKeyArgs
from components.storage import (
    AccessLogBuckets,
    AccessLogBucketsArgs,
    ReplicatedAssets,
    ReplicatedAssetsArgs,
)
from settings import EDGE_REGION, Settings
from stacks import contract
from stacks.providers import account_id, aws_provider, in_region


def build_global(settings: Settings) -> dict[str, pulumi.Input]:
    assert settings.role == "global"
    # us-east-1 for CloudFront-bound resources, plus every serving region for the
    # cross-region pairs this stack owns; one provider per region even if they coincide.
    providers = {
        region: aws_provider(settings, region)
        for region in dict.fromkeys((EDGE_REGION, *settings.region_names))
    }
    edge = providers[EDGE_REGION]
    account = account_id(edge)

    # Edge-region keys for what the global stack encrypts there (WAF logs, trail, secrets).
    Keys(
        "edge-keys",
        KeysArgs(
            account_id=account,
            region=EDGE_REGION,
            environment=settings.environment,
            alias_prefix=f"mobile-backend/{settings.environment}/global",
            purposes=("logs", "secrets"),
        ),
        opts=in_region(edge),
    )

    serving = {region: providers[region] for region in settings.region_names}
    # Secrets the global stack replicates (DB credentials, origin-verify value) need a key in
    # every replica region before any regional stack exists: one multi-region key.
    replicated_secrets = ReplicatedKey(
        "replicated-secrets",
        ReplicatedKeyArgs(
            account_id=account,
            purpose="secrets",
            environment=settings.environment,
            home_region=settings.primary_region,
            alias_prefix=f"mobile-backend/{settings.environment}/replicated",
        ),
        providers=serving,
    )

    # Storage tier (issue 6): access-log buckets and both-ways replicated assets buckets.
    access_logs = AccessLogBuckets(
        "access-logs",
        AccessLogBucketsArgs(
            account_id=account,
            environment=settings.environment,
            log_retention_days=settings.log_retention_days,
        ),
        providers=serving,
    )
    assets = ReplicatedAssets(
        "assets",
        ReplicatedAssetsArgs(
            account_id=account,
            environment=settings.environment,
            log_buckets=access_logs.names,
            noncurrent_version_days=settings.edge.noncurrent_version_days,
        ),
        providers=serving,
    )

    return contract.global_exports(
        {
            contract.ASSETS_BUCKETS: assets.buckets,
            contract.ASSETS_KEY_ARNS: assets.key_arns,
            contract.REPLICATED_SECRETS_KEY_ARNS: replicated_secrets.arns,
            contract.DOMAIN: settings.domain,
            contract.PRIMARY_REGION: settings.primary_region,
            contract.REGIONS: list(settings.region_names),
        }
    )
