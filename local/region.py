"""The local region, built from the synthesized stacks (R-DEV-2).

``build_region(graph, endpoint, ...)`` walks the resources the dev regional stack (and the
global stack, for the buckets and DB secrets it places in that region) declares in that region
and creates each one in the local cloud (moto) through the API call AWS would receive, with
the synthesized properties: queues (redrive, visibility, retention), the topic and its
subscriptions (raw delivery, filter policies), buckets (versioning, CORS, policies), the
Cognito pool (schema, password policy, MFA) and its app clients (read/write attributes, auth
flows), secrets and their values. Nothing here states a property of its own: a property the
graph does not carry is not set, and one this module cannot apply fails (``shapes``).

What the local machine has instead of a resource is recorded as a replacement for its
synthesized identifiers (``translation``): moto's ARNs, ids and URLs, and for endpoints the
loopback host and ports (PostgreSQL for the cluster and proxy endpoints, the local web origin
for the site's ``https://<domain>``). Each function the local runtime runs (the API's
integration, the API's authorizer, the queue's event source mapping target, the deploy-time
migration invocation) then gets its synthesized environment and its role's policy statements
through that table, strictly: a value naming a resource this region did not create is a
``WiringGap``. Types the local region does not model are listed in ``NOT_MODELLED`` with the
reason; a type in neither list stops the build, so a new kind of resource in the stacks is a
decision, not an omission.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contract import functions as function_specs
from contract import names
from local.shapes import UnmappedProperty, input_shape, to_api
from local.synthesis import (
    ACCOUNT,
    PROJECT,
    ROOT,
    Resource,
    Synthesis,
    load_stack_config,
    stage_build,
    synthesize,
)
from local.translation import (
    References,
    Resolver,
    Translation,
    WiringGap,
    dbuser_prefix,
)

# Pulumi marks a secret value with this key in serialized inputs (a marker, not a secret).
BUILD_DIR_VARIABLE = "MOBILE_BACKEND_BUILD_DIR"  # stacks/artifacts.py
# The SQL the migrations function ships: its checksum is part of the deploy-time invocation.
MIGRATIONS = ROOT / "backend" / "migrations"
SECRET_SENTINEL = "4dabf18193072939515e22adb298388d"  # noqa: S105
LOCALHOST = "127.0.0.1"

# Resource types present in the stacks that the local region does not create, and why. The
# documentation's "not modelled" list is this table (docs/local.md).
NOT_MODELLED: dict[str, str] = {
    "aws:acm/certificate:Certificate": "local endpoints are plain HTTP on loopback",
    "aws:acm/certificateValidation:CertificateValidation": "no certificates locally",
    "aws:apigateway/account:Account": "API Gateway's CloudWatch role: no execution logs locally",
    "aws:apigateway/basePathMapping:BasePathMapping": "no custom domain: the local gateway "
    "serves the API at its own URL, the web origin under /api as CloudFront does",
    "aws:apigateway/deployment:Deployment": "the local gateway serves the synthesized body",
    "aws:apigateway/domainName:DomainName": "no custom domain locally",
    "aws:apigateway/methodSettings:MethodSettings": "no throttling, caching or execution logs",
    "aws:apigateway/usagePlan:UsagePlan": "its keys are required locally, its throttle and "
    "quota are not enforced",
    "aws:cloudwatch/dashboard:Dashboard": "no CloudWatch locally",
    "aws:cloudwatch/eventRule:EventRule": "no EventBridge rules locally",
    "aws:cloudwatch/eventTarget:EventTarget": "no EventBridge rules locally",
    "aws:cloudwatch/logGroup:LogGroup": "function logs go to <workdir>/backend.log",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "no alarms locally",
    "aws:cloudwatch/queryDefinition:QueryDefinition": "no Logs Insights locally: function "
    "logs go to <workdir>/backend.log",
    "aws:codedeploy/application:Application": "no releases locally: each function runs the "
    "repository's code in place, so there is no version to shift to",
    "aws:codedeploy/deploymentGroup:DeploymentGroup": "no releases locally (no versions, no "
    "alarms to roll back on)",
    "aws:cognito/identityPool:IdentityPool": "no local client uses federated identities",
    "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment": "no identity pool",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "one loopback network, no VPC",
    "aws:ec2/flowLog:FlowLog": "no VPC",
    "aws:ec2/routeTable:RouteTable": "no VPC",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "no VPC",
    "aws:ec2/securityGroup:SecurityGroup": "no VPC: every local port is reachable on loopback",
    "aws:ec2/subnet:Subnet": "no VPC",
    "aws:ec2/vpc:Vpc": "no VPC",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "every AWS API is the one local emulator",
    "aws:iam/role:Role": "trust policies are not evaluated; a role's policies are enforced on "
    "the function that assumes it (local.enforcement)",
    "aws:iam/rolePolicy:RolePolicy": "enforced on the function whose role it belongs to",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "the one attachment is RDS Enhanced "
    "Monitoring's service role: no RDS host agent locally",
    "aws:kms/alias:Alias": "encryption at rest is not modelled (moto does not encrypt)",
    "aws:kms/key:Key": "not created (moto does not encrypt); the kms:* authorizations AWS "
    "makes for a call on an encrypted resource are checked against its ARN",
    "aws:kms/keyPolicy:KeyPolicy": "KMS key policies are not evaluated",
    "aws:kms/replicaKey:ReplicaKey": "encryption at rest is not modelled",
    "aws:lambda/codeSigningConfig:CodeSigningConfig": "local functions run the repository's "
    "code in place: nothing is deployed, so nothing is signed or verified",
    "aws:lambda/layerVersion:LayerVersion": "functions import the repository's packages",
    "aws:lambda/permission:Permission": "resource policies of functions are not evaluated",
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": "one warm process "
    "per function",
    "aws:rds/clusterInstance:ClusterInstance": "one PostgreSQL server stands in for the cluster",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "PostgreSQL runs with its defaults; "
    "statement_timeout comes from the role, set by the real migration runner",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": "no connection pooling locally",
    "aws:rds/proxyTarget:ProxyTarget": "the proxy endpoints are the local server",
    "aws:rds/subnetGroup:SubnetGroup": "no VPC",
    "aws:route53/healthCheck:HealthCheck": "no DNS or health checks locally",
    "aws:route53/record:Record": "no DNS: the local URLs are printed",
    "aws:s3/bucketAcl:BucketAcl": "ACLs are disabled on every bucket that serves the app",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "storage classes and "
    "expiry take days; nothing local observes them",
    "aws:s3/bucketLogging:BucketLogging": "no server access logs locally",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "audit bucket only",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "one region runs locally",
    "aws:secretsmanager/secretRotation:SecretRotation": "rotation needs Lambda invoking by "
    "Secrets Manager, which moto cannot do; the steps are tested directly (tests/handlers)",
    "aws:signer/signingJob:SigningJob": "no code is deployed locally, so none is signed",
    "aws:signer/signingProfile:SigningProfile": "no code is deployed locally, so none is signed",
    "aws:sns/platformApplication:PlatformApplication": "no push credentials locally",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "no VPC",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "no VPC",
    "aws:wafv2/webAcl:WebAcl": "no WAF in front of the local gateway (origin verify unchecked)",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "no WAF locally",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "no WAF locally",
}

# Properties the local cloud cannot honour, per type, and why (every other synthesized
# property is applied or the build stops).
NOT_APPLIED: dict[str, dict[str, str]] = {
    "aws:cognito/userPool:UserPool": {
        "lambdaConfig": "moto never invokes Cognito triggers (the user-migration trigger is "
        "tested directly)",
    },
    "aws:sqs/queue:Queue": {
        "kmsMasterKeyId": "encryption at rest is not modelled",
        "kmsDataKeyReusePeriodSeconds": "encryption at rest is not modelled",
    },
    "aws:sns/topic:Topic": {"kmsMasterKeyId": "encryption at rest is not modelled"},
    "aws:secretsmanager/secret:Secret": {
        "kmsKeyId": "encryption at rest is not modelled",
        "replicas": "one region runs locally",
        "recoveryWindowInDays": "applies to deletion only",
    },
    "aws:s3/bucket:Bucket": {"forceDestroy": "applies to deletion only"},
}
# Everywhere: tags are not behaviour, and a resource's region is the local region.
IGNORED = {"tags", "tagsAll", "region"}


# Synthesized property → attribute name in the SQS/SNS APIs (attributes are string maps there,
# not structures botocore's model could map).
QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "deduplicationScope": "DeduplicationScope",
    "fifoThroughputLimit": "FifoThroughputLimit",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
}

# Set once every queue exists: they name other queues and topics.
QUEUE_LINKS = {
    "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy",
    "policy": "Policy",
}

TOPIC_ATTRIBUTES = {
    "displayName": "DisplayName",
    "policy": "Policy",
    "deliveryPolicy": "DeliveryPolicy",
    "fifoTopic": "FifoTopic",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "signatureVersion": "SignatureVersion",
    "tracingConfig": "TracingConfig",
}

SUBSCRIPTION_ATTRIBUTES = {
    "rawMessageDelivery": "RawMessageDelivery",
    "filterPolicy": "FilterPolicy",
    "filterPolicyScope": "FilterPolicyScope",
    "redrivePolicy": "RedrivePolicy",
    "deliveryPolicy": "DeliveryPolicy",
    "subscriptionRoleArn": "SubscriptionRoleArn",
}


@dataclass
class LocalFunction:
    """One function as the local runtime runs it: synthesized, then translated."""

    key: str  # contract.functions name: "api", "subscriber", ...
    function_name: str
    arn: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    statements: list[dict[str, Any]]
    role_arn: str


@dataclass
class EventSource:
    """The SQS event source mapping, as the local poller runs it."""

    function: str
    queue_url: str
    queue_arn: str
    batch_size: int
    window_seconds: int
    report_batch_item_failures: bool
    visibility_timeout_seconds: int
    max_receive_count: int | None
    dead_letter_queue_url: str | None


@dataclass
class DatabaseSpec:
    """What the cluster and proxy declare, for the local PostgreSQL that stands in for both."""

    name: str
    master_username: str
    master_password: str
    # Logins that reach the server through the proxy: IAM tokens, TLS required.
    proxy_requires_tls: bool
    proxy_iam_users: list[str]
    # Host → the proxy's resource id in ``rds-db:connect`` ARNs (``prx-…``), for the IAM check.
    db_resource_ids: dict[str, str]


@dataclass
class Migration:
    """The deploy-time invocation of the migrations function (aws.lambda_.Invocation)."""

    function: str
    payload: dict[str, Any]


@dataclass
class LocalRegion:
    environment: str
    region: str
    account: str
    endpoint: str
    functions: dict[str, LocalFunction]
    event_sources: list[EventSource]
    api_function: str
    api_document: dict[str, Any]
    stage_name: str
    authorizer_function: str | None
    authorizer_ttl_seconds: int
    authorizer_identity_pattern: str | None
    user_pool_id: str
    user_pool_name: str
    client_ids: dict[str, str]
    web_config: dict[str, Any]
    # The edge's response headers policy (the distribution's default behaviour), as headers.
    web_headers: dict[str, str]
    database: DatabaseSpec
    migration: Migration | None
    buckets: list[str]
    queues: dict[str, str]
    topics: dict[str, str]
    # Local ARN of a CMK-encrypted topic, queue, secret or bucket → its key's (synthesized) ARN:
    # the KMS authorizations AWS makes on the caller's behalf are checked against the same ARN
    # the function's policy names (keys themselves are not created).
    encryption_keys: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    # App client → API key value, for the keys bound to a usage plan of the stage (R-OPS-2).
    api_keys: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """JSON-ready (functions included: each child process reads its own entry)."""
        return asdict(self)

    @classmethod
    def from_description(cls, data: dict[str, Any]) -> LocalRegion:
        data = dict(data)
        data["functions"] = {k: LocalFunction(**v) for k, v in data["functions"].items()}
        data["event_sources"] = [EventSource(**e) for e in data["event_sources"]]
        data["database"] = DatabaseSpec(**data["database"])
        data["migration"] = Migration(**data["migration"]) if data["migration"] else None
        return cls(**data)


@dataclass(frozen=True)
class Graph:
    """The synthesized stacks one local region comes from."""

    environment: str
    region: str
    global_stack: Synthesis
    regional_stack: Synthesis

    @property
    def domain(self) -> str:
        return self.regional_stack.config[f"{PROJECT}:domain"]

    def in_region(self) -> list[tuple[Synthesis, Resource]]:
        found = []
        for graph in (self.global_stack, self.regional_stack):
            for resource in graph.resources:
                if not resource.custom or not resource.type.startswith("aws:"):
                    continue
                if graph.region_of(resource) == self.region:
                    found.append((graph, resource))
        return found


Client = Callable[[str], Any]


def _secret_value(value: Any) -> Any:
    if isinstance(value, dict) and SECRET_SENTINEL in value:
        return value["value"]
    return value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class UnsupportedRegion(ValueError):
    """A region the local machine cannot stand in for (a secondary: see ``synthesize_graph``)."""


class _Builder:
    def __init__(
        self,
        graph: Graph,
        client: Client,
        *,
        endpoint: str,
        db_port: int,
        web_origin: str,
    ):
        self.graph = graph
        self.client = client
        self.endpoint = endpoint
        self.db_port = db_port
        self.translation = Translation(aws_endpoint=endpoint)
        self.references = References([graph.global_stack, graph.regional_stack])
        # The site's own origins answer from the local web origin (S3 CORS, the web config).
        for origin in (f"https://{graph.domain}", f"https://www.{graph.domain}"):
            self.translation.add(origin, web_origin, "the web app's origin")
        self.db_hosts: set[str] = set()
        self.queues: dict[str, str] = {}
        self.queue_attributes: dict[str, dict[str, str]] = {}
        self.topics: dict[str, str] = {}
        self.buckets: list[str] = []
        self.pool: tuple[str, str] | None = None
        self.client_ids: dict[str, str] = {}
        self.cluster: Resource | None = None
        self.proxies: list[Resource] = []
        self.objects: dict[str, Resource] = {}
        self.skipped: dict[str, str] = {}
        self.queue_urls: dict[str, str] = {}  # local ARN → URL
        self.encryption_keys: dict[str, str] = {}
        self.resources: list[tuple[Synthesis, Resource]] = []

    # --- helpers ---------------------------------------------------------------------------
    def encrypted(self, arn: str, key: Any) -> None:
        if isinstance(key, str) and key.startswith("arn:"):
            self.encryption_keys[arn] = key

    def bucket_encryption(self, resource: Resource) -> None:
        """Not applied (no KMS locally), but the IAM check needs the bucket's key."""
        bucket = self.local(resource.inputs["bucket"], f"{resource}.bucket")
        for rule in resource.inputs.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            self.encrypted(f"arn:aws:s3:::{bucket}", default.get("kmsMasterKeyId"))

    def local(self, value: Any, where: str) -> Any:
        """Translate a reference between resources of the region (already created)."""
        if isinstance(value, str):
            found = self.translation.lookup(value)
            if found is None:
                raise WiringGap(f"{where} = {value!r} names nothing the local region created")
            return found
        return value

    def props(self, resource: Resource, used: Iterable[str]) -> dict[str, Any]:
        """The resource's inputs minus those applied elsewhere; unknown ones fail later."""
        skip = set(used) | IGNORED | set(NOT_APPLIED.get(resource.type, {}))
        return {k: v for k, v in resource.inputs.items() if k not in skip and v is not None}

    def refuse_unknown(self, resource: Resource, known: Iterable[str]) -> None:
        extra = set(self.props(resource, known))
        if extra:
            raise UnmappedProperty(
                f"{resource}: local/region.py does not apply {sorted(extra)}; map them or list "
                f"them in NOT_APPLIED with the reason"
            )

    # --- messaging -------------------------------------------------------------------------
    @staticmethod
    def _attribute(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value if isinstance(value, str) else json.dumps(value)

    def queue(self, resource: Resource) -> None:
        self.refuse_unknown(resource, {"name", *QUEUE_ATTRIBUTES, *QUEUE_LINKS})
        name = resource.inputs.get("name") or resource.name
        attributes = {
            api: self._attribute(resource.inputs[key])
            for key, api in QUEUE_ATTRIBUTES.items()
            if resource.inputs.get(key) is not None
        }
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.translation.add(resource.mock_id, url, resource)
        self.translation.add(resource.outputs.get("arn"), arn, resource)
        self.translation.add(resource.outputs.get("url"), url, resource)
        self.queues[name] = url
        self.queue_urls[arn] = url
        self.encrypted(arn, resource.inputs.get("kmsMasterKeyId"))
        self.queue_attributes[url] = attributes

    def queue_links(self, resource: Resource) -> None:
        url = self.translation.lookup(resource.mock_id)
        assert url is not None
        linked = {
            api: self._attribute(self.deep(_json(resource.inputs[key]), f"{resource}.{key}"))
            for key, api in QUEUE_LINKS.items()
            if resource.inputs.get(key) is not None
        }
        if linked:
            self.client("sqs").set_queue_attributes(QueueUrl=url, Attributes=linked)
            self.queue_attributes[url].update(linked)

    def queue_policy(self, resource: Resource, attribute: str, key: str) -> None:
        self.refuse_unknown(resource, {"queueUrl", key})
        url = self.local(resource.inputs["queueUrl"], f"{resource}.queueUrl")
        value = self.deep(_json(resource.inputs[key]), f"{resource}.{key}")
        self.client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={attribute: json.dumps(value)}
        )
        self.queue_attributes.setdefault(url, {})[attribute] = json.dumps(value)

    def topic(self, resource: Resource) -> None:
        self.refuse_unknown(resource, {"name", *TOPIC_ATTRIBUTES})
        # Pulumi auto-names a topic without a name (logical name + suffix): the logical name.
        name = resource.inputs.get("name") or resource.name
        attributes = {
            api: self._attribute(resource.inputs[key])
            for key, api in TOPIC_ATTRIBUTES.items()
            if resource.inputs.get(key) is not None
        }
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        self.translation.add(resource.mock_id, arn, resource)
        self.translation.add(resource.outputs.get("arn"), arn, resource)
        self.topics[name] = arn
        self.encrypted(arn, resource.inputs.get("kmsMasterKeyId"))

    def topic_policy(self, resource: Resource) -> None:
        self.refuse_unknown(resource, {"arn", "policy"})
        arn = self.local(resource.inputs["arn"], f"{resource}.arn")
        policy = self.deep(_json(resource.inputs["policy"]), f"{resource}.policy")
        self.client("sns").set_topic_attributes(
            TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy)
        )

    def subscription(self, resource: Resource) -> None:
        known = {"topic", "protocol", "endpoint", "confirmationTimeoutInMinutes"}
        self.refuse_unknown(resource, known | set(SUBSCRIPTION_ATTRIBUTES))
        topic = self.local(resource.inputs["topic"], f"{resource}.topic")
        protocol = resource.inputs["protocol"]
        endpoint = resource.inputs["endpoint"]
        if protocol in ("sqs", "lambda", "firehose"):
            endpoint = self.local(endpoint, f"{resource}.endpoint")
        attributes = {
            api: self._attribute(self.deep(_json(resource.inputs[key]), f"{resource}.{key}"))
            for key, api in SUBSCRIPTION_ATTRIBUTES.items()
            if resource.inputs.get(key) is not None
        }
        arn = self.client("sns").subscribe(
            TopicArn=topic,
            Protocol=protocol,
            Endpoint=endpoint,
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        self.translation.add(resource.mock_id, arn, resource)
        self.translation.add(resource.outputs.get("arn"), arn, resource)

    # --- storage ---------------------------------------------------------------------------
    def bucket(self, resource: Resource) -> None:
        self.refuse_unknown(resource, {"bucket", "objectLockEnabled"})
        name = resource.inputs.get("bucket") or resource.name
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.graph.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.graph.region}
        if resource.inputs.get("objectLockEnabled"):
            kwargs["ObjectLockEnabledForBucket"] = True
        self.client("s3").create_bucket(**kwargs)
        self.translation.add(resource.mock_id, name, resource)
        self.translation.add(resource.outputs.get("arn"), f"arn:aws:s3:::{name}", resource)
        self.translation.add(name, name, resource)
        self.translation.add(f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}", resource)
        self.buckets.append(name)

    def bucket_config(self, resource: Resource, operation: str, argument: str) -> None:
        bucket = self.local(resource.inputs["bucket"], f"{resource}.bucket")
        props = self.props(resource, {"bucket"})
        value = self.deep(props, str(resource))
        if argument == "OwnershipControls":
            value = {"Rules": [value["rule"]]} if "rule" in value else value
        if argument == "Policy":
            self.client("s3").put_bucket_policy(
                Bucket=bucket, Policy=json.dumps(_json(value["policy"]))
            )
            return
        shape = input_shape("s3", operation).members[argument]
        if argument == "CORSConfiguration":
            value = {"CORSRules": value.pop("corsRules")} | value
        elif argument == "VersioningConfiguration":
            value = value.pop("versioningConfiguration")
        api = to_api(shape, value, where=str(resource))
        method = getattr(self.client("s3"), _snake(operation))
        method(Bucket=bucket, **{argument: api})

    def bucket_object(self, resource: Resource) -> None:
        # Served by the local web origin: the app's files from web/ (what the stack uploads),
        # config.json from the synthesized object itself.
        self.objects[resource.inputs.get("key", "")] = resource

    # --- secrets ---------------------------------------------------------------------------
    def secret(self, resource: Resource) -> None:
        self.refuse_unknown(resource, {"name", "description", "policy"})
        name = resource.inputs.get("name") or resource.name
        kwargs: dict[str, Any] = {"Name": name}
        if resource.inputs.get("description"):
            kwargs["Description"] = resource.inputs["description"]
        arn = self.client("secretsmanager").create_secret(**kwargs)["ARN"]
        self.encrypted(arn, resource.inputs.get("kmsKeyId"))
        self.translation.add(resource.mock_id, arn, resource)
        self.translation.add(resource.outputs.get("arn"), arn, resource)
        self.translation.add(name, name, resource)

    def secret_version(self, resource: Resource) -> None:
        self.refuse_unknown(resource, {"secretId", "secretString", "versionStages"})
        secret = self.local(resource.inputs["secretId"], f"{resource}.secretId")
        raw = _json(_secret_value(resource.inputs.get("secretString")))
        value = self.deep(raw, f"{resource}.secretString")
        if isinstance(raw, dict) and raw.get("host") in self.db_hosts and "port" in raw:
            # A port next to a database host moves with it: the local server has its own port.
            value["port"] = self.db_port
        kwargs: dict[str, Any] = {
            "SecretId": secret,
            "SecretString": value if isinstance(value, str) else json.dumps(value),
        }
        if resource.inputs.get("versionStages"):
            kwargs["VersionStages"] = list(resource.inputs["versionStages"])
        self.client("secretsmanager").put_secret_value(**kwargs)

    # --- identity --------------------------------------------------------------------------
    def user_pool(self, resource: Resource) -> None:
        props = self.props(resource, {"softwareTokenMfaConfiguration", "mfaConfiguration"})
        policies = (
            {"PasswordPolicy": props.pop("passwordPolicy")} if "passwordPolicy" in props else None
        )
        shape = input_shape("cognito-idp", "CreateUserPool")
        params = to_api(
            shape,
            props,
            where=str(resource),
            renames={"name": "PoolName", "schemas": "Schema"},
        )
        if policies:
            params["Policies"] = to_api(shape.members["Policies"], policies, where=str(resource))
        idp = self.client("cognito-idp")
        pool = idp.create_user_pool(**params)["UserPool"]
        mfa = resource.inputs.get("mfaConfiguration")
        if mfa:
            software = resource.inputs.get("softwareTokenMfaConfiguration") or {}
            idp.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                MfaConfiguration=mfa,
                SoftwareTokenMfaConfiguration={"Enabled": bool(software.get("enabled"))},
            )
        self.translation.add(resource.mock_id, pool["Id"], resource)
        self.translation.add(resource.outputs.get("arn"), pool["Arn"], resource)
        self.translation.add(
            resource.outputs.get("endpoint"),
            f"cognito-idp.{self.graph.region}.amazonaws.com/{pool['Id']}",
            resource,
        )
        self.translation.add(pool["Name"], pool["Name"], resource)
        self.pool = (pool["Id"], pool["Name"])

    def user_pool_client(self, resource: Resource) -> None:
        props = self.props(resource, {"userPoolId"})
        params = to_api(
            input_shape("cognito-idp", "CreateUserPoolClient"),
            self.deep(props, str(resource)),
            where=str(resource),
            renames={"name": "ClientName"},
        )
        pool = self.local(resource.inputs["userPoolId"], f"{resource}.userPoolId")
        created = self.client("cognito-idp").create_user_pool_client(UserPoolId=pool, **params)
        client_id = created["UserPoolClient"]["ClientId"]
        self.translation.add(resource.mock_id, client_id, resource)
        self.client_ids[params["ClientName"]] = client_id

    # --- database --------------------------------------------------------------------------
    def db_endpoint(self, resource: Resource) -> None:
        for key in ("endpoint", "readerEndpoint"):
            host = resource.outputs.get(key)
            if host:
                self.translation.add(host, LOCALHOST, resource)
                self.db_hosts.add(host)
        if resource.type == "aws:rds/cluster:Cluster":
            self.cluster = resource
        elif resource.type == "aws:rds/proxy:Proxy":
            self.proxies.append(resource)
            # AWS names a proxy's IAM resource by the id at the end of its ARN (prx-...).
            local_id = "prx-" + hashlib.sha256(resource.name.encode()).hexdigest()[:17]
            local_arn = f"arn:aws:rds:{self.graph.region}:{ACCOUNT}:db-proxy:{local_id}"
            self.translation.add(resource.outputs.get("arn"), local_arn, resource)
            self.translation.add(
                dbuser_prefix(resource.outputs.get("arn", "")), dbuser_prefix(local_arn), resource
            )

    # --- the walk --------------------------------------------------------------------------
    def deep(self, value: Any, where: str) -> Any:
        """Translate references inside a resource's own properties (lenient: resource policies
        may name resources of other regions or stacks, e.g. a distribution's ARN)."""
        if isinstance(value, str):
            found = self.translation.lookup(value)
            return value if found is None else found
        if isinstance(value, list):
            return [self.deep(item, where) for item in value]
        if isinstance(value, dict):
            return {k: self.deep(v, where) for k, v in value.items()}
        return value

    def build(self) -> list[tuple[Synthesis, Resource]]:
        resources = self.graph.in_region()
        unknown = sorted(
            {r.type for _, r in resources if r.type not in MODELLED and r.type not in NOT_MODELLED}
        )
        if unknown:
            raise UnmappedProperty(
                f"the stacks declare {unknown} in {self.graph.region}, which local/region.py "
                f"neither creates nor lists in NOT_MODELLED; decide which and say why there"
            )
        for typ, step in APPLY_STEPS:
            for _, resource in resources:
                if resource.type == typ:
                    step(self, resource)
        for _, resource in resources:
            if resource.type in NOT_MODELLED:
                self.skipped[resource.type] = NOT_MODELLED[resource.type]
        self.resources = resources
        return resources


