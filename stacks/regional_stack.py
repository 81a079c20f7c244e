"""A regional stack: everything that lives in one serving region. It reads the global stack
only through the contract (R-STACK-2)."""

from __future__ import annotations

import pulumi

from components.alarms import (
    API_5XX_KEY,
    LATENCY_SLO_MS,
    Alarms,
    AlarmsArgs,
    ApiTarget,
    BusinessTarget,
    DatabaseTarget,
    FunctionTarget,
    QueueTarget,
    WafTarget,
)
from components.alerts import AlarmTopic, AlarmTopicArgs, RotationFailureAlert
from components.app_functions import AppFunctions
from components.audit import SecurityGroupWatch, SecurityGroupWatchArgs
from components.database import Database, DatabaseArgs, DatabaseCode
from components.enhanced_monitoring import EnhancedMonitoring, EnhancedMonitoringArgs
from components.function import DependencyLayer, DependencyLayerArgs
from components.keys import Keys, KeysArgs
from components.log_group import LogStorage
from components.messaging import Messaging, MessagingArgs, PushPlatforms, PushPlatformsArgs
from components.network import Network, NetworkArgs
from components.region_switch import RegionSwitchProbe, RegionSwitchProbeArgs
from components.releases import Releases, ReleasesArgs, ReleaseTarget
from components.saved_queries import SavedQueries, SavedQueriesArgs
from components.web_config import WebConfig, WebConfigArgs
from contract import names
from contract.functions import spec as function_spec
from settings import EDGE_REGION, Settings
from stacks import artifacts, contract
from stacks.logic_tier import build_logic_tier
from stacks.providers import account_id, aws_provider, in_region
from stacks.security import function_security


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
    region, env = regional.region, settings.environment
    opts = in_region(provider)

    topology = pulumi.Output.all(
        global_stack.require(contract.PRIMARY_REGION), global_stack.require(contract.REGIONS)
    ).apply(lambda values: _check_topology(settings, values[0], values[1]))

    keys = Keys(
        "keys",
        KeysArgs(
            account_id=account,
            region=region,
            environment=env,
            alias_prefix=names.alias_prefix(env),
        ),
        opts=opts,
    )
    network = Network(
        "network",
        NetworkArgs(
            cidr=regional.cidr,
            az_count=regional.az_count,
            endpoint_az_count=regional.vpc_endpoint_az_count,
            account_id=account,
            region=region,
            logs_key_arn=keys.arns["logs"],
            log_retention_days=settings.log_retention_days,
        ),
        opts=opts,
    )
    alarms = AlarmTopic(
        "alarms",
        AlarmTopicArgs(
            account_id=account, messaging_key_arn=keys.arns["messaging"], email=settings.alarm_email
        ),
        opts=opts,
    )
    # R-SEC-3: every function here runs code signed in this deployment, with environment
    # variables under this region's secrets key.
    security = function_security(
        settings,
        region,
        account_id=account,
        keys=keys.arns,
        access_log_bucket=global_stack.require_for_region(contract.ACCESS_LOG_BUCKETS, region),
        opts=opts,
    )
    # One dependency layer per region, shared by the data and logic tiers' functions.
    layer = DependencyLayer(
        "deps",
        DependencyLayerArgs(
            layer_name=names.layer_name(env, "arm64"),
            code=artifacts.layer_code("arm64"),
            code_signing=security.code_signing,
        ),
        opts=opts,
    )

    messaging = Messaging(
        "messaging",
        MessagingArgs(
            account_id=account,
            region=region,
            environment=env,
            messaging_key_arn=keys.arns["messaging"],
            subscriber_timeout_seconds=function_spec("subscriber").timeout_seconds,
            batch_size=regional.messaging.subscriber_batch_size,
            batch_window_seconds=regional.messaging.subscriber_batch_window_seconds,
            max_receive_count=regional.messaging.dlq_max_receive_count,
        ),
        opts=opts,
    )
    push = PushPlatforms(
        "push",
        PushPlatformsArgs(
            account_id=account,
            region=region,
            environment=env,
            regions=settings.region_names,
            apns=regional.push.apns,
            fcm=regional.push.fcm,
        ),
        opts=opts,
    )

    data = settings.data
    monitoring = EnhancedMonitoring(
        "db-monitoring",
        EnhancedMonitoringArgs(
            account_id=account, logs=LogStorage(keys.arns["logs"], settings.log_retention_days)
        ),
        opts=opts,
    )
    database = Database(
        "database",
        DatabaseArgs(
            environment=env,
            region=region,
            account_id=account,
            is_primary=regional.is_primary,
            is_secret_home=region == data.secret_home_region,
            global_cluster_id=global_stack.require(contract.DB_GLOBAL_CLUSTER_ID),
            engine_version=global_stack.require(contract.DB_ENGINE_VERSION),
            secret_arn=global_stack.require_for_region(contract.DB_SECRET_ARNS, region),
            app_secret_arn=global_stack.require_for_region(contract.DB_APP_SECRET_ARNS, region),
            secrets_key_arn=global_stack.require_for_region(
                contract.REPLICATED_SECRETS_KEY_ARNS, region
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
            deletion_protection=settings.deletion_protection,
            write_forward_consistency=data.write_forward_consistency,
            security=security,
            monitoring_role_arn=monitoring.role_arn,
            monitoring_interval_seconds=monitoring.interval_seconds,
            rpo_seconds=data.rpo_seconds,
            code=DatabaseCode(
                migrations=artifacts.function_code("migrations"),
                rotation=artifacts.function_code("db_rotation"),
                layer_arn=layer.arn,
                migrations_checksum=artifacts.migrations_checksum(),
            ),
        ),
        opts=opts,
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
        opts=opts,
    )

    # Logic and identity tiers (docs/logic.md), fed by the data, messaging and storage tiers.
    logic_tier = build_logic_tier(
        settings,
        provider=provider,
        account_id=account,
        keys_arns=keys.arns,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        global_stack=global_stack,
        layer_arn=layer.arn,
        db_environment=database.app_environment,
        db_statements=database.app_statements,
        extra_security_group_ids=[database.client_security_group_id],
        events_topic_arn=messaging.topic_arn,
        api_statements=[*messaging.publisher_statements, *push.statements],
        push_env_json=push.env_json,
        subscriber_statements=messaging.subscriber_statements,
        security=security,
        push_relay_statements=push.relay_statements,
    )
    # The function the Region switch plans' custom steps invoke (components/region_switch.py):
    # it writes through this region's own database path, whatever this region's role.
    RegionSwitchProbe(
        "dr-probe",
        RegionSwitchProbeArgs(
            environment=env,
            region=region,
            account_id=account,
            code=artifacts.function_code("dr_probe"),
            layer_arn=layer.arn,
            logs_key_arn=keys.arns["logs"],
            log_retention_days=settings.log_retention_days,
            db_environment=database.app_environment,
            db_statements=database.app_statements,
            private_subnet_ids=network.private_subnet_ids,
            security_group_ids=[database.client_security_group_id],
            security=security,
        ),
        opts=opts,
    )

    functions = logic_tier.functions
    messaging.connect_subscriber(
        functions.subscriber.alias_arn, regional.reserved_concurrency["subscriber"]
    )

    name_prefix = names.regional_prefix(env, region)
    slo_alarms = Alarms(
        "slo-alarms",
        AlarmsArgs(
            topic_arn=alarms.topic_arn,
            name_prefix=name_prefix,
            region=region,
            api=ApiTarget(api_name=logic_tier.api.api_name, stage_name=logic_tier.api.stage_name),
            # Alarm keys (and runbook anchors) use hyphens: user_migration → user-migration.
            functions={
                **{
                    function_spec(fn).service: FunctionTarget(
                        function_name=names.function_name(env, fn),
                        reserved_concurrency=regional.reserved_concurrency[fn],
                        provisioned_concurrency=regional.provisioned_concurrency[fn],
                    )
                    for fn in functions.functions
                },
                # The writer's migration and rotation functions (R-OBS-5): one failure
                # alarms; their fixed reservation of 1-2 is reached by design, so no
                # concurrency alarm.
                **{
                    function_spec(fn).service: FunctionTarget(
                        function_name=function_name, reserved_concurrency=0, rare=True
                    )
                    for fn, function_name in database.functions.items()
                },
                function_spec("dr_probe").service: FunctionTarget(
                    function_name=names.function_name(env, "dr_probe"),
                    reserved_concurrency=function_spec("dr_probe").fixed_reserved_concurrency,
                ),
            },
            queue=QueueTarget(
                queue_name=messaging.queue_name,
                dead_letter_queue_names=[messaging.dlq_name, messaging.delivery_dlq_name],
            ),
            database=DatabaseTarget(
                cluster_id=database.cluster_identifier,
                max_capacity_acu=regional.db_capacity.max,
                proxy_name=database.proxy_name,
                # One connection per container (R-DATA-5): the in-VPC functions' ceiling.
                proxy_client_connection_limit=sum(
                    regional.reserved_concurrency[fn] for fn in AppFunctions.DATABASE_FUNCTIONS
                ),
            ),
            waf=WafTarget(web_acl_name=logic_tier.waf.web_acl_name, region=region),
            business=BusinessTarget(service=function_spec("subscriber").service),
            dashboard_name=name_prefix,
        ),
        opts=opts,
    )

    # R-OPS-1: CodeDeploy shifts each app function's live alias in the configured steps and
    # rolls back when the function's error alarm fires; the two functions every request
    # passes through (the authorizer, the api) also roll back on the API's latency and 5xx
    # alarms, which are their latency.
    api_alarm_keys = [*(f"api-latency-{pct}" for pct in LATENCY_SLO_MS), API_5XX_KEY]
    Releases(
        "releases",
        ReleasesArgs(
            environment=env,
            account_id=account,
            deployment_config_name=regional.release_config,
            targets={
                fn: ReleaseTarget(
                    function_name=names.function_name(env, fn),
                    function_arn=function.function.arn,
                    alarm_names=[
                        slo_alarms.alarm_names[f"{function_spec(fn).service}-errors"],
                        *(
                            slo_alarms.alarm_names[key]
                            for key in (api_alarm_keys if fn in ("api", "authorizer") else ())
                        ),
                    ],
                )
                for fn, function in functions.functions.items()
            },
        ),
        opts=opts,
    )
    # R-OPS-3: the incident questions, saved next to the logs they read.
    SavedQueries(
        "saved-queries",
        SavedQueriesArgs(
            environment=env,
            access_log_group_name=logic_tier.api.access_log_group_name,
            api_log_group_name=functions.api.log_group_name,
            subscriber_log_group_name=functions.subscriber.log_group_name,
            max_receive_count=regional.messaging.dlq_max_receive_count,
        ),
        opts=opts,
    )

    # A failed DB secret rotation is an event, not a metric: Secrets Manager reports it in
    # the secrets' home region, where the rotation function runs (R-OBS-5).
    if function_spec("db_rotation").name in database.functions:
        RotationFailureAlert("db-rotation-failed", alarms.topic_arn, opts=opts)

    # Route 53 publishes health-check metrics only in us-east-1: this region's health-check
    # alarms live there and notify the global stack's alarm topic in that region. They carry
    # check ids and states, never personal data: tagged "internal", they are no GDPR transfer.
    edge = (
        provider
        if region == EDGE_REGION
        else aws_provider(settings, EDGE_REGION, data_classification="internal")
    )
    global_alarm_topic = global_stack.require(contract.GLOBAL_ALARM_TOPIC_ARN)
    Alarms(
        "health-alarms",
        AlarmsArgs(
            topic_arn=global_alarm_topic,
            name_prefix=name_prefix,
            region=EDGE_REGION,
            health_checks=logic_tier.domain.health_checks,
        ),
        opts=in_region(edge),
    )

    # The web app signs in against this region's pool: its config.json goes into this
    # region's web bucket (the pool does not exist when the global stack uploads the app).
    # Not a secret (it identifies the app): unsecret so config.json is a plain object.
    web_app_key = pulumi.Output.unsecret(
        global_stack.require(contract.APP_KEYS).apply(lambda keys: keys[names.WEB_CLIENT])
    )
    WebConfig(
        "web-config",
        WebConfigArgs(
            region=region,
            bucket=global_stack.require_for_region(contract.WEB_BUCKETS, region),
            user_pool_id=logic_tier.identity.user_pool_id,
            web_client_id=logic_tier.identity.client_ids[names.WEB_CLIENT],
            api_key=web_app_key,
        ),
        opts=opts,
    )

    return {
        **logic_tier.outputs(),
        contract.REGIONAL_DB_CLUSTER_ID: database.cluster_identifier,
        contract.REGIONAL_DB_PROXY_ENDPOINT: database.proxy_endpoint,
        contract.REGIONAL_DB_PROXY_READER_ENDPOINT: database.proxy_reader_endpoint,
        contract.REGIONAL_DB_SECRET_ARN: database.secret_arn,
        contract.REGIONAL_DB_APP_SECRET_ARN: database.app_secret_arn,
        contract.REGIONAL_REGION: region,
        contract.REGIONAL_ROLE: "primary" if regional.is_primary else "secondary",
        contract.REGIONAL_PRIMARY_REGION: topology,
        contract.REGIONAL_VPC_ID: network.vpc_id,
        contract.REGIONAL_PRIVATE_SUBNET_IDS: network.private_subnet_ids,
        contract.REGIONAL_ALARM_TOPIC_ARN: alarms.topic_arn,
        contract.REGIONAL_EVENTS_TOPIC_ARN: messaging.topic_arn,
        contract.REGIONAL_EVENTS_QUEUE_URL: messaging.queue_url,
        contract.REGIONAL_EVENTS_DLQ_ARNS: [messaging.dlq_arn, messaging.delivery_dlq_arn],
        contract.REGIONAL_PUSH_PLATFORM_APPLICATIONS: push.env_json,
        contract.REGIONAL_HEALTH_ALARM_TOPIC_ARN: global_alarm_topic,
        contract.REGIONAL_DASHBOARD_NAME: slo_alarms.dashboard_name,
        contract.REGIONAL_WEB_APP_KEY: web_app_key,
    }
