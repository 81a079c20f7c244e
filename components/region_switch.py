"""Disaster recovery you can run (R-DR-4, R-DR-5; docs/dr.md): ARC Region switch plans in the
global stack, and the probe function each regional stack runs for the plans' custom steps.

The plan's shape (workflows, steps, timeouts) is plain data in ``contract.region_switch``;
this module turns it into resources. Everything a plan names in a region (clusters, the probe
function's aliases, alarms) has a deterministic name, so the global stack names them by ARN
without reading the regional stacks, which are deployed after it.

Self-contained on purpose: its roles and policies are declared here, not through the shared
building blocks, so it can move as a unit.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import (
    API_5XX_KEY,
    REPLICATION_LAG_KEY,
    RPO_LAG_KEY,
    alarm_name,
    health_alarm_key,
)
from components.function import Function, FunctionArgs, VpcPlacement
from components.policy_documents import account_root, assume_role_policy, document
from contract import names
from contract import region_switch as rs
from contract.environment import LOG_LEVEL, Variable
from contract.functions import spec as function_spec

ARC_SERVICE = "arc-region-switch.amazonaws.com"
PROBE = "dr_probe"
# Alarms ARC watches for each region of a plan (application health): the region's Route 53
# health check (its alarm lives in the edge region), both global-database lag alarms and the
# API's failure rate. They exist in both roles (R-DR-4), so nothing here depends on the writer.
HEALTH_CHECK_LABEL = "api"
REGIONAL_ALARM_KEYS = (RPO_LAG_KEY, REPLICATION_LAG_KEY, API_5XX_KEY)


# --- pure rules -----------------------------------------------------------------------------
def plan_pairs(regions: Sequence[str]) -> list[tuple[str, str]]:
    """AWS fixes a plan's regions at exactly two: one plan per pair of serving regions."""
    if len(regions) < 2:
        raise ValueError("a Region switch plan needs two serving regions")
    return [tuple(sorted(pair)) for pair in itertools.combinations(sorted(regions), 2)]  # type: ignore[misc]


def cluster_arn(account_id: str, environment: str, region: str) -> str:
    identifier = names.cluster_identifier(environment, region)
    return f"arn:aws:rds:{region}:{account_id}:cluster:{identifier}"


def global_cluster_arn(account_id: str, global_cluster_id: str) -> str:
    # A global cluster's ARN has no region.
    return f"arn:aws:rds::{account_id}:global-cluster:{global_cluster_id}"


def probe_arns(account_id: str, environment: str, region: str) -> dict[str, str]:
    """alias → ARN of this region's dr_probe alias (the function's name is regionless)."""
    name = names.function_name(environment, PROBE)
    return {
        alias: names.lambda_function_arn(region, account_id, name, alias)
        for alias in names.DR_PROBE_ALIASES
    }


def associated_alarm_names(regions: Sequence[str]) -> list[str]:
    """The plan-unique names under which a plan associates each region's alarms."""
    keys = (*REGIONAL_ALARM_KEYS, health_alarm_key(HEALTH_CHECK_LABEL))
    return [f"{names.region_code(region)}-{key}" for region in regions for key in keys]


def associated_alarms(
    account_id: str, environment: str, regions: Sequence[str], edge_region: str
) -> dict[str, str]:
    """plan-unique name → CloudWatch alarm ARN, for every region of a plan. Alarm names are
    ``<regional prefix>-<key>`` (components.alarms), so they are known without a reference."""
    found = {}
    for region in regions:
        prefix = names.regional_prefix(environment, region)
        keys = [(region, key) for key in REGIONAL_ALARM_KEYS]
        # Route 53 publishes health-check metrics only in the edge region (us-east-1).
        keys.append((edge_region, health_alarm_key(HEALTH_CHECK_LABEL)))
        for alarm_region, key in keys:
            arn = f"arn:aws:cloudwatch:{alarm_region}:{account_id}:alarm:{alarm_name(prefix, key)}"
            found[f"{names.region_code(region)}-{key}"] = arn
    return found