def _snake(operation: str) -> str:
    out = ""
    for char in operation:
        out += f"_{char.lower()}" if char.isupper() and out else char.lower()
    return out


_S3 = "aws:s3/"
Step = Callable[[_Builder, Resource], None]


def _skip(builder: _Builder, resource: Resource) -> None:
    """Read by the function wiring (``_wire``), run by the local runtime, not created in moto."""


# In dependency order: a step only names resources an earlier step created.
APPLY_STEPS: list[tuple[str, Step]] = [
    ("aws:secretsmanager/secret:Secret", _Builder.secret),
    ("aws:rds/cluster:Cluster", _Builder.db_endpoint),
    ("aws:rds/proxy:Proxy", _Builder.db_endpoint),
    ("aws:rds/proxyEndpoint:ProxyEndpoint", _Builder.db_endpoint),
    ("aws:secretsmanager/secretVersion:SecretVersion", _Builder.secret_version),
    ("aws:sqs/queue:Queue", _Builder.queue),
    ("aws:sns/topic:Topic", _Builder.topic),
    ("aws:sqs/queue:Queue", _Builder.queue_links),
    ("aws:sqs/queuePolicy:QueuePolicy", lambda b, r: b.queue_policy(r, "Policy", "policy")),
    (
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
        lambda b, r: b.queue_policy(r, "RedriveAllowPolicy", "redriveAllowPolicy"),
    ),
    ("aws:sns/topicPolicy:TopicPolicy", _Builder.topic_policy),
    ("aws:sns/topicSubscription:TopicSubscription", _Builder.subscription),
    (f"{_S3}bucket:Bucket", _Builder.bucket),
    (
        f"{_S3}bucketVersioning:BucketVersioning",
        lambda b, r: b.bucket_config(r, "PutBucketVersioning", "VersioningConfiguration"),
    ),
    (
        f"{_S3}bucketCorsConfigurationV2:BucketCorsConfigurationV2",
        lambda b, r: b.bucket_config(r, "PutBucketCors", "CORSConfiguration"),
    ),
    (
        f"{_S3}bucketCorsConfiguration:BucketCorsConfiguration",
        lambda b, r: b.bucket_config(r, "PutBucketCors", "CORSConfiguration"),
    ),
    (
        f"{_S3}bucketPolicy:BucketPolicy",
        lambda b, r: b.bucket_config(r, "PutBucketPolicy", "Policy"),
    ),
    (
        f"{_S3}bucketPublicAccessBlock:BucketPublicAccessBlock",
        lambda b, r: b.bucket_config(r, "PutPublicAccessBlock", "PublicAccessBlockConfiguration"),
    ),
    (
        f"{_S3}bucketOwnershipControls:BucketOwnershipControls",
        lambda b, r: b.bucket_config(r, "PutBucketOwnershipControls", "OwnershipControls"),
    ),
    (f"{_S3}bucketObjectv2:BucketObjectv2", _Builder.bucket_object),
    (
        f"{_S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        _Builder.bucket_encryption,
    ),
    ("aws:cognito/userPool:UserPool", _Builder.user_pool),
    ("aws:cognito/userPoolClient:UserPoolClient", _Builder.user_pool_client),
    ("aws:lambda/function:Function", _skip),
    ("aws:lambda/alias:Alias", _skip),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", _skip),
    ("aws:lambda/invocation:Invocation", _skip),
    ("aws:apigateway/restApi:RestApi", _skip),
    ("aws:apigateway/stage:Stage", _skip),
    # Read by ``_Wiring.api_keys``: the local gateway refuses a request without one of them.
    ("aws:apigateway/apiKey:ApiKey", _skip),
    ("aws:apigateway/usagePlanKey:UsagePlanKey", _skip),
]
MODELLED = frozenset(typ for typ, _ in APPLY_STEPS)


