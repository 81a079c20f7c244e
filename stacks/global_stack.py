"""The global stack: what spans regions (edge in us-east-1, DNS, the Aurora global cluster,
cross-region pairs). One provider per region it touches, all made here."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.keys import Keys, KeysArgs, ReplicatedKey, ReplicatedKeyArgs
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

    # The domain's public zone, adopted by name (the edge tier may create it instead).
    hosted_zone = aws.route53.get_zone_output(
        name=settings.domain, private_zone=False, opts=pulumi.InvokeOptions(provider=edge)
    )

    return contract.global_exports(
        {
            contract.HOSTED_ZONE_ID: hosted_zone.zone_id,
            contract.REPLICATED_SECRETS_KEY_ARNS: replicated_secrets.arns,
            contract.DOMAIN: settings.domain,
            contract.PRIMARY_REGION: settings.primary_region,
            contract.REGIONS: list(settings.region_names),
        }
    )
