"""The global stack: what spans regions (edge in us-east-1, DNS, the Aurora global cluster,
cross-region pairs). One provider per region it touches, all made here."""

from __future__ import annotations

import pulumi

from components.alarms import Alarms, AlarmsArgs, CloudFrontTarget, FunctionTarget, WafTarget
from components.alerts import AlarmTopic, AlarmTopicArgs, RotationFailureAlert
from components.audit import AuditTrail, AuditTrailArgs
from components.compute_optimizer import ComputeOptimizer
from components.data_rules import dev_account_key_statement
from components.database import GlobalDatabase, GlobalDatabaseArgs
from components.edge import API_ORIGIN_ID, Edge, EdgeArgs
from components.keys import Keys, KeysArgs, ReplicatedKey, ReplicatedKeyArgs
from components.origin_verify import (
    OriginVerifyRotation,
    OriginVerifyRotationArgs,
    OriginVerifySecret,
    OriginVerifySecretArgs,
)
from components.region_switch import RegionSwitch, RegionSwitchArgs
from components.replication_alarms import ReplicationAlarms, ReplicationAlarmsArgs
from components.storage import (
    AccessLogBuckets,
    AccessLogBucketsArgs,
    ReplicatedAssets,
    ReplicatedAssetsArgs,
)
from components.web_content import web_files
from contract import names
from contract.functions import spec as function_spec
from settings import EDGE_REGION, Settings
from stacks import artifacts, contract
from stacks.providers import account_id, aws_provider, in_region
from stacks.security import function_security


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

    # Edge-region keys for what the global stack encrypts there (WAF logs, trail, secrets,
    # the signed code of its function, its alarm topic).
    edge_keys = Keys(
        "edge-keys",
        KeysArgs(
            account_id=account,
            region=EDGE_REGION,
            environment=settings.environment,
            alias_prefix=f"{names.alias_prefix(settings.environment)}/global",
            purposes=("logs", "secrets", "data", "messaging"),
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
            # Pinned like the DB secret: a key must not change home when the writer moves.
            home_region=settings.data.secret_home_region,
            alias_prefix=f"{names.alias_prefix(settings.environment)}/replicated",
            extra_statements=_dev_account_statements(settings),
        ),
        providers=serving,
    )

    # Storage tier (issue 6): access-log buckets and both-ways replicated assets buckets.
    # A log bucket in every region this stack has buckets in (S3 delivers server access logs
    # within a region only): the serving regions and the edge region's audit and CDN logs.
    access_logs = AccessLogBuckets(
        "access-logs",
        AccessLogBucketsArgs(
            account_id=account,
            environment=settings.environment,
            log_retention_days=settings.log_retention_days,
        ),
        providers=providers,
    )
    assets = ReplicatedAssets(
        "assets",
        ReplicatedAssetsArgs(
            account_id=account,
            environment=settings.environment,
            log_buckets=access_logs.names,
            noncurrent_version_days=settings.edge.noncurrent_version_days,
            web_origins=(f"https://{settings.domain}", f"https://www.{settings.domain}"),
        ),
        providers=serving,
    )
    # This stack owns the replication, so it alarms on it, in the regions S3 publishes the
    # metrics in, with a topic of its own there (R-OBS-1; docs/observability.md).
    ReplicationAlarms(
        "replication-alarms",
        ReplicationAlarmsArgs(
            account_id=account,
            environment=settings.environment,
            email=settings.alarm_email,
            replications=assets.replications,
        ),
        providers=serving,
    )

    # Edge tier (issue 6): origin-verify value → distribution → its rotation.
    origin_verify = OriginVerifySecret(
        "origin-verify",
        OriginVerifySecretArgs(
            secret_name=contract.origin_verify_secret_name(settings.environment),
            primary_key_arn=edge_keys.arns["secrets"],
            replica_key_arns=replicated_secrets.arns,
        ),
        opts=in_region(edge),
    )
    # Primary region first: the web origin group fails over from it to the next one.
    serving_order = (settings.primary_region, *settings.secondary_regions)
    edge_tier = Edge(
        "edge",
        EdgeArgs(
            account_id=account,
            environment=settings.environment,
            domain=settings.domain,
            hosted_zone_id=settings.edge.hosted_zone_id,
            edge_region=EDGE_REGION,
            serving_regions=serving_order,
            rate_limit=settings.edge.rate_limit,
            logs_key_arn=edge_keys.arns["logs"],
            log_retention_days=settings.log_retention_days,
            access_log_buckets=access_logs.names,
            origin_verify_header=contract.ORIGIN_VERIFY_HEADER,
            origin_verify_value=origin_verify.value,
            web_files=web_files(artifacts.ROOT / "web"),
            api_path_prefix=contract.API_PATH_PREFIX,
            anonymous_ip_list=settings.edge.anonymous_ip_list,
        ),
        providers=providers,
    )
    OriginVerifyRotation(
        "origin-verify-rotation",
        OriginVerifyRotationArgs(
            account_id=account,
            environment=settings.environment,
            region=EDGE_REGION,
            secret_arn=origin_verify.secret_arn,
            primary_key_arn=edge_keys.arns["secrets"],
            replica_key_arns=replicated_secrets.arns,
            distribution_id=edge_tier.distribution_id,
            distribution_arn=edge_tier.distribution_arn,
            api_origin_id=API_ORIGIN_ID,
            header_name=contract.ORIGIN_VERIFY_HEADER,
            rule_name=contract.ORIGIN_VERIFY_RULE_NAME,
            web_acls=[
                (region, contract.api_web_acl_name(settings.environment, region))
                for region in settings.region_names
            ],
            rotation_days=settings.edge.origin_verify_rotation_days,
            code=artifacts.function_code("origin_verify_rotation"),
            security=function_security(
                settings,
                EDGE_REGION,
                account_id=account,
                keys=edge_keys.arns,
                access_log_bucket=access_logs.names[EDGE_REGION],
                opts=in_region(edge),
            ),
            logs_key_arn=edge_keys.arns["logs"],
            log_retention_days=settings.log_retention_days,
        ),
        opts=in_region(edge),
    )

    # R-OBS-5: the global stack is alarmed too, on a topic of its own in us-east-1, where
    # CloudFront, the CLOUDFRONT web ACL and Route 53 publish their metrics (the regional
    # stacks' health-check alarms notify it as well).
    alarm_topic = AlarmTopic(
        "alarms",
        AlarmTopicArgs(
            account_id=account,
            messaging_key_arn=edge_keys.arns["messaging"],
            email=settings.alarm_email,
        ),
        opts=in_region(edge),
    )
    rotation_spec = function_spec("origin_verify_rotation")
    Alarms(
        "edge-alarms",
        AlarmsArgs(
            topic_arn=alarm_topic.topic_arn,
            name_prefix=names.global_prefix(settings.environment),
            region=EDGE_REGION,
            cloudfront=CloudFrontTarget(distribution_id=edge_tier.distribution_id),
            waf=WafTarget(web_acl_name=edge_tier.web_acl_name, region=None),
            functions={
                rotation_spec.service: FunctionTarget(
                    function_name=names.function_name(settings.environment, rotation_spec.name),
                    reserved_concurrency=0,
                    rare=True,
                )
            },
        ),
        opts=in_region(edge),
    )
    RotationFailureAlert(
        "origin-verify-rotation-failed", alarm_topic.topic_arn, opts=in_region(edge)
    )

    # One multi-region trail for the account, homed with the other global resources.
    AuditTrail(
        "audit",
        AuditTrailArgs(
            account_id=account,
            region=EDGE_REGION,
            environment=settings.environment,
            logs_key_arn=edge_keys.arns["logs"],
            log_retention_days=settings.log_retention_days,
            retention_days=settings.audit_log_retention_days,
            access_log_bucket=access_logs.names[EDGE_REGION],
            # S3 data events on the buckets that hold PHI (R-OBS-3).
            data_event_bucket_arns=[bucket["arn"] for bucket in assets.buckets.values()],
        ),
        opts=in_region(edge),
    )

    # The global cluster goes through the edge provider: it has no region, and the provider
    # must not follow primaryRegion (a provider change would replace it after a switchover).
    database = GlobalDatabase(
        "database",
        GlobalDatabaseArgs(
            environment=settings.environment,
            engine_version=settings.data.engine_version,
            home_region=settings.data.secret_home_region,
            secrets_key_arns=replicated_secrets.arns,
            dev_account_role_arn=settings.data.dev_account_role_arn,
            deletion_protection=settings.deletion_protection,
        ),
        providers=serving,
        opts=in_region(edge),
    )

    # Disaster recovery you can run (R-DR-5, docs/dr.md): ARC Region switch plans, homed with
    # the other global resources (ARC's control plane is in us-east-1; executions run in the
    # region being activated). The regional stacks attach the plans' health checks to their
    # latency records; the probe functions the plans invoke are the regional stacks' own.
    region_switch = RegionSwitch(
        "region-switch",
        RegionSwitchArgs(
            account_id=account,
            environment=settings.environment,
            regions=settings.region_names,
            edge_region=EDGE_REGION,
            domain=settings.domain,
            hosted_zone_id=edge_tier.zone_id,
            global_cluster_id=database.global_cluster_id,
            approval=settings.region_switch_approval,
        ),
        opts=in_region(edge),
    )

    # R-OPS-4: Compute Optimizer's opt-in is one per account (its recommendations cover
    # every region), so the global stack owns it; docs/performance.md says how its Lambda
    # memory recommendations feed back into config.
    if settings.compute_optimizer:
        ComputeOptimizer("compute-optimizer", opts=in_region(edge))

    return contract.global_exports(
        {
            contract.REGION_SWITCH_PLANS: region_switch.plans,
            contract.REGION_SWITCH_HEALTH_CHECK_IDS: region_switch.health_check_ids,
            contract.DB_GLOBAL_CLUSTER_ID: database.global_cluster_id,
            contract.DB_ENGINE_VERSION: database.engine_version,
            contract.DB_SECRET_ARNS: database.secret_arns,
            contract.DB_APP_SECRET_ARNS: database.app_secret_arns,
            contract.HOSTED_ZONE_ID: edge_tier.zone_id,
            contract.WEB_BUCKETS: edge_tier.web_bucket_names,
            contract.DISTRIBUTION_ID: edge_tier.distribution_id,
            contract.ORIGIN_VERIFY_SECRET_NAME: origin_verify.secret_name,
            contract.ACCESS_LOG_BUCKETS: access_logs.names,
            contract.DNSSEC_DS_RECORD: edge_tier.dnssec_ds_record,
            contract.GLOBAL_ALARM_TOPIC_ARN: alarm_topic.topic_arn,
            contract.ASSETS_BUCKETS: assets.buckets,
            contract.ASSETS_KEY_ARNS: assets.key_arns,
            contract.REPLICATED_SECRETS_KEY_ARNS: replicated_secrets.arns,
            contract.DOMAIN: settings.domain,
            contract.PRIMARY_REGION: settings.primary_region,
            contract.REGIONS: list(settings.region_names),
            contract.APP_KEYS: dict(settings.app_keys),
        }
    )


def _dev_account_statements(settings: Settings):
    """R-SEC-1: the optional development-account role may decrypt the DB secret only."""
    role = settings.data.dev_account_role_arn
    if role is None:
        return None
    return lambda account, region: [
        dev_account_key_statement(role, account, region, settings.environment)
    ]