# --- functions: what runs locally, with what environment and which grants -------------------
FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
INTEGRATION = "x-amazon-apigateway-integration"
AUTHORIZER = "x-amazon-apigateway-authorizer"


class _Wiring:
    """Finds the functions the local runtime runs by following the graph's own references:
    the REST API's integrations and authorizer, the event source mapping, the deploy-time
    invocation."""

    def __init__(self, builder: _Builder, resources: list[tuple[Synthesis, Resource]]):
        self.builder = builder
        self.graph = builder.graph
        self.resources = [r for _, r in resources]
        self.functions = [r for r in self.resources if r.type == FUNCTION]
        self.keys = {
            names.function_name(self.graph.environment, key): key
            for key in function_specs.FUNCTIONS
        }
        self.resolver = Resolver(builder.translation, builder.references, NOT_MODELLED)

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def function(self, reference: str, where: str) -> Resource:
        """The function a reference names: its ARN, name, or an alias's ARN."""
        for alias in self.of_type(ALIAS):
            if reference in (alias.outputs.get("arn"), alias.mock_id):
                reference = alias.inputs["functionName"]
        for function in self.functions:
            if reference in (function.inputs.get("name"), function.outputs.get("arn")):
                return function
        raise WiringGap(f"{where} = {reference!r} names no function of {self.graph.region}")

    def key(self, function: Resource) -> str:
        name = function.inputs["name"]
        if name not in self.keys:
            raise WiringGap(f"{function}: {name!r} is not a function of contract.functions")
        return self.keys[name]

    def statements(self, function: Resource) -> list[dict[str, Any]]:
        role_arn = function.inputs["role"]
        roles = [r for r in self.of_type("aws:iam/role:Role") if r.outputs.get("arn") == role_arn]
        if len(roles) != 1:
            raise WiringGap(f"{function}.role = {role_arn!r} names no role of the stack")
        (role,) = roles
        names_of_role = {role.mock_id, role_arn, role.inputs.get("name")}
        if role.inputs.get("managedPolicyArns") or role.inputs.get("inlinePolicies"):
            raise UnmappedProperty(f"{role}: policies inside the role are not read locally")
        documents = [
            p.inputs["policy"]
            for p in self.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs.get("role") in names_of_role
        ]
        for attachment in self.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            if attachment.inputs.get("role") in names_of_role:
                policy = [
                    p
                    for p in self.of_type("aws:iam/policy:Policy")
                    if p.outputs.get("arn") == attachment.inputs.get("policyArn")
                ]
                if not policy:
                    raise WiringGap(
                        f"{attachment}: managed policy {attachment.inputs.get('policyArn')} "
                        "cannot be evaluated locally (only the stack's own policies can)"
                    )
                documents.append(policy[0].inputs["policy"])
        statements: list[dict[str, Any]] = []
        for document in documents:
            parsed = _json(document)
            found = parsed.get("Statement", [])
            statements.extend(found if isinstance(found, list) else [found])
        return statements

    def local_function(self, function: Resource) -> LocalFunction:
        key = self.key(function)
        name = function.inputs["name"]
        where = f"function {name}"
        synthesized = dict((function.inputs.get("environment") or {}).get("variables") or {})
        environment = {
            k: self.resolver.value(str(v), f"{where} environment {k}")
            for k, v in synthesized.items()
        }
        self._local_ports(synthesized, environment)
        statements = [
            self.resolver.deep(s, f"{where} policy statement {s.get('Sid', i)}")
            for i, s in enumerate(self.statements(function))
        ]
        arn = self.local_arn(function)
        return LocalFunction(
            key=key,
            function_name=name,
            arn=arn,
            handler=function.inputs["handler"],
            timeout_seconds=int(function.inputs.get("timeout") or 3),
            memory_mb=int(function.inputs.get("memorySize") or 128),
            environment=environment,
            statements=statements,
            role_arn=function.inputs["role"],
        )

    def _local_ports(self, synthesized: dict[str, Any], environment: dict[str, str]) -> None:
        """A port next to a database host moves with it: the local server has its own port."""
        if not any(str(v) in self.builder.db_hosts for v in synthesized.values()):
            return
        port = str(
            int((self.builder.cluster.inputs if self.builder.cluster else {}).get("port") or 5432)
        )
        for key, value in synthesized.items():
            if key.endswith("_PORT") and str(value) == port:
                environment[key] = str(self.builder.db_port)

    def local_arn(self, function: Resource) -> str:
        return f"arn:aws:lambda:{self.graph.region}:{ACCOUNT}:function:{function.inputs['name']}"

    def record(self, function: Resource, arn: str) -> None:
        t = self.builder.translation
        t.add(function.outputs.get("arn"), arn, function)
        t.add(function.mock_id, arn, function)
        t.add(function.inputs["name"], function.inputs["name"], function)
        for alias in self.of_type(ALIAS):
            if alias.inputs.get("functionName") == function.inputs["name"]:
                t.add(alias.outputs.get("arn"), f"{arn}:{alias.inputs['name']}", alias)

    # --- the API -----------------------------------------------------------------------
    @staticmethod
    def _uri_function(uri: str) -> str:
        # arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations
        return uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0]

    def api(self) -> tuple[Resource, dict[str, Any], Resource | None, dict[str, Any]]:
        (rest_api,) = self.of_type("aws:apigateway/restApi:RestApi")
        body = _json(rest_api.inputs["body"])
        targets = {
            self._uri_function(operation[INTEGRATION]["uri"])
            for item in body.get("paths", {}).values()
            for operation in item.values()
            if isinstance(operation, dict) and INTEGRATION in operation
        }
        if len(targets) != 1:
            raise WiringGap(f"{rest_api}: the local gateway hosts one function, found {targets}")
        api = self.function(targets.pop(), f"{rest_api} integration uri")
        authorizer, settings = None, {}
        for scheme in (body.get("components", {}).get("securitySchemes") or {}).values():
            if AUTHORIZER in scheme:
                settings = scheme[AUTHORIZER]
                uri = self._uri_function(settings["authorizerUri"])
                authorizer = self.function(uri, f"{rest_api} authorizerUri")
        return api, body, authorizer, settings

    def api_keys(self, environment: str) -> dict[str, str]:
        """App client → value of each enabled API key bound to a usage plan (R-OPS-2)."""
        apps = {names.api_key_name(environment, app): app for app in names.APP_KEY_CLIENTS}
        bound = {
            b.inputs["keyId"] for b in self.of_type("aws:apigateway/usagePlanKey:UsagePlanKey")
        }
        found = {}
        for key in self.of_type("aws:apigateway/apiKey:ApiKey"):
            if key.mock_id in bound and key.inputs.get("enabled", True):
                found[apps[key.inputs["name"]]] = _secret_value(key.inputs["value"])
        return found

    def event_sources(self) -> list[tuple[Resource, EventSource]]:
        found = []
        for mapping in self.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
            where = str(mapping)
            function = self.function(mapping.inputs["functionName"], f"{where}.functionName")
            queue_arn = self.builder.local(mapping.inputs["eventSourceArn"], f"{where}.source")
            url = self.builder.queue_urls[queue_arn]
            attributes = self.builder.queue_attributes[url]
            redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
            dlq_url = self.builder.queue_urls.get(redrive.get("deadLetterTargetArn", ""))
            source = EventSource(
                function=self.key(function),
                queue_url=url,
                queue_arn=queue_arn,
                batch_size=int(mapping.inputs.get("batchSize") or 10),
                window_seconds=int(mapping.inputs.get("maximumBatchingWindowInSeconds") or 0),
                report_batch_item_failures="ReportBatchItemFailures"
                in (mapping.inputs.get("functionResponseTypes") or []),
                visibility_timeout_seconds=int(attributes.get("VisibilityTimeout", "30")),
                max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
                dead_letter_queue_url=dlq_url,
            )
            found.append((function, source))
        return found

    def migration(self) -> tuple[Resource, Migration] | None:
        for invocation in self.of_type("aws:lambda/invocation:Invocation"):
            function = self.function(invocation.inputs["functionName"], str(invocation))
            payload = self.resolver.deep(_json(invocation.inputs["input"]), f"{invocation}.input")
            return function, Migration(function=self.key(function), payload=payload)
        return None


