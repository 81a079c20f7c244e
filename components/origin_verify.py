"""The origin-verify value (R-EDGE-6): a random secret CloudFront adds to API requests and
every regional WAF checks, its replicated Secrets Manager home, and its scheduled rotation.

Two components because the distribution sits between them: the value must exist before the
distribution (its initial header), and the rotation function needs the distribution's ARN.
The secret's primary copy lives in the edge region (us-east-1), next to the rotation
function (Secrets Manager invokes rotation functions in the secret's own region), and is
replicated to every serving region under the multi-region secrets key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.function import Function, FunctionArgs
from contract import environment as env
from contract import names
from contract.functions import spec as function_spec

VALUE_LENGTH = 64

ROTATION_FUNCTION = function_spec("origin_verify_rotation")


@dataclass(frozen=True)
class OriginVerifySecretArgs:
    secret_name: str
    # CMK of the primary copy (edge region).
    primary_key_arn: pulumi.Input[str]
    # region → CMK of the replica there (multi-region secrets key replicas).
    replica_key_arns: Mapping[str, pulumi.Input[str]]


class OriginVerifySecret(pulumi.ComponentResource):
    """Creates ``random.RandomPassword`` (64 letters/digits), ``aws.secretsmanager.Secret``
    (CMK, one replica per serving region with that region's key) and its first
    ``SecretVersion``. Attributes: ``secret_arn``, ``secret_name``, ``value`` (the secret's
    AWSCURRENT value read at deploy time, marked secret)."""

    def __init__(
        self,
        name: str,
        args: OriginVerifySecretArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:edge:OriginVerifySecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        value = random.RandomPassword(
            f"{name}-value",
            length=VALUE_LENGTH,
            # Letters and digits only: safe in an HTTP header and a WAF byte match.
            special=False,
            opts=child,
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name=args.secret_name,
            description="X-Origin-Verify value CloudFront sends and the regional WAFs check",
            kms_key_id=args.primary_key_arn,
            replicas=[
                {"region": region, "kms_key_id": key_arn}
                for region, key_arn in args.replica_key_arns.items()
            ],
            recovery_window_in_days=7,
            opts=child,
        )
        initial = aws.secretsmanager.SecretVersion(
            f"{name}-initial",
            secret_id=secret.id,
            secret_string=value.result,
            # After the first rotation the value belongs to the rotation function; never
            # push the initial one back (no version_stages either: AWSCURRENT moves freely).
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secretString"]),
        )
        # What CloudFront should send is whatever is AWSCURRENT at deploy time, read after the
        # first version exists: the program never fights a rotation, a replaced distribution
        # starts with the value the WAFs accept, and no `pulumi refresh` discipline is needed.
        current = aws.secretsmanager.get_secret_version_output(
            secret_id=secret.arn,
            version_stage="AWSCURRENT",
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[initial]),
        )
        self.secret_arn = secret.arn
        self.secret_name = secret.name
        self.value = pulumi.Output.secret(current.secret_string)
        self.register_outputs({"secret_arn": self.secret_arn, "secret_name": self.secret_name})


@dataclass(frozen=True)
class OriginVerifyRotationArgs:
    account_id: pulumi.Input[str]
    environment: str
    region: str
    secret_arn: pulumi.Input[str]
    primary_key_arn: pulumi.Input[str]
    replica_key_arns: Mapping[str, pulumi.Input[str]]
    distribution_id: pulumi.Input[str]
    distribution_arn: pulumi.Input[str]
    api_origin_id: str
    header_name: str
    rule_name: str
    # (region, web ACL name) of every regional web ACL that checks the header.
    web_acls: Sequence[tuple[str, str]]
    rotation_days: int
    code: pulumi.Input[pulumi.Archive]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int


def rotation_statements(
    account_id: str,
    region: str,
    secret_arn: str,
    primary_key_arn: str,
    replica_key_arns: Mapping[str, str],
    distribution_arn: str,
    web_acls: Sequence[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Least privilege for the rotation function (pure; rendered once ARNs are known)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RotateThisSecret",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": secret_arn,
        },
        {
            # GetRandomPassword has no resource; it only returns random characters.
            "Sid": "GenerateValues",
            "Effect": "Allow",
            "Action": "secretsmanager:GetRandomPassword",
            "Resource": "*",
        },
        {
            "Sid": "UsePrimarySecretKeyThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
            "Resource": primary_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
            },
        },
        {
            "Sid": "ManageTheDistributionOriginHeader",
            "Effect": "Allow",
            "Action": [
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:UpdateDistribution",
            ],
            "Resource": distribution_arn,
        },
    ]
    for replica_region, key_arn in replica_key_arns.items():
        # New versions are re-encrypted into each replica with that region's key.
        statements.append(
            {
                "Sid": f"EncryptReplicaIn{replica_region.replace('-', '').title()}",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{replica_region}.amazonaws.com"
                    }
                },
            }
        )
    for acl_region, acl_name in web_acls:
        scope = f"arn:aws:wafv2:{acl_region}:{account_id}:regional"
        statements.append(
            {
                "Sid": f"UpdateWebAcl{acl_region.replace('-', '').title()}",
                "Effect": "Allow",
                "Action": ["wafv2:GetWebACL", "wafv2:UpdateWebACL"],
                # UpdateWebACL is also authorized against the rule groups and sets the ACL
                # references (same account and region only).
                "Resource": [
                    f"{scope}/webacl/{acl_name}/*",
                    f"{scope}/managedruleset/*/*",
                    f"{scope}/rulegroup/*/*",
                    f"{scope}/ipset/*/*",
                    f"{scope}/regexpatternset/*/*",
                ],
            }
        )
    statements.append(
        {
            # The web ACL ids belong to the regional stacks; the function finds them by
            # name. ListWebACLs has no resource-level permissions.
            "Sid": "FindWebAclsByName",
            "Effect": "Allow",
            "Action": "wafv2:ListWebACLs",
            "Resource": "*",
        }
    )
    return statements


class OriginVerifyRotation(pulumi.ComponentResource):
    """Creates the rotation ``Function`` (handler package ``origin_verify_rotation``, 15-minute
    timeout for CloudFront deployments, reserved concurrency 1), a ``lambda_.Permission`` for
    Secrets Manager scoped to this secret, and ``secretsmanager.SecretRotation`` every
    ``rotation_days`` (not immediately: the regional WAFs are deployed after this stack)."""

    def __init__(
        self,
        name: str,
        args: OriginVerifyRotationArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:edge:OriginVerifyRotation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rendered = pulumi.Output.all(
            args.account_id,
            args.secret_arn,
            args.primary_key_arn,
            dict(args.replica_key_arns),
            args.distribution_arn,
        ).apply(
            lambda v: rotation_statements(
                v[0], args.region, v[1], v[2], v[3], v[4], list(args.web_acls)
            )
        )
        # Function takes a fixed list of statements whose values may be Outputs: the shape
        # is known up front (same regions and ACLs), only ARNs arrive later.
        shape = rotation_statements(
            "0", args.region, "", "", dict.fromkeys(args.replica_key_arns, ""), "", args.web_acls
        )
        statements = [
            {key: rendered.apply(lambda s, i=i, key=key: s[i][key]) for key in statement}
            for i, statement in enumerate(shape)
        ]
        function = Function(
            f"{name}-function",
            FunctionArgs(
                spec=ROTATION_FUNCTION,
                function_name=names.function_name(args.environment, ROTATION_FUNCTION.name),
                code=args.code,
                account_id=args.account_id,
                region=args.region,
                logs_key_arn=args.logs_key_arn,
                log_retention_days=args.log_retention_days,
                reserved_concurrency=ROTATION_FUNCTION.fixed_reserved_concurrency,
                statements=statements,
                environment={
                    env.DISTRIBUTION_ID: args.distribution_id,
                    env.ORIGIN_ID: args.api_origin_id,
                    env.HEADER_NAME: args.header_name,
                    env.RULE_NAME: args.rule_name,
                    env.WEB_ACLS: json.dumps(
                        [{"region": region, "name": acl} for region, acl in args.web_acls]
                    ),
                    env.WAF_PROPAGATION_SECONDS: "60",
                    env.LOG_LEVEL: "INFO",
                },
            ),
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=function.function.name,
            qualifier=function.alias.name,
            principal="secretsmanager.amazonaws.com",
            source_arn=args.secret_arn,
            source_account=args.account_id,
            opts=child,
        )
        aws.secretsmanager.SecretRotation(
            f"{name}-schedule",
            secret_id=args.secret_arn,
            rotation_lambda_arn=function.alias_arn,
            rotation_rules={"automatically_after_days": args.rotation_days},
            rotate_immediately=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        self.function_name = function.function.name
        self.register_outputs({"function_name": self.function_name})
