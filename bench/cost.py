"""What the synthesized stacks cost: idle per month, and per million requests of each route.

Idle cost (R-PERF-3) is read resource by resource from the graph each stack declares under
mocks (``local.synthesis``): interface endpoints times the subnets they sit in, Serverless v2
instances at their minimum capacity, the RDS Proxy's 8-ACU minimum, provisioned concurrency
and SnapStart caches by function memory, web ACLs and their rules, keys, secrets and their
replicas, alarm metrics, dashboards, zones, health checks and their options. Every AWS
resource type a stack declares must either have a rule here or be listed in
``NO_IDLE_CHARGE`` with the reason; a new type fails the tests until someone prices it.

The marginal cost of a route is what one more million requests add: CloudFront, both web
ACLs, API Gateway, the api function (request and billed duration from the latency model's
warm work), the authorizer on cache misses, SnapStart restores, X-Ray traces, logs, Aurora
write I/Os and their replication, and the AWS calls the route makes (bench/profile.json).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import figures as fig
from bench.facts import FUNCTION, StackFacts, region_of, unsecret
from bench.latency import Model, cold_share
from bench.prices import HOURS_PER_MONTH, SECONDS_PER_MONTH, price
from bench.profile import RouteProfile

if TYPE_CHECKING:
    from local.synthesis import Resource, Synthesis


@dataclass(frozen=True)
class Line:
    kind: str
    item: str
    usd: float
    price_key: str


@dataclass
class StackCost:
    stack: str
    environment: str
    lines: list[Line] = field(default_factory=list)
    # AWS resource types with neither a rule nor a recorded reason for costing nothing idle.
    unpriced: list[str] = field(default_factory=list)
    budget: float | None = None

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def by_kind(self) -> dict[str, float]:
        kinds: dict[str, float] = {}
        for line in self.lines:
            kinds[line.kind] = kinds.get(line.kind, 0.0) + line.usd
        return dict(sorted(kinds.items(), key=lambda item: -item[1]))


# Types that cost nothing while idle, and why (usage is priced per request where it matters).
NO_IDLE_CHARGE: dict[str, str] = {
    "aws:acm/certificate:Certificate": "public certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "a workflow, not a resource",
    "aws:apigateway/account:Account": "account setting",
    "aws:apigateway/apiKey:ApiKey": "API keys are free; requests are billed per route",
    "aws:apigateway/usagePlan:UsagePlan": "usage plans are free (throttle and quota only)",
    "aws:apigateway/usagePlanKey:UsagePlanKey": "configuration",
    "aws:codedeploy/application:Application": "CodeDeploy to Lambda has no charge",
    "aws:codedeploy/deploymentGroup:DeploymentGroup": "CodeDeploy to Lambda has no charge",
    "aws:cloudwatch/queryDefinition:QueryDefinition": "saved queries are free; a run is billed "
    "per GB scanned (usage)",
    "aws:computeoptimizer/enrollmentStatus:EnrollmentStatus": "Compute Optimizer's default "
    "recommendations are free (enhanced infrastructure metrics are not enabled)",
    "aws:apigateway/basePathMapping:BasePathMapping": "configuration",
    "aws:apigateway/deployment:Deployment": "configuration",
    "aws:apigateway/domainName:DomainName": "regional custom domains are free",
    "aws:apigateway/methodSettings:MethodSettings": "configuration (caching is off)",
    "aws:apigateway/restApi:RestApi": "per request (route costs)",
    "aws:apigateway/stage:Stage": "per request; no cache cluster",
    "aws:cloudfront/cachePolicy:CachePolicy": "configuration",
    "aws:cloudfront/distribution:Distribution": "per request and GB (route costs)",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "configuration",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "configuration",
    "aws:cloudtrail/trail:Trail": "first copy of management events is free; data events "
    "per request (route costs)",
    "aws:cloudwatch/eventRule:EventRule": "AWS service events are free",
    "aws:cloudwatch/eventTarget:EventTarget": "configuration",
    "aws:cloudwatch/logGroup:LogGroup": "per GB ingested and stored (usage, not modelled idle)",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "configuration",
    "aws:cognito/identityPool:IdentityPool": "free",
    "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment": "configuration",
    "aws:cognito/userPool:UserPool": "per monthly active user (usage)",
    "aws:cognito/userPoolClient:UserPoolClient": "configuration",
    "aws:cognito/userPoolDomain:UserPoolDomain": "configuration",
    "aws:cognito/identityProvider:IdentityProvider": "configuration",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "free",
    "aws:ec2/flowLog:FlowLog": "per GB of logs delivered (usage, not modelled idle)",
    "aws:ec2/routeTable:RouteTable": "free",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "free",
    "aws:ec2/securityGroup:SecurityGroup": "free",
    "aws:ec2/subnet:Subnet": "free",
    "aws:ec2/vpc:Vpc": "free (no NAT gateway, no public IPv4 address)",
    "aws:iam/role:Role": "free",
    "aws:iam/rolePolicy:RolePolicy": "free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "free (attaching a managed policy)",
    "aws:kms/alias:Alias": "free",
    "aws:kms/keyPolicy:KeyPolicy": "configuration",
    "aws:lambda/alias:Alias": "free",
    "aws:lambda/codeSigningConfig:CodeSigningConfig": "free",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "the SQS requests it makes are usage",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "configuration",
    "aws:lambda/invocation:Invocation": "one invocation per deploy",
    "aws:lambda/layerVersion:LayerVersion": "free",
    "aws:lambda/permission:Permission": "configuration",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "configuration",
    "aws:rds/cluster:Cluster": "billed through its instances and storage (usage)",
    "aws:rds/globalCluster:GlobalCluster": "billed through its clusters; replicated write "
    "I/O per request (route costs)",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": "configuration",
    "aws:rds/proxyEndpoint:ProxyEndpoint": "no charge listed beyond the proxy's capacity",
    "aws:rds/proxyTarget:ProxyTarget": "configuration",
    "aws:rds/subnetGroup:SubnetGroup": "free",
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": "free (its KMS key is priced)",
    "aws:route53/keySigningKey:KeySigningKey": "free (its KMS key is priced)",
    "aws:route53/queryLog:QueryLog": "per GB of logs (usage)",
    "aws:route53/record:Record": "per query (usage); CloudFront alias queries are free",
    "aws:s3/bucket:Bucket": "per GB stored and per request (usage)",
    "aws:s3/bucketAcl:BucketAcl": "configuration",
    "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2": "configuration",
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "configuration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "configuration",
    "aws:s3/bucketLogging:BucketLogging": "configuration",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "configuration",
    "aws:s3/bucketObjectv2:BucketObjectv2": "bytes stored (a few kB)",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "configuration",
    "aws:s3/bucketPolicy:BucketPolicy": "configuration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "configuration",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "per GB replicated and RTC (usage)",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "configuration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "configuration",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "configuration",
    "aws:secretsmanager/secretRotation:SecretRotation": "rotation Lambda invocations (usage)",
    "aws:secretsmanager/secretVersion:SecretVersion": "the secret is priced",
    "aws:signer/signingProfile:SigningProfile": "free for Lambda code signing",
    "aws:signer/signingJob:SigningJob": "no charge for Signer or Lambda code signing "
    "(https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html, read "
    "2026-12-05: 'There is no additional charge for using AWS Signer or code signing for AWS "
    "Lambda')",
    "aws:sns/platformApplication:PlatformApplication": "free",
    "aws:sns/topic:Topic": "per publish (route costs)",
    "aws:sns/topicPolicy:TopicPolicy": "configuration",
    "aws:sns/topicSubscription:TopicSubscription": "SNS-to-SQS delivery is free",
    "aws:sqs/queue:Queue": "per request (usage)",
    "aws:sqs/queuePolicy:QueuePolicy": "configuration",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "configuration",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "free",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "the web ACL is priced",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "per GB of logs "
    "(route costs)",
}


class _Index:
    """Lookups across one stack's graph that the rules need."""

    def __init__(self, synth: Synthesis) -> None:
        self.synth = synth
        self.clusters = {c.mock_id: c for c in synth.of_type("aws:rds/cluster:Cluster")}
        self.cluster_by_name = {
            c.inputs.get("clusterIdentifier"): c for c in self.clusters.values()
        }
        self.functions = {f.inputs["name"]: f for f in synth.of_type(FUNCTION)}

    def instances_of(self, cluster: Resource) -> list[Resource]:
        return [
            i
            for i in self.synth.of_type("aws:rds/clusterInstance:ClusterInstance")
            if i.inputs.get("clusterIdentifier") == cluster.mock_id
        ]

    @staticmethod
    def min_acu(cluster: Resource) -> float:
        scaling = cluster.inputs.get("serverlessv2ScalingConfiguration") or {}
        return float(scaling.get("minCapacity", 0.5))