def edge_headers(graph: Graph, translation: Translation) -> dict[str, str]:
    """The headers CloudFront adds to the web app's responses, from the response headers policy
    of the distribution's default behaviour; ``connect-src`` sources on AWS hosts become the
    local cloud (the page talks to Cognito and S3 there)."""
    distributions = graph.global_stack.of_type("aws:cloudfront/distribution:Distribution")
    if not distributions:
        return {}
    behaviour = distributions[0].inputs.get("defaultCacheBehavior") or {}
    policy_id = behaviour.get("responseHeadersPolicyId")
    policies = [
        r
        for r in graph.global_stack.of_type(
            "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
        )
        if policy_id in (r.mock_id, r.outputs.get("id"))
    ]
    if not policies:
        return {}
    config = dict(policies[0].inputs.get("securityHeadersConfig") or {})
    headers: dict[str, str] = {}

    def take(key: str) -> dict[str, Any] | None:
        return config.pop(key, None)

    if (frame := take("frameOptions")) is not None:
        headers["X-Frame-Options"] = frame["frameOption"]
    if (csp := take("contentSecurityPolicy")) is not None:
        directives = []
        for directive in csp["contentSecurityPolicy"].split(";"):
            sources: list[str] = []
            for token in directive.split():
                local = translation.lookup(token) if token.startswith("https://") else None
                local = local.rstrip("/") if local else token
                if local not in sources:
                    sources.append(local)
            directives.append(" ".join(sources))
        headers["Content-Security-Policy"] = "; ".join(d for d in directives if d)
    if (referrer := take("referrerPolicy")) is not None:
        headers["Referrer-Policy"] = referrer["referrerPolicy"]
    if (xss := take("xssProtection")) is not None:
        value = "1" if xss.get("protection") else "0"
        headers["X-XSS-Protection"] = value + ("; mode=block" if xss.get("modeBlock") else "")
    if take("contentTypeOptions") is not None:
        headers["X-Content-Type-Options"] = "nosniff"
    if (hsts := take("strictTransportSecurity")) is not None:
        value = f"max-age={int(hsts['accessControlMaxAgeSec'])}"
        value += "; includeSubDomains" if hsts.get("includeSubdomains") else ""
        value += "; preload" if hsts.get("preload") else ""
        headers["Strict-Transport-Security"] = value
    if config:
        raise UnmappedProperty(
            f"{policies[0]}: local/region.py does not turn {sorted(config)} into headers"
        )
    for item in (policies[0].inputs.get("customHeadersConfig") or {}).get("items") or []:
        headers[item["header"]] = item["value"]
    return headers


