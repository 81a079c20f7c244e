"""A regional stack: everything that lives in one serving region. It reads the global stack
only through the contract (R-STACK-2)."""

from __future__ import annotations

import pulumi

from components.alerts import AlarmTopic, AlarmTopicArgs
from components.database import Database, DatabaseArgs, DatabaseCode
from components.keys import Keys, KeysArgs
from components.network import Network, NetworkArgs
from settings import Settings
from stacks import artifacts, contract
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


def _for_region(by_region: pulumi.Output, region: str) -> pulumi.Output:
    """This region's entry of a region → value global output, or the deploy-order fix."""

    def pick(mapping: dict) -> str:
        if region not in mapping:
            raise pulumi.RunError(
                f"the global stack has no entry for {region} (it knows {sorted(mapping)}). "
                "Fix: deploy the global stack first (global → primary → secondaries)."
            )
        return mapping[region]

    return by_region.apply(pick)


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

    data = settings.data
    region = regional.region
    database = Database(
        "database",
        DatabaseArgs(
            environment=settings.environment,
            region=region,
            account_id=account,
            is_primary=regional.is_primary,
            is_secret_home=region == data.secret_home_region,
            global_cluster_id=global_stack.require(contract.DB_GLOBAL_CLUSTER_ID),
            engine_version=global_stack.require(contract.DB_ENGINE_VERSION),
            secret_arn=_for_region(global_stack.require(contract.DB_SECRET_ARNS), region),
            secrets_key_arn=_for_region(
                global_stack.require(contract.REPLICATED_SECRETS_KEY_ARNS), region
            ),
            data_key_arn=keys.arns["data"],
            logs_key_arn=keys.arns["logs"],
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            availability_zones=network.availability_zones,
            endpoint_security_group_id=network.endpoint_security_group_id,
            alarm_topic_arn=alarms.topic_arn,
            min_capacity=regional.db_capacity.min,
            max_capacity=regional.db_capacity.max,
            instance_count=data.instance_count,
            log_retention_days=settings.log_retention_days,
            rotation_days=data.secret_rotation_days,
            write_forward_consistency=data.write_forward_consistency,
            rpo_seconds=data.rpo_seconds,
            code=DatabaseCode(
                migrations=artifacts.function_code("migrations"),
                rotation=artifacts.function_code("db_rotation"),
                layer=artifacts.layer_code("arm64"),
                migrations_checksum=artifacts.migrations_checksum(),
            ),
        ),
        opts=in_region(provider),
    )

    return {
        contract.REGIONAL_DB_CLUSTER_ID: database.cluster_identifier,
        contract.REGIONAL_DB_PROXY_ENDPOINT: database.proxy_endpoint,
        contract.REGIONAL_DB_PROXY_READER_ENDPOINT: database.proxy_reader_endpoint,
        contract.REGIONAL_DB_SECRET_ARN: database.secret_arn,
        contract.REGIONAL_REGION: regional.region,
        contract.REGIONAL_ROLE: "primary" if regional.is_primary else "secondary",
        contract.REGIONAL_PRIMARY_REGION: topology,
        contract.REGIONAL_VPC_ID: network.vpc_id,
        contract.REGIONAL_PRIVATE_SUBNET_IDS: network.private_subnet_ids,
        contract.REGIONAL_ALARM_TOPIC_ARN: alarms.topic_arn,
    }
