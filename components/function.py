"""One Lambda function done the same way everywhere (R-FN-1, R-SEC-1).

Each function gets its own role holding only the statements its caller passes in, an explicit
log group (retention + KMS) so logs never land in an unencrypted, never-expiring default
group, X-Ray Active tracing, reserved concurrency, a published version behind a ``live``
alias (provisioned concurrency attaches to the alias, never to $LATEST), and, for functions
invoked asynchronously, retries with an on-failure destination so no event is dropped.
Every function is deployed with its region's ``FunctionSecurity`` (R-SEC-3): environment
variables encrypted with the region's customer-managed key, and code signed in the same
deployment for the region's code signing config (``components.code_signing``).

The function's environment is checked against its handler's schema
(``contract.environment``) before anything is declared: a required variable missing, a
variable the handler never reads, or one the Lambda runtime owns fails synthesis naming the
function and the variable. Once the values are known (``pulumi up``, the unit tests) they are
parsed with the handler's own settings code, so a value the handler would refuse fails the
deploy, not the first request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.code_signing import CodeSigning, FunctionSecurity
from components.log_group import LogStorage, encrypted_log_group
from components.policy_documents import assume_role_policy, document
from contract import environment as env_schema
from contract import names, telemetry
from contract.environment import SettingsError, Variable
from contract.functions import FunctionSpec

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
ALIAS = names.LIVE_ALIAS


@dataclass(frozen=True)
class VpcPlacement:
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]


@dataclass(frozen=True)
class AsyncInvocation:
    """How the function behaves when invoked with InvocationType=Event."""

    on_failure_arn: pulumi.Input[str]
    maximum_retry_attempts: int = 2
    maximum_event_age_seconds: int = 3600


@dataclass(frozen=True)
class FunctionArgs:
    # Handler, description, timeout and memory (contract.functions).
    spec: FunctionSpec
    # Physical function name (also names the log group, so it must be known up front).
    function_name: str
    code: pulumi.Input[pulumi.Archive]
    account_id: pulumi.Input[str]
    region: str
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    reserved_concurrency: int
    # The region's environment key and code signing (R-SEC-3).
    security: FunctionSecurity
    # IAM statements (dicts, may contain Outputs, or an Output of the whole list) the function
    # needs beyond logging/tracing.
    statements: pulumi.Input[Sequence[Mapping[str, Any]]] = ()
    layers: Sequence[pulumi.Input[str]] = ()
    # Keyed by the handler schema's variables; the telemetry variables are added here.
    environment: Mapping[Variable, pulumi.Input[str]] = field(default_factory=dict)
    provisioned_concurrency: int = 0
    # Lambda SnapStart on published versions (the ``live`` alias always points at one);
    # Lambda refuses it together with provisioned concurrency.
    snap_start: bool = False
    vpc: VpcPlacement | None = None
    async_invocation: AsyncInvocation | None = None
    # R-OPS-1: CodeDeploy moves the ``live`` alias (components.releases); ``pulumi up`` only
    # publishes the new version, or it would shift all traffic at once behind the canary.
    released_by_codedeploy: bool = False


def _logging_statements(log_group_arn: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        {
            # X-Ray has no resource-level permissions for these two write-only actions.
            "Sid": "WriteTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    ]


def _vpc_statements(region: str, account_id: str) -> list[dict[str, Any]]:
    # What AWSLambdaVPCAccessExecutionRole grants, narrowed: the ENI writes are scoped to this
    # account and region's ARNs (they support resource-level permissions); only the two
    # Describe calls, which have none, stay on "*".
    ec2 = f"arn:aws:ec2:{region}:{account_id}"
    in_region = {"StringEquals": {"aws:RequestedRegion": region}}
    return [
        {
            "Sid": "DescribeVpcForNetworkInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            "Resource": "*",
            "Condition": in_region,
        },
        {
            "Sid": "CreateNetworkInterfacesInOwnSubnets",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface"],
            "Resource": [
                f"{ec2}:network-interface/*",
                f"{ec2}:subnet/*",
                f"{ec2}:security-group/*",
            ],
        },
        {
            "Sid": "ManageOwnNetworkInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": [f"{ec2}:network-interface/*"],
        },
    ]


class Function(pulumi.ComponentResource):
    """Creates ``aws.cloudwatch.LogGroup`` ``/aws/lambda/<function_name>``, ``aws.iam.Role``
    (trust: Lambda in this account) with one inline ``RolePolicy``, the code's upload and
    signing job (``CodeSigning.sign``), ``aws.lambda_.Function`` (python3.12 arm64, X-Ray
    Active, JSON logs, published, the signed code, the region's code signing config and
    environment key; SnapStart on published versions when asked), ``aws.lambda_.Alias``
    ``live``,
    optionally ``ProvisionedConcurrencyConfig`` on the alias and
    ``FunctionEventInvokeConfig`` with an on-failure destination.

    Attributes: ``function`` (the Function), ``alias`` (the Alias), ``role``,
    ``invoke_arn`` (alias invoke ARN, for API Gateway), ``alias_arn``, ``log_group_name``.
    """

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:compute:Function", name, None, opts)
        if args.snap_start and args.provisioned_concurrency > 0:
            raise pulumi.RunError(
                f"{args.function_name}: SnapStart and provisioned concurrency "
                f"({args.provisioned_concurrency}) cannot both be on one version. Fix: drop one "
                "(settings.py refuses the combination in stack config)"
            )
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        variables = function_environment(args)

        log_group = encrypted_log_group(
            f"{name}-logs",
            log_group_name=f"/aws/lambda/{args.function_name}",
            storage=LogStorage(args.logs_key_arn, args.log_retention_days),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            description=f"Execution role of {args.function_name} (least privilege)",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(assume_role_policy("lambda.amazonaws.com", account))
            ),
            opts=child,
        )

        def policy_json(values: list[Any]) -> str:
            log_group_arn, account_id, statements = values
            all_statements = _logging_statements(log_group_arn)
            if args.vpc is not None:
                all_statements += _vpc_statements(args.region, account_id)
            all_statements += list(statements)
            return json.dumps(document(*all_statements))

        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(
                log_group.arn, args.account_id, pulumi.Output.from_input(args.statements)
            ).apply(policy_json),
            opts=child,
        )

        signed = args.security.code_signing.sign(
            name, args.code, key=args.function_name, parent=self
        )
        vpc_config = None
        if args.vpc is not None:
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.vpc.subnet_ids,
                security_group_ids=args.vpc.security_group_ids,
            )
        function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            description=spec.description,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=spec.handler,
            s3_bucket=signed.s3_bucket,
            s3_key=signed.s3_key,
            code_signing_config_arn=args.security.code_signing.config_arn,
            role=role.arn,
            layers=list(args.layers),
            memory_size=spec.memory_mb,
            timeout=spec.timeout_seconds,
            reserved_concurrent_executions=args.reserved_concurrency,
            publish=True,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=log_group.name
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
            kms_key_arn=args.security.environment_key_arn,
            vpc_config=vpc_config,
            # The snapshot is taken when a version is published; the alias below only ever
            # points at a published version, so every invocation through it restores.
            snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
            if args.snap_start
            else None,
            # The role's policy must exist before the first invocation can log.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )
        alias = aws.lambda_.Alias(
            f"{name}-alias",
            name=ALIAS,
            function_name=function.name,
            function_version=function.version,
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["functionVersion", "routingConfig"]
                if args.released_by_codedeploy
                else None,
            ),
        )
        if args.provisioned_concurrency > 0:
            aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned",
                function_name=function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=args.provisioned_concurrency,
                opts=child,
            )
        if args.async_invocation is not None:
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=function.name,
                qualifier=alias.name,
                maximum_retry_attempts=args.async_invocation.maximum_retry_attempts,
                maximum_event_age_in_seconds=args.async_invocation.maximum_event_age_seconds,
                destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                    on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                        destination=args.async_invocation.on_failure_arn
                    )
                ),
                opts=child,
            )

        self.function = function
        self.alias = alias
        self.role = role
        self.alias_arn = alias.arn
        self.invoke_arn = alias.invoke_arn
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "alias_arn": self.alias_arn,
                "invoke_arn": self.invoke_arn,
                "log_group_name": self.log_group_name,
            }
        )


def function_environment(args: FunctionArgs) -> pulumi.Output[dict[str, str]]:
    """The variables the function is deployed with, checked against its handler's schema.

    Names are checked now (preview included); values once they are known, by the handler's
    own parser with what Lambda itself adds (region, function name)."""
    spec = args.spec
    schema = env_schema.schema(spec.name)
    values: dict[Variable, pulumi.Input[str]] = dict(args.environment)
    # Every Powertools function publishes to the one namespace the alarms watch, tagged with
    # its own service name (the ``service`` dimension).
    if env_schema.POWERTOOLS_SERVICE_NAME in schema.required:
        values.setdefault(env_schema.POWERTOOLS_SERVICE_NAME, spec.service)
    if env_schema.POWERTOOLS_METRICS_NAMESPACE in schema.required:
        values.setdefault(env_schema.POWERTOOLS_METRICS_NAMESPACE, telemetry.METRICS_NAMESPACE)
    try:
        names = schema.build(values)
    except SettingsError as exc:
        raise pulumi.RunError(
            f"{exc} — the function {args.function_name} would fail its first request. Fix: "
            "pass the variable from the component that declares it (contract/environment.py "
            "lists what each handler reads)"
        ) from None

    def validate(resolved: dict[str, str]) -> dict[str, str]:
        try:
            schema.validate(resolved, region=args.region, function_name=args.function_name)
        except SettingsError as exc:
            raise pulumi.RunError(f"{exc}. Fix: correct the value its component passes") from None
        return resolved

    return pulumi.Output.all(**names).apply(validate)


@dataclass(frozen=True)
class DependencyLayerArgs:
    layer_name: str
    code: pulumi.Input[pulumi.Archive]
    # Lambda verifies the signature of every layer of a function that enforces code signing.
    code_signing: CodeSigning
    description: str = "Third-party packages for the handlers (powertools, pydantic, psycopg)"


class DependencyLayer(pulumi.ComponentResource):
    """Creates the region's one ``aws.lambda_.LayerVersion`` (signed, like the functions' code)
    of third-party packages for the
    runtime and architecture every function uses; every function that needs them (data and
    logic tiers alike) shares it, so one build ships once.

    Attributes: ``arn`` (the layer version ARN).
    """

    def __init__(
        self, name: str, args: DependencyLayerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:compute:DependencyLayer", name, None, opts)
        signed = args.code_signing.sign(
            f"{name}-{ARCHITECTURE}", args.code, key=args.layer_name, parent=self
        )
        layer = aws.lambda_.LayerVersion(
            f"{name}-{ARCHITECTURE}",
            layer_name=args.layer_name,
            description=args.description,
            s3_bucket=signed.s3_bucket,
            s3_key=signed.s3_key,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = layer.arn
        self.register_outputs({"arn": self.arn})