def _database(builder: _Builder) -> DatabaseSpec:
    cluster = builder.cluster
    if cluster is None:
        raise WiringGap(f"no Aurora cluster in {builder.graph.region}: nothing to run locally")
    secrets = {
        version.inputs["secretId"]: _json(_secret_value(version.inputs["secretString"]))
        for _, version in builder.resources
        if version.type == "aws:secretsmanager/secretVersion:SecretVersion"
    }
    master = cluster.inputs["masterUsername"]
    iam_users: list[str] = []
    requires_tls = False
    db_resource_ids: dict[str, str] = {}
    for proxy in builder.proxies:
        requires_tls = requires_tls or bool(proxy.inputs.get("requireTls"))
        for auth in proxy.inputs.get("auths") or []:
            login = secrets.get(auth.get("secretArn"), {})
            if auth.get("iamAuth") == "REQUIRED" and login.get("username") not in (None, master):
                iam_users.append(login["username"])
        local = builder.translation.lookup(proxy.outputs.get("arn", ""))
        if local:
            db_resource_ids[LOCALHOST] = local.rsplit(":", 1)[-1]
    return DatabaseSpec(
        name=cluster.inputs.get("databaseName") or names.DB_NAME,
        master_username=master,
        master_password=str(_secret_value(cluster.inputs["masterPassword"])),
        proxy_requires_tls=requires_tls,
        proxy_iam_users=sorted(set(iam_users)),
        db_resource_ids=db_resource_ids,
    )


