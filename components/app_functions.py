"""The application's Lambda functions (R-FN-1, R-SEC-1, R-AUTH-2), one least-privilege role each.

``api``, ``subscriber`` and ``user_directory`` reach Aurora through the RDS Proxy, so they run
in the private subnets behind one security group (HTTPS to the VPC endpoints and the S3
gateway, PostgreSQL to the VPC). ``user_migration``, ``authorizer`` and ``push_relay`` stay out
of the VPC: each must call an AWS API in the *peer* region (Cognito; SNS for a device endpoint
registered there), which an interface endpoint cannot reach (endpoints serve their own region
only) and which, without a NAT gateway, nothing in the VPC can reach. The trigger consults the
replicated user directory in Aurora by invoking ``user_directory`` (only its role may), which
verifies the password inside the VPC and answers found / not found / wrong password; the api
reaches another region's device endpoints by invoking ``push_relay`` (only its role may)
through the VPC endpoint for Lambda. See docs/logic.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.code_signing import FunctionSecurity
from components.function import Function, FunctionArgs, VpcPlacement
from contract import environment as env
from contract import names
from contract.environment import Variable
from contract.functions import APP_FUNCTIONS, DATABASE_FUNCTIONS
from contract.functions import spec as function_spec

POSTGRES_PORT = names.DB_PORT
# CodeDeploy (components/releases.py), not `pulumi up`, moves each app function's ``live``
# alias: the deploy workflow runs scripts/release.py after each regional pulumi up.
RELEASES_OWN_THE_LIVE_ALIAS = True


@dataclass(frozen=True)
class AppFunctionsArgs:
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
    # The region's environment key and code signing (R-SEC-3).
    security: FunctionSecurity
    code: Mapping[str, pulumi.Input[pulumi.Archive]]
    # The region's shared dependency layer (components.function.DependencyLayer).
    layer_arn: pulumi.Input[str]
    reserved_concurrency: Mapping[str, int]
    provisioned_concurrency: Mapping[str, int]
    # The DB_* variables from the data tier (endpoints, user, auth mode, secret ARN, sslmode)
    # and the IAM statements that grant access to them (rds-db:connect, the secret, its key).
    db_environment: Mapping[Variable, pulumi.Input[str]]
    db_statements: Sequence[Mapping[str, Any]]
    # The messaging tier's topic that receives POST /users.
    events_topic_arn: pulumi.Input[str]
    # This region's replicated assets bucket and its key (global stack outputs): uploads.
    assets_bucket_name: pulumi.Input[str]
    assets_key_arn: pulumi.Input[str]
    # The api's grants from the messaging tier (publish to the events topic, mobile push) and
    # the PUSH_PLATFORM_APPLICATIONS JSON: the tier that owns a resource states its grants.
    api_statements: Sequence[Mapping[str, Any]]
    push_env_json: pulumi.Input[str]
    # Security groups the in-VPC functions also carry (the data tier's proxy clients group).
    extra_security_group_ids: Sequence[pulumi.Input[str]] = ()
    legacy_auth_url: str | None = None
    log_level: str = "INFO"
    # Statements other tiers add to one function's role (e.g. the subscriber's queue).
    extra_statements: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    # Functions restored from a SnapStart snapshot (settings: exclusive with provisioned).
    snap_start: Mapping[str, bool] = field(default_factory=dict)


def api_statements(
    region: str, *, assets_bucket_name: str, assets_key_arn: str
) -> list[dict[str, Any]]:
    """What the API handler needs on the assets bucket (pure, tested without mocks): exactly
    the object operations its upload routes make, under the uploads prefix; its messaging
    and push grants come from the messaging tier."""
    bucket = f"arn:aws:s3:::{assets_bucket_name}"
    uploads = names.UPLOADS_PREFIX
    return [
        {
            # Presigned URLs carry the signer's permissions: POST /uploads presigns a PUT,
            # GET /uploads/{key} a GET (after a HeadObject, which GetObject authorizes). No
            # s3:ListBucket: a missing key then answers 403, which the handler maps to 404.
            "Sid": "PresignUploadsAndDownloads",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": [f"{bucket}/{uploads}*"],
        },
        {
            # The bucket encrypts with its own key (SSE-KMS, bucket key): a presigned PUT
            # needs a data key and a presigned GET a decrypt, through S3 only.
            "Sid": "EncryptUploadsWithTheBucketKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [assets_key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]


def invoke_statement(sid: str, alias_arn: str) -> dict[str, Any]:
    """Invoke one function's ``live`` alias and nothing else."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["lambda:InvokeFunction"],
        "Resource": [alias_arn],
    }