def execution_role_statements(
    *,
    account_id: str,
    environment: str,
    regions: Sequence[str],
    global_cluster_id: str,
    hosted_zone_id: str,
    alarm_arns: Sequence[str],
) -> list[dict[str, Any]]:
    """What the plans' execution blocks need (AWS's sample policy per block), scoped to this
    environment's resources: nothing else."""
    clusters = [cluster_arn(account_id, environment, region) for region in regions]
    probes = [
        arn for region in regions for arn in probe_arns(account_id, environment, region).values()
    ]
    functions = [
        names.lambda_function_arn(region, account_id, names.function_name(environment, PROBE))
        for region in regions
    ]
    return [
        {
            # Describe calls list before they act; AWS's sample policy grants them on "*".
            "Sid": "AuroraBlockReadsTheGlobalDatabase",
            "Effect": "Allow",
            "Action": ["rds:DescribeGlobalClusters", "rds:DescribeDBClusters"],
            "Resource": "*",
        },
        {
            "Sid": "AuroraBlockMovesTheWriter",
            "Effect": "Allow",
            "Action": ["rds:SwitchoverGlobalCluster", "rds:FailoverGlobalCluster"],
            "Resource": [global_cluster_arn(account_id, global_cluster_id), *clusters],
        },
        {
            # ARC owns the health checks it created; it only reads the records to map them.
            "Sid": "Route53BlockReadsTheApiRecords",
            "Effect": "Allow",
            "Action": ["route53:ListResourceRecordSets"],
            "Resource": [f"arn:aws:route53:::hostedzone/{hosted_zone_id}"],
        },
        {
            "Sid": "CustomStepsInvokeTheProbe",
            "Effect": "Allow",
            "Action": ["lambda:GetFunction", "lambda:InvokeFunction"],
            "Resource": [*functions, *probes],
        },
        {
            "Sid": "WatchApplicationHealthAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
            "Resource": list(alarm_arns),
        },
    ]