def build_region(
    graph: Graph, client: Client, *, endpoint: str, db_port: int, web_origin: str
) -> LocalRegion:
    """Create ``graph``'s region in the local cloud behind ``client`` and wire its functions."""
    builder = _Builder(graph, client, endpoint=endpoint, db_port=db_port, web_origin=web_origin)
    resources = builder.build()
    wiring = _Wiring(builder, resources)
    api, body, authorizer, authorizer_settings = wiring.api()
    run = {api.inputs["name"]: api}
    if authorizer is not None:
        run[authorizer.inputs["name"]] = authorizer
    sources = wiring.event_sources()
    for function, _ in sources:
        run[function.inputs["name"]] = function
    migration = wiring.migration()
    if migration is not None:
        run[migration[0].inputs["name"]] = migration[0]
    # Every function of the region gets its local ARN first: one that runs may name another,
    # including one that does not run here (the api names the push relay, which it invokes
    # only for a device registered in another region: never in a one-region local run).
    for function in wiring.functions:
        wiring.record(function, wiring.local_arn(function))
    local_functions: dict[str, LocalFunction] = {}
    for function in run.values():
        local = wiring.local_function(function)
        local_functions[local.key] = local
    (stage,) = wiring.of_type("aws:apigateway/stage:Stage")
    pool_id, pool_name = builder.pool or ("", "")
    config_object = builder.objects.get("config.json")
    web_config = (
        builder.deep(_json(config_object.inputs["content"]), str(config_object))
        if config_object is not None
        else {}
    )
    return LocalRegion(
        environment=graph.environment,
        region=graph.region,
        account=ACCOUNT,
        endpoint=endpoint,
        functions=local_functions,
        event_sources=[source for _, source in sources],
        api_function=wiring.key(api),
        api_document=body,
        stage_name=stage.inputs["stageName"],
        authorizer_function=wiring.key(authorizer) if authorizer is not None else None,
        authorizer_ttl_seconds=int(authorizer_settings.get("authorizerResultTtlInSeconds") or 0),
        authorizer_identity_pattern=authorizer_settings.get("identityValidationExpression"),
        user_pool_id=pool_id,
        user_pool_name=pool_name,
        client_ids=builder.client_ids,
        web_config=web_config,
        web_headers=edge_headers(graph, builder.translation),
        database=_database(builder),
        migration=migration[1] if migration is not None else None,
        buckets=builder.buckets,
        queues=builder.queues,
        topics=builder.topics,
        encryption_keys=builder.encryption_keys,
        skipped=builder.skipped,
        api_keys=wiring.api_keys(graph.environment),
    )