Rule = Callable[[Any, "_Index"], list[Line]]


def _endpoint(resource: Resource, index: _Index) -> list[Line]:
    if resource.inputs.get("vpcEndpointType") != "Interface":
        return []
    azs = len(resource.inputs.get("subnetIds") or [])
    service = str(resource.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    usd = azs * HOURS_PER_MONTH * price("vpc_interface_endpoint_hour")
    return [
        Line("VPC interface endpoints", f"{service} x {azs} AZ", usd, "vpc_interface_endpoint_hour")
    ]


def _instance(resource: Resource, index: _Index) -> list[Line]:
    if resource.inputs.get("instanceClass") != "db.serverless":
        raise ValueError(
            f"{resource}: instance class {resource.inputs.get('instanceClass')!r} has no price "
            "rule (Serverless v2 only): add one to bench/cost.py"
        )
    cluster = index.clusters[resource.inputs["clusterIdentifier"]]
    acu = index.min_acu(cluster)
    usd = acu * HOURS_PER_MONTH * price("aurora_serverless_acu_hour")
    return [
        Line(
            "Aurora Serverless v2",
            f"{resource.name} at {acu:g} ACU",
            usd,
            "aurora_serverless_acu_hour",
        )
    ]


def _proxy(resource: Resource, index: _Index) -> list[Line]:
    name = resource.inputs.get("name")
    capacity = 0.0
    for target in index.synth.of_type("aws:rds/proxyTarget:ProxyTarget"):
        if target.inputs.get("dbProxyName") == name:
            cluster = index.cluster_by_name.get(target.inputs.get("dbClusterIdentifier"))
            if cluster is not None:
                capacity += index.min_acu(cluster) * len(index.instances_of(cluster))
    # Priced on the target's capacity, never less than 8 ACUs.
    billed = max(8.0, capacity)
    usd = billed * HOURS_PER_MONTH * price("rds_proxy_acu_hour")
    return [Line("RDS Proxy", f"{name} at {billed:g} ACU (minimum 8)", usd, "rds_proxy_acu_hour")]


def _memory_gb(index: _Index, function_name: str) -> tuple[float, str]:
    function = index.functions[function_name]
    arch = (function.inputs.get("architectures") or ["x86_64"])[0]
    return float(function.inputs.get("memorySize") or 128) / 1024, arch


def _provisioned(resource: Resource, index: _Index) -> list[Line]:
    name = resource.inputs["functionName"]
    gb, arch = _memory_gb(index, name)
    count = int(resource.inputs["provisionedConcurrentExecutions"])
    key = (
        "lambda_arm_provisioned_gb_second"
        if arch == "arm64"
        else "lambda_x86_provisioned_gb_second"
    )
    usd = count * gb * SECONDS_PER_MONTH * price(key)
    return [
        Line("Lambda provisioned concurrency", f"{name} x {count} ({gb * 1024:g} MB)", usd, key)
    ]


def _function(resource: Resource, index: _Index) -> list[Line]:
    snap = resource.inputs.get("snapStart") or {}
    if snap.get("applyOn") != "PublishedVersions":
        return []
    gb, _ = _memory_gb(index, resource.inputs["name"])
    # One active version's snapshot; older published versions stay cached (and billed) until
    # they go 14 days without an invocation.
    usd = gb * SECONDS_PER_MONTH * price("snapstart_cache_gb_second")
    return [
        Line(
            "Lambda SnapStart cache",
            f"{resource.inputs['name']} ({gb * 1024:g} MB)",
            usd,
            "snapstart_cache_gb_second",
        )
    ]


def _web_acl(resource: Resource, index: _Index) -> list[Line]:
    rules = unsecret(resource.inputs.get("rules")) or []
    name = resource.inputs.get("name") or resource.name
    return [
        Line("WAF", f"{name} web ACL", price("waf_web_acl_month"), "waf_web_acl_month"),
        Line(
            "WAF",
            f"{name}: {len(rules)} rules",
            len(rules) * price("waf_rule_month"),
            "waf_rule_month",
        ),
    ]


def _key(resource: Resource, index: _Index) -> list[Line]:
    return [Line("KMS keys", resource.name, price("kms_key_month"), "kms_key_month")]


def _secret(resource: Resource, index: _Index) -> list[Line]:
    copies = 1 + len(resource.inputs.get("replicas") or [])
    name = resource.inputs.get("name") or resource.name
    return [
        Line(
            "Secrets Manager",
            f"{name} x {copies} regions",
            copies * price("secret_month"),
            "secret_month",
        )
    ]


def alarm_metrics(inputs: Mapping[str, Any]) -> int:
    """Metrics an alarm is billed for: 1 for a plain alarm, one per metric in a metric-math
    alarm, 3 for an anomaly detection band (the metric and its two bounds)."""
    queries = inputs.get("metricQueries") or []
    if not queries:
        return 1
    metrics = sum(1 for q in queries if q.get("metric") is not None)
    return 3 * metrics if inputs.get("thresholdMetricId") else metrics


def _alarm(resource: Resource, index: _Index) -> list[Line]:
    metrics = alarm_metrics(resource.inputs)
    usd = metrics * price("cloudwatch_alarm_metric_month")
    return [
        Line(
            "CloudWatch alarms",
            f"{resource.name} ({metrics} metrics)",
            usd,
            "cloudwatch_alarm_metric_month",
        )
    ]


def _composite(resource: Resource, index: _Index) -> list[Line]:
    return [
        Line(
            "CloudWatch alarms",
            resource.name,
            price("cloudwatch_composite_alarm_month"),
            "cloudwatch_composite_alarm_month",
        )
    ]


def _dashboard(resource: Resource, index: _Index) -> list[Line]:
    return [
        Line(
            "CloudWatch dashboards",
            resource.name,
            price("cloudwatch_dashboard_month"),
            "cloudwatch_dashboard_month",
        )
    ]


def _zone(resource: Resource, index: _Index) -> list[Line]:
    return [
        Line(
            "Route 53",
            f"zone {resource.inputs.get('name')}",
            price("route53_zone_month"),
            "route53_zone_month",
        )
    ]


def health_check_features(inputs: Mapping[str, Any]) -> list[str]:
    kind = str(inputs.get("type", ""))
    features = []
    if kind.startswith("HTTPS"):
        features.append("HTTPS")
    if kind.endswith("STR_MATCH"):
        features.append("string matching")
    if int(inputs.get("requestInterval") or 30) == 10:
        features.append("10 s interval")
    if inputs.get("measureLatency"):
        features.append("latency measurement")
    return features


def _health_check(resource: Resource, index: _Index) -> list[Line]:
    features = health_check_features(resource.inputs)
    return [
        Line(
            "Route 53",
            f"health check {resource.name}",
            price("route53_health_check_month"),
            "route53_health_check_month",
        ),
        Line(
            "Route 53",
            f"health check options: {', '.join(features) or 'none'}",
            len(features) * price("route53_health_check_feature_month"),
            "route53_health_check_feature_month",
        ),
    ]


def _region_switch_plan(resource: Resource, index: _Index) -> list[Line]:
    name = resource.inputs.get("name") or resource.name
    return [
        Line(
            "ARC Region switch",
            f"plan {name}",
            price("arc_region_switch_plan_month"),
            "arc_region_switch_plan_month",
        )
    ]


IDLE_RULES: dict[str, Rule] = {
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:rds/clusterInstance:ClusterInstance": _instance,
    "aws:rds/proxy:Proxy": _proxy,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": _provisioned,
    "aws:lambda/function:Function": _function,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:kms/key:Key": _key,
    "aws:kms/replicaKey:ReplicaKey": _key,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:route53/zone:Zone": _zone,
    "aws:route53/healthCheck:HealthCheck": _health_check,
    "aws:arcregionswitch/plan:Plan": _region_switch_plan,
}


class _Source:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def budget_of(synth: Synthesis) -> float | None:
    """The stack's ``idleCostBudget``, validated by settings.py as the program would."""
    import settings

    parsed = settings.parse(_Source(synth.config), project=settings.PROJECT, stack=synth.stack)
    return parsed.idle_cost_budget


def idle_cost(synth: Synthesis) -> StackCost:
    index = _Index(synth)
    cost = StackCost(
        synth.stack, synth.config.get(f"{_project()}:environment", "prod"), budget=budget_of(synth)
    )
    for resource in synth.aws_resources():
        rule = IDLE_RULES.get(resource.type)
        if rule is not None:
            for line in rule(resource, index):
                cost.lines.append(
                    Line(
                        line.kind,
                        f"{line.item} [{region_of(synth, resource)}]",
                        line.usd,
                        line.price_key,
                    )
                )
        elif resource.type not in NO_IDLE_CHARGE and resource.type not in cost.unpriced:
            cost.unpriced.append(resource.type)
    return cost


def _project() -> str:
    from contract import names

    return names.PROJECT


# --- per million requests ------------------------------------------------------------------

MILLION = 1_000_000
# Assumptions for log volume per request (no published figure): Lambda's START/END/REPORT
# platform lines, and one AWS WAF log record per web ACL (JSON with headers).
LAMBDA_PLATFORM_LOG_BYTES = 300
WAF_LOG_RECORD_BYTES = 1500
# X-Ray's default sampling rule: the first request each second and 5 % of the others.
XRAY_RESERVOIR_PER_S = 1
XRAY_RATE = 0.05
XRAY_SOURCE = "https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html"
# One 4 KB write I/O per small row written (assumption); reads are served from the buffer
# cache (no read I/O) at this data size.
WRITE_IOS_PER_WRITE_STATEMENT = 1


def xray_sampled_share(rate_per_s: float = fig.DESIGN_PEAK_RPS) -> float:
    if rate_per_s <= XRAY_RESERVOIR_PER_S:
        return 1.0
    return (XRAY_RESERVOIR_PER_S + XRAY_RATE * (rate_per_s - XRAY_RESERVOIR_PER_S)) / rate_per_s


def _gb(size_bytes: float) -> float:
    return size_bytes / 1000**3


def _lambda_invocation(memory_mb: int, arch: str, duration_ms: float) -> float:
    """USD of one invocation: the request and its duration billed in whole milliseconds."""
    key = "lambda_arm_gb_second" if arch == "arm64" else "lambda_x86_gb_second"
    billed_s = math.ceil(duration_ms) / 1000
    return price("lambda_request_million") / MILLION + memory_mb / 1024 * billed_s * price(key)


@dataclass(frozen=True)
class RouteCost:
    route: str
    stack: str
    lines: tuple[Line, ...]

    @property
    def per_million(self) -> float:
        return sum(line.usd for line in self.lines)


def route_cost(
    model: Model,
    route: str,
    *,
    access_log_bytes: int,
    web_acls: int,
    secondary_regions: int,
    subscriber: RouteProfile | None = None,
) -> RouteCost:
    """USD per million requests of ``route`` in ``model``'s stack."""
    facts: StackFacts = model.facts
    profile = model.profiles[route]
    api = facts.functions["api"]
    work = model.warm(profile)
    lines = [
        Line(
            "CloudFront",
            "HTTPS requests",
            price("cloudfront_https_million"),
            "cloudfront_https_million",
        ),
        Line(
            "CloudFront",
            f"data out ({profile.response_bytes} B body)",
            MILLION * _gb(profile.response_bytes) * price("cloudfront_out_gb"),
            "cloudfront_out_gb",
        ),
        Line(
            "WAF",
            f"{web_acls} web ACLs inspect it",
            web_acls * price("waf_request_million"),
            "waf_request_million",
        ),
        Line(
            "API Gateway",
            "REST request",
            price("api_gateway_rest_million"),
            "api_gateway_rest_million",
        ),
        Line(
            "Lambda",
            f"api: request + {math.ceil(work.mean_ms)} ms at {api.memory_mb} MB",
            MILLION * _lambda_invocation(api.memory_mb, api.architecture, work.mean_ms),
            "lambda_arm_gb_second",
        ),
    ]
    authorizer = facts.functions.get("authorizer")
    if facts.routes.get(route) and authorizer is not None:
        miss = 1.0 if facts.authorizer_ttl_seconds == 0 else 1 / fig.REQUESTS_PER_SESSION
        verify = (model.authorizer_ms or {}).get("p50", 0.0) * fig.cpu_scale(authorizer.memory_mb)
        lines.append(
            Line(
                "Lambda",
                f"authorizer on {miss:.0%} of requests (cache misses)",
                MILLION
                * miss
                * _lambda_invocation(authorizer.memory_mb, authorizer.architecture, verify),
                "lambda_request_million",
            )
        )
    if api.snap_start:
        share = cold_share(api.provisioned, fig.DESIGN_PEAK_RPS, model.mean_api_ms())
        lines.append(
            Line(
                "Lambda",
                f"SnapStart restores ({share:.2%} of requests)",
                MILLION * share * api.memory_mb / 1024 * price("snapstart_restore_gb"),
                "snapstart_restore_gb",
            )
        )
    sampled = xray_sampled_share()
    lines.append(
        Line(
            "X-Ray",
            f"traces ({sampled:.1%} sampled at the design peak)",
            sampled * price("xray_trace_million"),
            "xray_trace_million",
        )
    )
    log_bytes = access_log_bytes + LAMBDA_PLATFORM_LOG_BYTES + web_acls * WAF_LOG_RECORD_BYTES
    lines.append(
        Line(
            "CloudWatch Logs",
            f"{log_bytes} B: access log line, Lambda platform lines, {web_acls} WAF records",
            MILLION * _gb(log_bytes) * price("cloudwatch_logs_ingest_gb"),
            "cloudwatch_logs_ingest_gb",
        )
    )
    lines += _writes(profile, secondary_regions, "Aurora")
    for call in profile.aws_calls:
        lines += _aws_call(call.name)
    if subscriber is not None and any(
        c.name == "sns.Publish" and c.target == "topic" for c in profile.aws_calls
    ):
        lines += _subscriber(subscriber, facts, secondary_regions)
    return RouteCost(route, facts.stack, tuple(lines))


def _writes(profile: RouteProfile, secondary_regions: int, kind: str) -> list[Line]:
    writes = sum(1 for trip in profile.round_trips for sql in trip.statements if _is_write(sql))
    if not writes:
        return []
    ios = writes * WRITE_IOS_PER_WRITE_STATEMENT
    return [
        Line(
            kind,
            f"{ios} write I/O per request",
            ios * price("aurora_io_million"),
            "aurora_io_million",
        ),
        Line(
            kind,
            f"{ios} write I/O replicated to {secondary_regions} secondary region(s)",
            ios * secondary_regions * price("aurora_replicated_write_io_million"),
            "aurora_replicated_write_io_million",
        ),
    ]


def _is_write(sql: str) -> bool:
    from bench.profile import is_write

    return is_write(sql)


def _aws_call(name: str) -> list[Line]:
    if name == "sns.Publish":
        return [Line("SNS", "Publish", price("sns_publish_million"), "sns_publish_million")]
    if name in ("s3.HeadObject", "s3.GetObject"):
        return [
            Line("S3", name, price("s3_get_request_thousand") * 1000, "s3_get_request_thousand"),
            # The trail records S3 data events on the assets buckets (R-OBS-3).
            Line(
                "CloudTrail",
                f"data event for {name}",
                price("cloudtrail_data_event_100k") * 10,
                "cloudtrail_data_event_100k",
            ),
        ]
    # Control-plane style calls (CreatePlatformEndpoint, ...) carry no request charge.
    return []


def _subscriber(subscriber: RouteProfile, facts: StackFacts, secondary_regions: int) -> list[Line]:
    """What the queued write costs downstream: SQS receive and delete per batch, the
    subscriber's invocation per batch, its writes."""
    from bench.latency import warm_work

    function = facts.functions.get("subscriber")
    batch = 10
    lines = [
        Line(
            "SQS",
            f"receive + delete per batch of {batch}",
            2 / batch * price("sqs_request_million"),
            "sqs_request_million",
        )
    ]
    if function is not None:
        duration = warm_work(subscriber, facts, function="subscriber").mean_ms
        lines.append(
            Line(
                "Lambda",
                f"subscriber per batch of {batch} ({math.ceil(duration)} ms a message)",
                MILLION
                / batch
                * _lambda_invocation(function.memory_mb, function.architecture, duration * batch),
                "lambda_arm_gb_second",
            )
        )
    return lines + _writes(subscriber, secondary_regions, "Aurora (subscriber)")


def access_log_bytes(synth: Synthesis) -> int:
    """The access log format's length: a rendered line is about as long as its template."""
    for stage in synth.of_type("aws:apigateway/stage:Stage"):
        settings = stage.inputs.get("accessLogSettings") or {}
        if settings.get("format"):
            return len(settings["format"])
    return 0


def web_acls_in_path(global_synth: Synthesis | None, regional: Synthesis) -> int:
    edge = 0
    if global_synth is not None:
        edge = sum(
            1
            for acl in global_synth.of_type("aws:wafv2/webAcl:WebAcl")
            if acl.inputs.get("scope") == "CLOUDFRONT"
        )
    return edge + len(regional.of_type("aws:wafv2/webAclAssociation:WebAclAssociation"))
