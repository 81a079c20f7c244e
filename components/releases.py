"""Canary releases of the app functions with automatic rollback (R-OPS-1).

One CodeDeploy application per region and one Lambda deployment group per app function. A
release (``aws deploy create-deployment``, docs/logic.md: releases) asks CodeDeploy to move
the function's ``live`` alias from the version it serves to the version ``pulumi up`` just
published, in the steps of the stack's ``releaseConfig`` (prod: 10 % for 5 minutes, dev: all
at once). CodeDeploy watches the function's own alarms while it shifts: one firing stops the
release and puts the alias back. Provisioned concurrency is configured on the alias, so it
follows the alias: while the alias routes by weight, Lambda splits the provisioned
environments between the two versions.

Why CodeDeploy and not a weighted alias driven by ``pulumi up``: rollback must happen without
a human or a pipeline step watching, and CodeDeploy is the AWS service that evaluates alarms
during a traffic shift and reverts it by itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.policy_documents import assume_role_policy, document
from contract import names

# A failed release, or one stopped by an alarm, rolls back; a manual stop rolls back too.
ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")


@dataclass(frozen=True)
class ReleaseTarget:
    function_name: str
    function_arn: pulumi.Input[str]
    # The alarms that stop and roll back this function's release: its errors, and for the
    # function behind the API, the API's latency and 5xx alarms.
    alarm_names: Sequence[str]


@dataclass(frozen=True)
class ReleasesArgs:
    environment: str
    account_id: pulumi.Input[str]
    deployment_config_name: str
    targets: Mapping[str, ReleaseTarget]


def service_statements(function_arns: Sequence[str]) -> list[dict[str, Any]]:
    """What CodeDeploy needs to shift an alias (AWSCodeDeployRoleForLambdaLimited, scoped to
    these functions)."""
    return [
        {
            "Sid": "ShiftLiveAlias",
            "Effect": "Allow",
            "Action": [
                "lambda:GetAlias",
                "lambda:UpdateAlias",
                "lambda:GetProvisionedConcurrencyConfig",
            ],
            "Resource": [f"{arn}:*" for arn in function_arns],
        },
        {
            # DescribeAlarms is read-only; CodeDeploy reads the group's alarms by name.
            "Sid": "ReadAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms"],
            "Resource": "*",
        },
    ]


class Releases(pulumi.ComponentResource):
    """Creates ``aws.codedeploy.Application`` (Lambda), its service ``aws.iam.Role`` with one
    inline ``RolePolicy`` (``service_statements``), and one ``aws.codedeploy.DeploymentGroup``
    per target (BLUE_GREEN with traffic control, the stack's deployment configuration, the
    target's alarms, rollback on failure and on alarm).

    Attributes: ``application_name``, ``groups`` (function key → DeploymentGroup).
    """

    def __init__(self, name: str, args: ReleasesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:operations:Releases", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        application = aws.codedeploy.Application(
            f"{name}-application",
            name=names.codedeploy_application_name(args.environment),
            compute_platform="Lambda",
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            description="CodeDeploy shifts the app functions' live aliases",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(assume_role_policy("codedeploy.amazonaws.com", account))
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(*[t.function_arn for t in args.targets.values()]).apply(
                lambda arns: json.dumps(document(*service_statements(list(arns))))
            ),
            opts=child,
        )
        self.groups = {
            key: aws.codedeploy.DeploymentGroup(
                f"{name}-{key}",
                app_name=application.name,
                deployment_group_name=target.function_name,
                service_role_arn=role.arn,
                deployment_config_name=args.deployment_config_name,
                deployment_style={
                    "deployment_option": "WITH_TRAFFIC_CONTROL",
                    "deployment_type": "BLUE_GREEN",
                },
                alarm_configuration={"enabled": True, "alarms": list(target.alarm_names)},
                auto_rollback_configuration={"enabled": True, "events": list(ROLLBACK_EVENTS)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
            for key, target in args.targets.items()
        }
        self.application_name = application.name
        self.register_outputs({"application_name": self.application_name})