def environment_stacks(environment: str) -> tuple[str, dict[str, str]]:
    """The environment's global stack and its regional stacks by region, from the stack files
    (``Pulumi.<environment>-*.yaml``), by the role and region their config declares."""
    global_stack, regional = None, {}
    for path in sorted(ROOT.glob(f"Pulumi.{environment}-*.yaml")):
        stack = path.name[len("Pulumi.") : -len(".yaml")]
        config = load_stack_config(stack)
        if config.get(f"{PROJECT}:environment", "prod") != environment:
            continue
        if config.get(f"{PROJECT}:role") == "global":
            global_stack = stack
        else:
            regional[config["aws:region"]] = stack
    if global_stack is None or not regional:
        raise FileNotFoundError(
            f"no stack files for environment {environment!r} (Pulumi.{environment}-global.yaml "
            f"and one Pulumi.{environment}-<region>.yaml per region); fix: add them, or pick an "
            f"environment that has them"
        )
    return global_stack, regional


def synthesize_graph(environment: str, build_dir: Path, region: str | None = None) -> Graph:
    """Synthesize ``environment``'s global stack and the regional stack of ``region`` (default:
    the primary region) under mocks, the regional one fed with the global one's outputs."""
    global_stack, regional = environment_stacks(environment)
    config = load_stack_config(global_stack)
    region = region or config[f"{PROJECT}:primaryRegion"]
    if region not in regional:
        raise FileNotFoundError(
            f"environment {environment!r} has no regional stack in {region} (stacks: "
            f"{', '.join(f'{s} ({r})' for r, s in sorted(regional.items()))}); fix: pass one of "
            f"those regions"
        )
    primary = config[f"{PROJECT}:primaryRegion"]
    if region != primary:
        # A secondary's cluster joins the global cluster (no master login, no migration) and
        # its DB secrets are replicas of the primary's: none of which one local server models.
        raise UnsupportedRegion(
            f"{regional[region]} ({region}) is a secondary region; the local backend runs the "
            f"writer region only. Fix: omit --region, or pass the primary, {primary}"
        )
    stack = regional[region]
    previous = os.environ.get(BUILD_DIR_VARIABLE)
    os.environ[BUILD_DIR_VARIABLE] = str(stage_build(build_dir, migrations=MIGRATIONS))
    try:
        global_synth = synthesize(global_stack)
        reference = load_stack_config(stack)[f"{PROJECT}:globalStack"]
        regional_synth = synthesize(stack, stack_outputs={reference: global_synth.outputs})
    finally:
        if previous is None:
            os.environ.pop(BUILD_DIR_VARIABLE, None)
        else:
            os.environ[BUILD_DIR_VARIABLE] = previous
    return Graph(environment, region, global_synth, regional_synth)