def approval_trust_policy(account_id: str) -> dict[str, Any]:
    """Operators of this account, signed in with MFA, may assume the approval role (an IAM
    policy must still grant them sts:AssumeRole on it)."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id)},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    )


def approval_statements(plan_arns: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "ApproveOrDeclineThesePlansSteps",
            "Effect": "Allow",
            "Action": [
                "arc-region-switch:ApprovePlanExecutionStep",
                "arc-region-switch:GetPlanExecution",
                "arc-region-switch:ListPlanExecutions",
                "arc-region-switch:ListPlanExecutionEvents",
            ],
            "Resource": list(plan_arns),
        }
    ]


def health_checks_by_region(found: Sequence[Sequence[Mapping[str, str]]]) -> dict[str, list[str]]:
    """region → sorted ids of the health checks the plans created for it."""
    by_region: dict[str, set[str]] = {}
    for checks in found:
        for check in checks:
            if check.get("health_check_id"):
                by_region.setdefault(check["region"], set()).add(check["health_check_id"])
    return {region: sorted(ids) for region, ids in sorted(by_region.items())}


@dataclass(frozen=True)
class StepTargets:
    """What the blocks of one plan act on."""

    regions: tuple[str, str]
    approval_role_arn: pulumi.Input[str] | None
    global_cluster_id: pulumi.Input[str]
    cluster_arns: Sequence[pulumi.Input[str]]
    hosted_zone_id: pulumi.Input[str]
    record_name: str
    probe_arns: Mapping[str, Sequence[pulumi.Input[str]]]  # alias → one ARN per plan region


def step_args(step: rs.Step, targets: StepTargets) -> aws.arcregionswitch.PlanWorkflowStepArgs:
    common: dict[str, Any] = {
        "name": step.name,
        "execution_block_type": step.block,
        "description": step.description,
    }
    if step.block == rs.APPROVAL:
        if targets.approval_role_arn is None:
            raise ValueError("an approval step needs the approval role")
        common["execution_approval_configs"] = [
            aws.arcregionswitch.PlanWorkflowStepExecutionApprovalConfigArgs(
                approval_role=targets.approval_role_arn, timeout_minutes=step.timeout_minutes
            )
        ]
    elif step.block == rs.ROUTE53:
        common["route53_health_check_configs"] = [
            aws.arcregionswitch.PlanWorkflowStepRoute53HealthCheckConfigArgs(
                hosted_zone_id=targets.hosted_zone_id,
                record_name=targets.record_name,
                timeout_minutes=step.timeout_minutes,
                # The latency records' set identifiers are their regions; said explicitly so
                # ARC never has to guess the mapping.
                record_sets=[
                    aws.arcregionswitch.PlanWorkflowStepRoute53HealthCheckConfigRecordSetArgs(
                        record_set_identifier=region, region=region
                    )
                    for region in targets.regions
                ],
            )
        ]
    elif step.block == rs.AURORA:
        common["global_aurora_configs"] = [
            aws.arcregionswitch.PlanWorkflowStepGlobalAuroraConfigArgs(
                behavior=rs.AURORA_GRACEFUL,
                ungracefuls=[
                    aws.arcregionswitch.PlanWorkflowStepGlobalAuroraConfigUngracefulArgs(
                        ungraceful=rs.AURORA_UNGRACEFUL
                    )
                ],
                global_cluster_identifier=targets.global_cluster_id,
                database_cluster_arns=list(targets.cluster_arns),
                timeout_minutes=step.timeout_minutes,
            )
        ]
    elif step.block == rs.LAMBDA:
        assert step.probe_alias is not None
        common["custom_action_lambda_configs"] = [
            aws.arcregionswitch.PlanWorkflowStepCustomActionLambdaConfigArgs(
                lambdas=[
                    aws.arcregionswitch.PlanWorkflowStepCustomActionLambdaConfigLambdaArgs(arn=arn)
                    for arn in targets.probe_arns[step.probe_alias]
                ],
                region_to_run=rs.RUN_IN,
                retry_interval_minutes=rs.PROBE_RETRY_INTERVAL_MINUTES,
                timeout_minutes=step.timeout_minutes,
            )
        ]
    else:
        raise ValueError(f"no arguments known for execution block {step.block!r}")
    return aws.arcregionswitch.PlanWorkflowStepArgs(**common)


# --- global stack ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionSwitchArgs:
    account_id: pulumi.Input[str]
    environment: str
    # Serving regions (every pair gets a plan) and where Route 53 publishes health metrics.
    regions: Sequence[str]
    edge_region: str
    domain: str
    hosted_zone_id: pulumi.Input[str]
    global_cluster_id: pulumi.Input[str]
    # Prod asks a human before moving anything; dev runs straight through (game days).
    approval: bool


class RegionSwitch(pulumi.ComponentResource):
    """Creates the plans' ``aws.iam.Role`` (trust: ARC in this account) with one
    ``RolePolicy`` (``execution_role_statements``); when ``approval`` is on, the approval
    ``Role`` (operators with MFA) and its ``RolePolicy``; and one ``aws.arcregionswitch.Plan``
    per pair of serving regions (active/active, both workflows of each region from
    ``contract.region_switch``, associated alarms, the RTO from the same steps' timeouts).
    Reads back the Route 53 health checks each plan created.

    Attributes: ``plans`` (list of ``{"name", "arn", "regions"}``), ``health_check_ids``
    (region → ids), ``execution_role_arn``, ``approval_role_arn`` (or None).
    """

    def __init__(
        self, name: str, args: RegionSwitchArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:dr:RegionSwitch", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = pulumi.Output.from_input(args.account_id)
        pairs = plan_pairs(args.regions)

        alarms = account.apply(
            lambda acct: associated_alarms(acct, args.environment, args.regions, args.edge_region)
        )
        role = aws.iam.Role(
            f"{name}-execution",
            description="ARC Region switch runs the plans' steps with this role",
            assume_role_policy=account.apply(
                lambda acct: json.dumps(assume_role_policy(ARC_SERVICE, acct))
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=role.id,
            policy=pulumi.Output.all(
                account, args.global_cluster_id, args.hosted_zone_id, alarms
            ).apply(
                lambda v: json.dumps(
                    document(
                        *execution_role_statements(
                            account_id=v[0],
                            environment=args.environment,
                            regions=args.regions,
                            global_cluster_id=v[1],
                            hosted_zone_id=v[2],
                            alarm_arns=sorted(v[3].values()),
                        )
                    )
                )
            ),
            opts=child,
        )

        approval_role = None
        if args.approval:
            approval_role = aws.iam.Role(
                f"{name}-approval",
                description="Operators assume this role to approve a Region switch step",
                assume_role_policy=account.apply(
                    lambda acct: json.dumps(approval_trust_policy(acct))
                ),
                opts=child,
            )

        self.plans: list[pulumi.Output[dict[str, Any]]] = []
        found_checks = []
        for pair in pairs:
            plan_name = names.region_switch_plan_name(args.environment, pair)
            flows = rs.workflows(pair, approval=args.approval)
            targets = StepTargets(
                regions=pair,
                approval_role_arn=approval_role.arn if approval_role is not None else None,
                global_cluster_id=args.global_cluster_id,
                cluster_arns=[
                    account.apply(lambda acct, r=r: cluster_arn(acct, args.environment, r))
                    for r in pair
                ],
                hosted_zone_id=args.hosted_zone_id,
                record_name=f"api.{args.domain}",
                probe_arns={
                    alias: [
                        account.apply(
                            lambda acct, r=r, alias=alias: probe_arns(acct, args.environment, r)[
                                alias
                            ]
                        )
                        for r in pair
                    ]
                    for alias in names.DR_PROBE_ALIASES
                },
            )
            plan_alarms = [
                aws.arcregionswitch.PlanAssociatedAlarmArgs(
                    alarm_type="applicationHealth",
                    map_block_key=key,
                    resource_identifier=alarms.apply(lambda by_name, key=key: by_name[key]),
                )
                for key in associated_alarm_names(pair)
            ]
            plan = aws.arcregionswitch.Plan(
                f"{name}-{'-'.join(names.region_code(r) for r in pair)}",
                name=plan_name,
                description=(
                    f"{args.environment}: take {pair[0]} or {pair[1]} out and bring it back "
                    "(docs/dr.md)"
                ),
                execution_role=role.arn,
                recovery_approach=rs.RECOVERY_APPROACH,
                regions=list(pair),
                recovery_time_objective_minutes=rs.recovery_time_objective_minutes(flows),
                associated_alarms=plan_alarms,
                workflows=[
                    aws.arcregionswitch.PlanWorkflowArgs(
                        workflow_target_action=flow.action,
                        workflow_target_region=flow.region,
                        workflow_description=flow.description,
                        steps=[step_args(step, targets) for step in flow.steps],
                    )
                    for flow in flows
                ],
                # The role must be able to act before ARC evaluates the plan.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
            self.plans.append(
                plan.arn.apply(
                    lambda arn, plan_name=plan_name, pair=pair: {
                        "name": plan_name,
                        "arn": arn,
                        "regions": list(pair),
                    }
                )
            )
            found_checks.append(
                aws.arcregionswitch.get_route53_health_checks_output(
                    plan_arn=plan.arn, opts=pulumi.InvokeOutputOptions(parent=self)
                ).health_checks.apply(
                    lambda checks: [
                        {"health_check_id": c.health_check_id, "region": c.region}
                        for c in checks or []
                    ]
                )
            )

        if approval_role is not None:
            aws.iam.RolePolicy(
                f"{name}-approval-policy",
                role=approval_role.id,
                policy=pulumi.Output.all(*[p.apply(lambda p: p["arn"]) for p in self.plans]).apply(
                    lambda arns: json.dumps(document(*approval_statements(arns)))
                ),
                opts=child,
            )

        self.health_check_ids = pulumi.Output.all(*found_checks).apply(health_checks_by_region)
        self.execution_role_arn = role.arn
        self.approval_role_arn = approval_role.arn if approval_role is not None else None
        self.register_outputs({"plans": self.plans, "health_check_ids": self.health_check_ids})


# --- regional stack -------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionSwitchProbeArgs:
    environment: str
    region: str
    account_id: pulumi.Input[str]
    code: pulumi.Input[pulumi.Archive]
    layer_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    # The app functions' DB_* variables and grant (components.database.Database): the probe
    # checks the very path the app writes through.
    db_environment: Mapping[Variable, pulumi.Input[str]]
    db_statements: Sequence[Mapping[str, Any]]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: Sequence[pulumi.Input[str]]


class RegionSwitchProbe(pulumi.ComponentResource):
    """Creates the in-VPC ``dr_probe`` function (``components.function.Function``: own role
    with IAM ``rds-db:connect`` through the proxy as the app login, the app's DB variables)
    and one ``aws.lambda_.Alias`` per custom step (``contract.names.DR_PROBE_ALIASES``) on
    its published version. The plans invoke the aliases by ARN.

    Why in each region, in the VPC: a write check needs the database through the region's own
    RDS Proxy, which only the VPC reaches.

    Attributes: ``function_name``, ``alias_arns`` (alias → ARN).
    """

    def __init__(
        self, name: str, args: RegionSwitchProbeArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:dr:RegionSwitchProbe", name, None, opts)
        spec = function_spec(PROBE)
        function = Function(
            f"{name}-function",
            FunctionArgs(
                spec=spec,
                function_name=names.function_name(args.environment, PROBE),
                code=args.code,
                account_id=args.account_id,
                region=args.region,
                logs_key_arn=args.logs_key_arn,
                log_retention_days=args.log_retention_days,
                reserved_concurrency=spec.fixed_reserved_concurrency,
                statements=list(args.db_statements),
                layers=[args.layer_arn],
                environment={**args.db_environment, LOG_LEVEL: "INFO"},
                vpc=VpcPlacement(args.private_subnet_ids, list(args.security_group_ids)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alias_arns = {}
        for alias in names.DR_PROBE_ALIASES:
            created = aws.lambda_.Alias(
                f"{name}-{alias}",
                name=alias,
                description=f"Region switch step {alias!r} (contract.region_switch)",
                function_name=function.function.name,
                function_version=function.function.version,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.alias_arns[alias] = created.arn
        self.function_name = function.function.name
        self.register_outputs({"alias_arns": self.alias_arns})