def list_user_pools_statement() -> dict[str, Any]:
    return {
        # ListUserPools has no resource-level permissions (AWS service authorization
        # reference): it only lists this account's pools, which is what makes them trusted.
        "Sid": "FindUserPoolsByName",
        "Effect": "Allow",
        "Action": ["cognito-idp:ListUserPools"],
        "Resource": "*",
    }


def authorizer_statements(account_id: str, regions: Sequence[str]) -> list[dict[str, Any]]:
    """The authorizer finds the trusted pools by name, then their app clients by name."""
    return [
        list_user_pools_statement(),
        {
            # Resource-level: only this account's pools, only in the serving regions.
            "Sid": "FindAppClientsByName",
            "Effect": "Allow",
            "Action": ["cognito-idp:ListUserPoolClients"],
            "Resource": [f"arn:aws:cognito-idp:{r}:{account_id}:userpool/*" for r in regions],
        },
    ]


def user_migration_statements(
    account_id: str, peer_regions: Sequence[str], directory_alias_arn: str | None = None
) -> list[dict]:
    """The trigger authenticates a migrating user against a peer region's pool and asks the
    in-VPC directory function (its ``live`` alias only)."""
    statements = [list_user_pools_statement()]
    if directory_alias_arn:
        statements.append(invoke_statement("AskTheUserDirectory", directory_alias_arn))
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


