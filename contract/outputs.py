"""Stack output names (R-STACK-2, R-SEAM-2).

The global stack exports exactly ``GLOBAL_OUTPUTS``; a regional stack reads them only through
``stacks.contract.GlobalStack``; the regional stacks export the ``REGIONAL_*`` names for
operators, the DR tool (``dr.topology.GLOBAL_READS`` / ``REGIONAL_READS``) and the deploy
workflow. Readers outside Python are recorded here too (``DEPLOY_WORKFLOW_READS``), so that
``tests/infra/test_outputs_seam.py`` can check that every global output has a reader and every
name read is exported.
"""

from __future__ import annotations

# Topology as the global stack last deployed it; regional stacks check theirs agrees, which
# also enforces the deploy order global → regions after a topology change.
DOMAIN = "domain"
PRIMARY_REGION = "primaryRegion"
REGIONS = "regions"
# region → ARN of the multi-region key replica that encrypts replicated secrets there.
REPLICATED_SECRETS_KEY_ARNS = "replicatedSecretsKeyArns"
# Data tier: the Aurora global cluster the regional clusters join, its pinned engine version,
# and region → ARN of the DB credential secret (primary copy in its home region, replicas
# elsewhere) that each region's RDS Proxy and functions read locally.
DB_GLOBAL_CLUSTER_ID = "dbGlobalClusterId"
DB_ENGINE_VERSION = "dbEngineVersion"
DB_SECRET_ARNS = "dbSecretArns"  # noqa: S105 (an output name, not a password)
# region → ARN of the application login's secret (same layout), which RDS Proxy uses for it.
DB_APP_SECRET_ARNS = "dbAppSecretArns"  # noqa: S105 (an output name)
# The Route 53 zone the regional api.<domain> records and certificate validation records go
# into.
HOSTED_ZONE_ID = "hostedZoneId"
# region → {"name", "arn"} of the replicated assets bucket, and region → its KMS key ARN
# (uploads from the API and the identity pool role need both).
ASSETS_BUCKETS = "assetsBuckets"
ASSETS_KEY_ARNS = "assetsKeyArns"
# region → name of the web app bucket CloudFront serves from; each regional stack writes its
# config.json there.
WEB_BUCKETS = "webBuckets"
DISTRIBUTION_ID = "distributionId"
# Secrets Manager name of the origin-verify value; the same name resolves to the replica in
# every serving region (the value itself is never exported).
ORIGIN_VERIFY_SECRET_NAME = "originVerifySecretName"  # noqa: S105 (an output name)
# region → name of that region's S3 server-access-log bucket: every bucket a regional stack
# declares (the code-signing artifacts) logs there.
ACCESS_LOG_BUCKETS = "accessLogBuckets"
# The DS record of the zone's DNSSEC key-signing key: an operator publishes it at the domain's
# registrar (docs/edge.md, "DNSSEC"); until then resolvers do not validate the signatures.
DNSSEC_DS_RECORD = "dnssecDsRecord"
# The global stack's alarm topic in us-east-1 (CloudFront, edge WAF, its own function, secret
# rotation): the regional stacks' Route 53 health-check alarms, which exist only in us-east-1,
# notify it too.
GLOBAL_ALARM_TOPIC_ARN = "globalAlarmTopicArn"
# Disaster recovery (ARC Region switch, docs/dr.md): [{"name", "arn", "regions"}] of the plans
# `python -m dr` executes (one per pair of serving regions), and region → ids of the Route 53
# health checks those plans created for it, which that region's latency record must heed.
REGION_SWITCH_PLANS = "regionSwitchPlans"
REGION_SWITCH_HEALTH_CHECK_IDS = "regionSwitchHealthCheckIds"

# App client (ios, android, web) → its API key value, the same in every region (R-OPS-2): each
# regional stack creates the keys with these values and the web app's config.json carries
# the web one. Key values identify apps and ship inside them: not secrets.
APP_KEYS = "appKeys"

