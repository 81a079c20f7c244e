"""A regional stack: everything that lives in one serving region. It reads the global stack
only through the contract (R-STACK-2)."""

from __future__ import annotations

import pulumi

from components.alerts import AlarmTopic, AlarmTopicArgs
from components.keys import Keys, KeysArgs
from components.network import Network, NetworkArgs
from settings import Settings
from stacks import contract
from stacks.logic_tier import build_logic_tier
from stacks.providers import account_id, aws_provider, in_region


def _check_topology(settings: Settings, deployed_primary: str, deployed_regions: list) -> str:
    region = settings.regional.region if settings.regional else "?"
    if deployed_primary != settings.primary_region or list(deployed_regions) != list(
        settings.region_names
    ):
        raise pulumi.RunError(
            f"the global stack was deployed with primaryRegion={deployed_primary} "
            f"regions={list(deployed_regions)}, but this stack ({region}) is configured with "
            f"primaryRegion={settings.primary_region} regions={list(settings.region_names)}. "
            "Fix: deploy the global stack first (global → primary → secondaries)."
        )
    return deployed_primary


def build_regional(settings: Settings) -> dict[str, pulumi.Input]:
    regional = settings.regional
    assert regional is not None
    provider = aws_provider(settings, regional.region)
    account = account_id(provider)
    global_stack = contract.GlobalStack("global", regional.global_stack)

    topology = pulumi.Output.all(
        global_stack.require(contract.PRIMARY_REGION), global_stack.require(contract.REGIONS)
    ).apply(lambda values: _check_topology(settings, values[0], values[1]))

    keys = Keys(
        "keys",
        KeysArgs(
            account_id=account,
            region=regional.region,
            environment=settings.environment,
            alias_prefix=f"mobile-backend/{settings.environment}",
        ),
        opts=in_region(provider),
    )
    network = Network(
        "network",
        NetworkArgs(
            cidr=regional.cidr,
            az_count=regional.az_count,
            account_id=account,
            region=regional.region,
            logs_key_arn=keys.arns["logs"],
            log_retention_days=settings.log_retention_days,
        ),
        opts=in_region(provider),
    )
    alarms = AlarmTopic(
        "alarms",
        AlarmTopicArgs(
            account_id=account,
            messaging_key_arn=keys.arns["messaging"],
            email=settings.alarm_email,
        ),
        opts=in_region(provider),
    )

    # Logic and identity tiers (docs/logic.md). Database, messaging, storage and push inputs
    # are connected here as those tiers land.
    logic_tier = build_logic_tier(
        settings,
        provider=provider,
        account_id=account,
        keys_arns=keys.arns,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        global_stack=global_stack,
    )

    return {
        **logic_tier.outputs(),
        contract.REGIONAL_REGION: regional.region,
        contract.REGIONAL_ROLE: "primary" if regional.is_primary else "secondary",
        contract.REGIONAL_PRIMARY_REGION: topology,
        contract.REGIONAL_VPC_ID: network.vpc_id,
        contract.REGIONAL_PRIVATE_SUBNET_IDS: network.private_subnet_ids,
        contract.REGIONAL_ALARM_TOPIC_ARN: alarms.topic_arn,
    }
