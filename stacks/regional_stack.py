"""A regional stack: everything that lives in one serving region. It reads the global stack
only through the contract (R-STACK-2)."""

from __future__ import annotations

import pulumi

from components.alarms import Alarms, AlarmsArgs, QueueTarget
from components.alerts import AlarmTopic, AlarmTopicArgs
from components.audit import SecurityGroupWatch, SecurityGroupWatchArgs
from components.database import Database, DatabaseArgs, DatabaseCode
from components.keys import Keys, KeysArgs
from components.messaging import Messaging, MessagingArgs, PushPlatforms, PushPlatformsArgs
from components.network import Network, NetworkArgs
from settings import EDGE_REGION, Settings
from stacks import artifacts, contract
from stacks.providers import account_id, aws_provider, in_region

# The subscriber Function's timeout (logic tier passes the same value to its Function): the
# events queue's visibility timeout is derived from it (>= 6 x timeout + batching window).
SUBSCRIBER_TIMEOUT_SECONDS = 30


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

    messaging = Messaging(
        "messaging",
        MessagingArgs(
            account_id=account,
            region=regional.region,
            environment=settings.environment,
            messaging_key_arn=keys.arns["messaging"],
            subscriber_timeout_seconds=SUBSCRIBER_TIMEOUT_SECONDS,
            batch_size=regional.messaging.subscriber_batch_size,
            batch_window_seconds=regional.messaging.subscriber_batch_window_seconds,
            max_receive_count=regional.messaging.dlq_max_receive_count,
            # Lead: subscriber_arn=subscriber.alias_arn,
            # subscriber_max_concurrency=regional.reserved_concurrency["subscriber"],
        ),
        opts=in_region(provider),
    )
    # Lead: api statements += messaging.publisher_statements + push.statements,
    # env PUSH_PLATFORM_APPLICATIONS=push.env_json, EVENTS_TOPIC_ARN=messaging.topic_arn.
    push = PushPlatforms(
        "push",
        PushPlatformsArgs(
            account_id=account,
            region=regional.region,
            environment=settings.environment,
            apns=regional.push.apns,
            fcm=regional.push.fcm,
        ),
        opts=in_region(provider),
    )

    # Lead: add api=ApiTarget(...), functions={fn: FunctionTarget(...)}, database=...,
    # replication=[ReplicationTarget(...)], waf=WafTarget(...), business=BusinessTarget(...).
    slo_alarms = Alarms(
        "slo-alarms",
        AlarmsArgs(
            topic_arn=alarms.topic_arn,
            name_prefix=f"mobile-backend-{settings.environment}-{regional.region}",
            region=regional.region,
            queue=QueueTarget(
                queue_name=messaging.queue_name,
                dead_letter_queue_names=[messaging.dlq_name, messaging.delivery_dlq_name],
            ),
            dashboard_name=f"mobile-backend-{settings.environment}-{regional.region}",
        ),
        opts=in_region(provider),
    )
    # Route 53 publishes health-check metrics only in us-east-1: this region's health-check
    # alarms live there, notifying a topic (and key) of their own in that region.
    # Health-check alarms carry check ids and states, never personal data: tagged "internal",
    # they are not a GDPR transfer when an EU stack places them in us-east-1.
    edge = (
        provider
        if regional.region == EDGE_REGION
        else aws_provider(settings, EDGE_REGION, data_classification="internal")
    )
    health_keys = Keys(
        "health-keys",
        KeysArgs(
            account_id=account,
            region=EDGE_REGION,
            environment=settings.environment,
            alias_prefix=f"mobile-backend/{settings.environment}/{regional.region}-health",
            purposes=("messaging",),
        ),
        opts=in_region(edge),
    )
    health_alarm_topic = AlarmTopic(
        "health-alarm-topic",
        AlarmTopicArgs(
            account_id=account,
            messaging_key_arn=health_keys.arns["messaging"],
            email=settings.alarm_email,
        ),
        opts=in_region(edge),
    )
    # Lead: Alarms("health-alarms", AlarmsArgs(topic_arn=health_alarm_topic.topic_arn,
    #   name_prefix=<as above>, region=EDGE_REGION, health_checks={"api": <check id>}),
    #   opts=in_region(edge))
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
    # R-OBS-3: any change to who can reach the database alerts the operators.
    SecurityGroupWatch(
        "sg-watch",
        SecurityGroupWatchArgs(
            topic_arn=alarms.topic_arn,
            security_group_ids=database.watched_security_group_ids,
            cluster_ids=[database.cluster_identifier],
            proxy_names=[database.proxy_name],
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
        contract.REGIONAL_EVENTS_TOPIC_ARN: messaging.topic_arn,
        contract.REGIONAL_EVENTS_QUEUE_URL: messaging.queue_url,
        contract.REGIONAL_EVENTS_DLQ_ARNS: [messaging.dlq_arn, messaging.delivery_dlq_arn],
        contract.REGIONAL_PUSH_PLATFORM_APPLICATIONS: push.env_json,
        contract.REGIONAL_HEALTH_ALARM_TOPIC_ARN: health_alarm_topic.topic_arn,
        contract.REGIONAL_DASHBOARD_NAME: slo_alarms.dashboard_name,
    }