class AppFunctions(pulumi.ComponentResource):
    """Creates the in-VPC functions' ``aws.ec2.SecurityGroup`` (+ egress rules) and six
    ``Function`` components: ``api``, ``subscriber``, ``user_directory`` (in the VPC, with the
    region's dependency layer) and ``user_migration`` (with the layer), ``authorizer`` and
    ``push_relay`` (outside the VPC, no layer). Each function's environment is built from its
    handler's schema (``contract.environment``).

    Attributes: ``api``, ``subscriber``, ``user_directory``, ``user_migration``,
    ``authorizer``, ``push_relay`` (``Function``), ``functions`` (name → Function),
    ``layer_arn``, ``security_group_id``.
    """

    FUNCTIONS = APP_FUNCTIONS
    # In the VPC, each container holding one proxy connection (R-DATA-5).
    DATABASE_FUNCTIONS = DATABASE_FUNCTIONS

    def __init__(
        self, name: str, args: AppFunctionsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        # Formerly "mobile-backend:logic:Logic": the alias keeps deployed URNs (and so every
        # function) in place instead of replacing them.
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="mobile-backend:logic:Logic")])
        )
        super().__init__("mobile-backend:compute:AppFunctions", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        environment = args.environment
        peers = [r for r in args.regions if r != args.region]

        layer_arn = args.layer_arn

        security_group = aws.ec2.SecurityGroup(
            f"{name}-functions",
            vpc_id=args.vpc_id,
            description="In-VPC Lambda functions: AWS endpoints, S3 gateway and the RDS Proxy",
            egress=[],
            tags={"Name": f"{names.prefix(environment)}-functions"},
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

        log_level = {env.LOG_LEVEL: args.log_level}
        api_env: dict[Variable, pulumi.Input[str]] = {
            **log_level,
            **args.db_environment,
            env.EVENTS_TOPIC_ARN: args.events_topic_arn,
            env.ASSETS_BUCKET: args.assets_bucket_name,
            env.PUSH_PLATFORM_APPLICATIONS: args.push_env_json,
        }
        migration_env: dict[Variable, pulumi.Input[str]] = {
            **log_level,
            env.USER_POOL_NAME: names.user_pool_name(environment),
            env.PEER_USER_POOL_REGIONS: json.dumps(peers),
            env.MIGRATION_CLIENT_NAME: names.MIGRATION_CLIENT_NAME,
        }
        if args.legacy_auth_url:
            migration_env[env.LEGACY_AUTH_URL] = args.legacy_auth_url
        authorizer_env: dict[Variable, pulumi.Input[str]] = {
            **log_level,
            env.USER_POOL_NAME: names.user_pool_name(environment),
            env.USER_POOL_REGIONS: json.dumps(list(args.regions)),
            env.TOKEN_USE: "id",
            # Found by these names in every region's pool (handlers/authorizer/pools.py).
            env.APP_CLIENT_NAMES: json.dumps(list(names.API_CLIENT_NAMES)),
        }

        api_policy = pulumi.Output.all(args.assets_bucket_name, args.assets_key_arn).apply(
            lambda v: api_statements(args.region, assets_bucket_name=v[0], assets_key_arn=v[1])
        )

        self.functions: dict[str, Function] = {}

        def deploy(fn: str, spec: dict[str, Any]) -> Function:
            statements = [*spec["statements"], *args.extra_statements.get(fn, ())]
            self.functions[fn] = Function(
                f"{name}-{fn.replace('_', '-')}",
                FunctionArgs(
                    spec=function_spec(fn),
                    function_name=names.function_name(environment, fn),
                    code=args.code[fn],
                    account_id=args.account_id,
                    region=args.region,
                    logs_key_arn=args.logs_key_arn,
                    log_retention_days=args.log_retention_days,
                    reserved_concurrency=args.reserved_concurrency[fn],
                    security=args.security,
                    provisioned_concurrency=args.provisioned_concurrency[fn],
                    snap_start=args.snap_start.get(fn, False),
                    statements=_with_computed(statements, spec["computed"]),
                    layers=spec["layers"],
                    environment=spec["environment"],
                    vpc=spec["vpc"],
                    # The deploy workflow releases after each pulumi up (scripts/release.py).
                    released_by_codedeploy=RELEASES_OWN_THE_LIVE_ALIAS,
                ),
                opts=child,
            )
            return self.functions[fn]

        # Standard library + the runtime's boto3 only (like the authorizer): no layer.
        relay_alias_arn = deploy(
            "push_relay",
            {
                "environment": {
                    **log_level,
                    env.PUSH_REGIONS: json.dumps(list(args.regions)),
                },
                "statements": [],
                "computed": None,
                "vpc": None,
                "layers": [],
            },
        ).alias_arn
        api_env[env.PUSH_RELAY_FUNCTION] = relay_alias_arn
        api_policy = pulumi.Output.all(api_policy, relay_alias_arn).apply(
            lambda v: [*v[0], invoke_statement("ReachOtherRegionsDevices", v[1])]
        )
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
            "environment": {**log_level, **args.db_environment},
            "statements": [*args.db_statements],
            "computed": None,
            "vpc": in_vpc,
            "layers": [layer_arn],
        }
        deploy("subscriber", in_vpc_reader)
        # The trigger's way into Aurora: it invokes this function's alias, nothing else does.
        directory_alias_arn = deploy("user_directory", in_vpc_reader).alias_arn
        migration_env[env.USER_DIRECTORY_FUNCTION] = directory_alias_arn
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
        authorizer_policy = pulumi.Output.from_input(args.account_id).apply(
            lambda account: authorizer_statements(account, args.regions)
        )
        deploy(
            "authorizer",
            {
                "environment": authorizer_env,
                "statements": [],
                "computed": authorizer_policy,
                "vpc": None,
                "layers": [],
            },
        )

        self.api = self.functions["api"]
        self.subscriber = self.functions["subscriber"]
        self.user_directory = self.functions["user_directory"]
        self.user_migration = self.functions["user_migration"]
        self.authorizer = self.functions["authorizer"]
        self.push_relay = self.functions["push_relay"]
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
