"""The logic tier's Lambda functions (R-FN-1, R-SEC-1, R-AUTH-2), one least-privilege role each.

``api``, ``subscriber`` and ``user_directory`` reach Aurora through the RDS Proxy, so they run
in the private subnets behind one security group (HTTPS to the VPC endpoints and the S3
gateway, PostgreSQL to the VPC). ``user_migration`` and ``authorizer`` stay out of the VPC: both
must call Cognito in the *peer* region (and the migration trigger a legacy HTTPS endpoint),
which an interface endpoint cannot reach (endpoints serve their own region only) and which,
without a NAT gateway, nothing in the VPC can reach. The trigger consults the replicated user
directory in Aurora by invoking ``user_directory`` (only its role may), which verifies the
password inside the VPC and answers found / not found / wrong password. See docs/logic.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.function import Function, FunctionArgs, VpcPlacement

# Handler-side limits: Cognito waits at most 5 s for a trigger; API Gateway 29 s at most.
# The directory lookup runs inside the trigger's 5 s, so it must give up well before.
TIMEOUTS = {
    "api": 10,
    "subscriber": 30,
    "user_directory": 3,
    "user_migration": 5,
    "authorizer": 5,
}
# user_directory: scrypt verification is CPU-bound and Lambda's CPU share grows with memory.
MEMORY_MB = {
    "api": 1024,
    "subscriber": 512,
    "user_directory": 512,
    "user_migration": 256,
    "authorizer": 256,
}
DESCRIPTIONS = {
    "api": "REST API handler (API Gateway proxy integration)",
    "subscriber": "Applies queued writes to Aurora idempotently (SQS batch)",
    "user_directory": "Finds and authenticates a migrating user in the Aurora user directory",
    "user_migration": "Cognito user-migration trigger (peer-region pool, directory, legacy)",
    "authorizer": "API Gateway token authorizer for every region's user pool",
}
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOADS_PREFIX = "uploads/"
POSTGRES_PORT = 5432
from contract.telemetry import METRICS_NAMESPACE  # noqa: E402 (where the literal was)


def function_name(environment: str, function: str) -> str:
    return f"mobile-backend-{environment}-{function.replace('_', '-')}"


def user_pool_name(environment: str) -> str:
    """Deterministic, so every region finds every pool by name (no cross-stack reference)."""
    return f"mobile-backend-{environment}-users"


MIGRATION_CLIENT_NAME = "migration"


@dataclass(frozen=True)
class LogicArgs:
    environment: str
    region: str
    regions: Sequence[str]
    is_primary: bool
    account_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: pulumi.Input[Sequence[str]]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    code: Mapping[str, pulumi.Input[pulumi.Archive]]
    # The region's shared dependency layer (components.function.DependencyLayer).
    layer_arn: pulumi.Input[str]
    reserved_concurrency: Mapping[str, int]
    provisioned_concurrency: Mapping[str, int]
    # DB_* variables from the data tier (endpoints, user, auth mode, secret ARN, sslmode) and
    # the IAM statements that grant access to them (rds-db:connect, the secret, its key).
    db_environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    db_statements: Sequence[Mapping[str, Any]] = ()
    events_topic_arn: pulumi.Input[str] | None = None
    assets_bucket_name: pulumi.Input[str] | None = None
    assets_key_arn: pulumi.Input[str] | None = None
    # The api's grants from the messaging tier (publish to the events topic, mobile push) and
    # the PUSH_PLATFORM_APPLICATIONS JSON: the tier that owns a resource states its grants.
    api_statements: Sequence[Mapping[str, Any]] = ()
    push_env_json: pulumi.Input[str] = "{}"
    # Security groups the in-VPC functions also carry (the data tier's proxy clients group).
    extra_security_group_ids: Sequence[pulumi.Input[str]] = ()
    legacy_auth_url: str | None = None
    log_level: str = "INFO"
    # Statements other tiers add to one function's role (e.g. the subscriber's queue).
    extra_statements: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)


def api_statements(
    region: str,
    *,
    assets_bucket_name: str | None,
    assets_key_arn: str | None,
) -> list[dict[str, Any]]:
    """What the API handler needs on the assets bucket (pure, tested without mocks); its
    messaging and push grants come from the messaging tier."""
    statements: list[dict[str, Any]] = []
    if assets_bucket_name:
        bucket = f"arn:aws:s3:::{assets_bucket_name}"
        statements += [
            {
                # Presigned URLs carry the signer's permissions: PUT/GET under uploads/ only.
                "Sid": "PresignUploadsAndDownloads",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": [f"{bucket}/{UPLOADS_PREFIX}*"],
            },
            {
                # HeadObject answers 404 (not 403) for a missing key only with ListBucket.
                "Sid": "SeeUploadsPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket],
                "Condition": {"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*"]}},
            },
        ]
        if assets_key_arn:
            statements.append(
                {
                    "Sid": "EncryptUploadsWithTheBucketKey",
                    "Effect": "Allow",
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": [assets_key_arn],
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                }
            )
    return statements


def list_user_pools_statement() -> dict[str, Any]:
    return {
        # ListUserPools has no resource-level permissions (AWS service authorization
        # reference): it only lists this account's pools, which is what makes them trusted.
        "Sid": "FindUserPoolsByName",
        "Effect": "Allow",
        "Action": ["cognito-idp:ListUserPools"],
        "Resource": "*",
    }


def user_migration_statements(
    account_id: str, peer_regions: Sequence[str], directory_alias_arn: str | None = None
) -> list[dict]:
    """The trigger authenticates a migrating user against a peer region's pool and asks the
    in-VPC directory function (its ``live`` alias only)."""
    statements = [list_user_pools_statement()]
    if directory_alias_arn:
        statements.append(
            {
                "Sid": "AskTheUserDirectory",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [directory_alias_arn],
            }
        )
    if peer_regions:
        statements.append(
            {
                "Sid": "AuthenticateAgainstPeerPools",
                "Effect": "Allow",
                "Action": [
                    "cognito-idp:AdminInitiateAuth",
                    "cognito-idp:AdminGetUser",
                    "cognito-idp:ListUserPoolClients",
                ],
                "Resource": [
                    f"arn:aws:cognito-idp:{peer}:{account_id}:userpool/*" for peer in peer_regions
                ],
            }
        )
    return statements


class Logic(pulumi.ComponentResource):
    """Creates the in-VPC functions' ``aws.ec2.SecurityGroup`` (+ egress rules) and five
    ``Function`` components: ``api``, ``subscriber``, ``user_directory`` (in the VPC, with the
    region's dependency layer) and ``user_migration`` (with the layer), ``authorizer``
    (outside the VPC).

    Attributes: ``api``, ``subscriber``, ``user_directory``, ``user_migration``,
    ``authorizer`` (``Function``), ``functions`` (name → Function), ``layer_arn``,
    ``security_group_id``.
    """

    FUNCTIONS = ("api", "subscriber", "user_directory", "user_migration", "authorizer")
    # In the VPC, each container holding one proxy connection (R-DATA-5).
    DATABASE_FUNCTIONS = ("api", "subscriber", "user_directory")

    def __init__(self, name: str, args: LogicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:logic:Logic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.environment
        peers = [r for r in args.regions if r != args.region]

        layer_arn = args.layer_arn

        security_group = aws.ec2.SecurityGroup(
            f"{name}-functions",
            vpc_id=args.vpc_id,
            description="In-VPC Lambda functions: AWS endpoints, S3 gateway and the RDS Proxy",
            egress=[],
            tags={"Name": f"mobile-backend-{env}-functions"},
            opts=child,
        )
        # The only routes out of the private subnets are the VPC endpoints and the S3 gateway.
        s3_prefix_list = aws.ec2.get_prefix_list_output(
            name=f"com.amazonaws.{args.region}.s3", opts=pulumi.InvokeOptions(parent=self)
        )
        egress = {
            "https-vpc": {"cidr_ipv4": args.vpc_cidr, "from_port": 443, "to_port": 443},
            "https-s3": {
                "prefix_list_id": s3_prefix_list.id,
                "from_port": 443,
                "to_port": 443,
            },
            "postgres-vpc": {
                "cidr_ipv4": args.vpc_cidr,
                "from_port": POSTGRES_PORT,
                "to_port": POSTGRES_PORT,
            },
        }
        for rule, spec in egress.items():
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-functions-{rule}",
                security_group_id=security_group.id,
                ip_protocol="tcp",
                description=rule,
                opts=child,
                **spec,
            )
        in_vpc = VpcPlacement(
            args.private_subnet_ids, [security_group.id, *args.extra_security_group_ids]
        )

        common = {
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "LOG_LEVEL": args.log_level,
            "APP_ROLE_HINT": "primary" if args.is_primary else "secondary",
        }
        api_env: dict[str, pulumi.Input[str]] = {
            **common,
            **args.db_environment,
            "UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
            "PUSH_PLATFORM_APPLICATIONS": args.push_env_json,
        }
        if args.events_topic_arn is not None:
            api_env["EVENTS_TOPIC_ARN"] = args.events_topic_arn
        if args.assets_bucket_name is not None:
            api_env["ASSETS_BUCKET"] = args.assets_bucket_name
        migration_env: dict[str, pulumi.Input[str]] = {
            **common,
            "USER_POOL_NAME": user_pool_name(env),
            "PEER_USER_POOL_REGIONS": json.dumps(peers),
            "MIGRATION_CLIENT_NAME": MIGRATION_CLIENT_NAME,
        }
        if args.legacy_auth_url:
            migration_env["LEGACY_AUTH_URL"] = args.legacy_auth_url
        authorizer_env = {
            "LOG_LEVEL": args.log_level,
            "USER_POOL_NAME": user_pool_name(env),
            "USER_POOL_REGIONS": json.dumps(list(args.regions)),
            "TOKEN_USE": "id",
        }

        api_policy = pulumi.Output.all(args.assets_bucket_name, args.assets_key_arn).apply(
            lambda v: api_statements(args.region, assets_bucket_name=v[0], assets_key_arn=v[1])
        )

        self.functions: dict[str, Function] = {}

        def deploy(fn: str, spec: dict[str, Any]) -> Function:
            statements = [*spec["statements"], *args.extra_statements.get(fn, ())]
            environment = dict(spec["environment"])
            if fn != "authorizer":
                environment["POWERTOOLS_SERVICE_NAME"] = fn
            self.functions[fn] = Function(
                f"{name}-{fn.replace('_', '-')}",
                FunctionArgs(
                    function_name=function_name(env, fn),
                    handler_package=fn,
                    description=DESCRIPTIONS[fn],
                    code=args.code[fn],
                    account_id=args.account_id,
                    region=args.region,
                    logs_key_arn=args.logs_key_arn,
                    log_retention_days=args.log_retention_days,
                    reserved_concurrency=args.reserved_concurrency[fn],
                    provisioned_concurrency=args.provisioned_concurrency[fn],
                    statements=_with_computed(statements, spec["computed"]),
                    layers=spec["layers"],
                    environment=environment,
                    timeout_seconds=TIMEOUTS[fn],
                    memory_mb=MEMORY_MB[fn],
                    vpc=spec["vpc"],
                ),
                opts=child,
            )
            return self.functions[fn]

        deploy(
            "api",
            {
                "environment": api_env,
                "statements": [*args.db_statements, *args.api_statements],
                "computed": api_policy,
                "vpc": in_vpc,
                "layers": [layer_arn],
            },
        )
        in_vpc_reader = {
            "environment": {**common, **args.db_environment},
            "statements": [*args.db_statements],
            "computed": None,
            "vpc": in_vpc,
            "layers": [layer_arn],
        }
        deploy("subscriber", in_vpc_reader)
        # The trigger's way into Aurora: it invokes this function's alias, nothing else does.
        directory_alias_arn = deploy("user_directory", in_vpc_reader).alias_arn
        migration_env["USER_DIRECTORY_FUNCTION"] = directory_alias_arn
        migration_policy = pulumi.Output.all(args.account_id, directory_alias_arn).apply(
            lambda v: user_migration_statements(v[0], peers, v[1])
        )
        deploy(
            "user_migration",
            {
                "environment": migration_env,
                "statements": [],
                "computed": migration_policy,
                "vpc": None,
                "layers": [layer_arn],
            },
        )
        # Standard library + the runtime's boto3 only: no layer, smallest cold start.
        deploy(
            "authorizer",
            {
                "environment": authorizer_env,
                "statements": [list_user_pools_statement()],
                "computed": None,
                "vpc": None,
                "layers": [],
            },
        )

        self.api = self.functions["api"]
        self.subscriber = self.functions["subscriber"]
        self.user_directory = self.functions["user_directory"]
        self.user_migration = self.functions["user_migration"]
        self.authorizer = self.functions["authorizer"]
        self.layer_arn = pulumi.Output.from_input(layer_arn)
        self.security_group_id = security_group.id
        self.register_outputs(
            {"layer_arn": self.layer_arn, "security_group_id": self.security_group_id}
        )


def _with_computed(
    statements: Sequence[Mapping[str, Any]], computed: pulumi.Output[list[dict]] | None
) -> pulumi.Input[Sequence[Mapping[str, Any]]]:
    if computed is None:
        return list(statements)
    return pulumi.Output.all(list(statements), computed).apply(lambda v: [*v[0], *v[1]])