GLOBAL_OUTPUTS: frozenset[str] = frozenset(
    {DOMAIN, PRIMARY_REGION, REGIONS, REPLICATED_SECRETS_KEY_ARNS}
    | {DB_GLOBAL_CLUSTER_ID, DB_ENGINE_VERSION, DB_SECRET_ARNS, DB_APP_SECRET_ARNS}
    | {
        HOSTED_ZONE_ID,
        ASSETS_BUCKETS,
        ASSETS_KEY_ARNS,
        WEB_BUCKETS,
        DISTRIBUTION_ID,
        ORIGIN_VERIFY_SECRET_NAME,
        ACCESS_LOG_BUCKETS,
        DNSSEC_DS_RECORD,
        GLOBAL_ALARM_TOPIC_ARN,
    }
    | {REGION_SWITCH_PLANS, REGION_SWITCH_HEALTH_CHECK_IDS}
    | {APP_KEYS}
)

# Global outputs read by `.github/workflows/deploy.yml` (``steps.up.outputs.<name>`` of the
# prod-global job), not by code; the seam test parses the workflow and demands exactly these:
# - DOMAIN: the edge smoke test calls https://<domain>/api.
# - ORIGIN_VERIFY_SECRET_NAME: each region's smoke test reads the origin-verify value from it
#   to pass the regional WAF.
# - DISTRIBUTION_ID: the invalidation after `pulumi up`, since the web app's scripts and styles
#   keep their names from one release to the next and the edge caches them for a day.
# - DNSSEC_DS_RECORD: written to the job summary, for the operator who checks it against the
#   registrar's DS record.
DEPLOY_WORKFLOW_READS: frozenset[str] = frozenset(
    {DOMAIN, ORIGIN_VERIFY_SECRET_NAME, DISTRIBUTION_ID, DNSSEC_DS_RECORD}
)

# What a regional stack exports, for operators, the DR runbook and the smoke test.
REGIONAL_REGION = "region"
REGIONAL_ROLE = "role"
REGIONAL_PRIMARY_REGION = "primaryRegion"
REGIONAL_VPC_ID = "vpcId"
REGIONAL_PRIVATE_SUBNET_IDS = "privateSubnetIds"
REGIONAL_ALARM_TOPIC_ARN = "alarmTopicArn"
REGIONAL_EVENTS_TOPIC_ARN = "eventsTopicArn"
REGIONAL_EVENTS_QUEUE_URL = "eventsQueueUrl"
# [consumer DLQ, SNS delivery DLQ]: what an operator inspects and redrives after an incident.
REGIONAL_EVENTS_DLQ_ARNS = "eventsDeadLetterQueueArns"
# JSON platform → platform application ARN ("{}" when no push credentials are configured).
REGIONAL_PUSH_PLATFORM_APPLICATIONS = "pushPlatformApplications"
# The us-east-1 topic of this region's Route 53 health-check alarms (the global stack's).
REGIONAL_HEALTH_ALARM_TOPIC_ARN = "healthAlarmTopicArn"
REGIONAL_DASHBOARD_NAME = "dashboardName"
# Data tier, for the logic tier's wiring, operators and the DR runbook.
REGIONAL_DB_CLUSTER_ID = "dbClusterId"
REGIONAL_DB_PROXY_ENDPOINT = "dbProxyEndpoint"
REGIONAL_DB_PROXY_READER_ENDPOINT = "dbProxyReaderEndpoint"
REGIONAL_DB_SECRET_ARN = "dbSecretArn"  # noqa: S105 (an output name)
REGIONAL_DB_APP_SECRET_ARN = "dbAppSecretArn"  # noqa: S105 (an output name)
# Logic and identity tiers.
REGIONAL_API_URL = "apiUrl"
REGIONAL_API_HEALTH_CHECK_ID = "apiHealthCheckId"
REGIONAL_WEB_ACL_ARN = "apiWebAclArn"
REGIONAL_USER_POOL_ID = "userPoolId"
REGIONAL_USER_POOL_CLIENT_IDS = "userPoolClientIds"
REGIONAL_IDENTITY_POOL_ID = "identityPoolId"
# The web app's API key (R-OPS-2), what the deploy workflow's smoke tests send as x-api-key.
# It identifies an app and ships inside it: not a secret.
REGIONAL_WEB_APP_KEY = "webAppKey"
