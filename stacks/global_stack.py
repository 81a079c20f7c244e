"""The global stack: what spans regions (edge in us-east-1, DNS, the Aurora global cluster,
cross-region pairs). One provider per region it touches, all made here."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.audit import AuditTrail, AuditTrailArgs
from components.data_rules import dev_account_key_statement
from components.database import GlobalDatabase, GlobalDatabaseArgs
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
    edge_keys = Keys(
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
            # Pinned like the DB secret: a key must not change home when the writer moves.
            home_region=settings.data.secret_home_region,
            alias_prefix=f"mobile-backend/{settings.environment}/replicated",
            extra_statements=_dev_account_statements(settings),
        ),
        providers=serving,
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
            # Lead: data_event_bucket_arns=[<assets bucket ARN of each region>],
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
        ),
        providers=serving,
        opts=in_region(edge),
    )

    # The domain's public zone, adopted by name (the edge tier may create it instead).
    hosted_zone = aws.route53.get_zone_output(
        name=settings.domain, private_zone=False, opts=pulumi.InvokeOptions(provider=edge)
    )

    return contract.global_exports(
        {
            contract.DB_GLOBAL_CLUSTER_ID: database.global_cluster_id,
            contract.DB_ENGINE_VERSION: database.engine_version,
            contract.DB_SECRET_ARNS: database.secret_arns,
            contract.HOSTED_ZONE_ID: hosted_zone.zone_id,
            contract.REPLICATED_SECRETS_KEY_ARNS: replicated_secrets.arns,
            contract.DOMAIN: settings.domain,
            contract.PRIMARY_REGION: settings.primary_region,
            contract.REGIONS: list(settings.region_names),
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
