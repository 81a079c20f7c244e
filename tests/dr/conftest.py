"""Fixtures for the runbook tests: a moto world (global cluster, EU writer, US secondary, lag
metrics, health checks), botocore Stubbers for what moto lacks (RDS global-cluster states, the
whole ARC Region switch API), a recorder of every AWS operation in call order, a fake clock
whose sleep advances time, and the outputs of the three real stacks (synthesized once per
session by ``tests/conftest.py``) saved as ``pulumi stack output --json`` files, as an operator
gives them to the runbook. The plan the ARC stub answers with is the synthesized global stack's
own plan, converted to the API's shape (and validated against it by the Stubber)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from contract.names import global_cluster_identifier
from contract.outputs import REGION_SWITCH_PLANS
from dr.aws import ARC, Aws
from dr.probe import ProbeResult
from dr.topology import PlanRef
from tests.infra.harness import REGION_SWITCH_PLAN, Synthesis

# The name the data tier gives the global cluster, so the synthesized stacks' outputs and this
# world agree on it.
GLOBAL_ID = global_cluster_identifier("prod")
ACCOUNT = "123456789012"
EU, US = "eu-west-1", "us-west-1"
EU_CLUSTER, US_CLUSTER = "mobile-backend-prod-eu", "mobile-backend-prod-us"
EU_ARN = f"arn:aws:rds:{EU}:{ACCOUNT}:cluster:{EU_CLUSTER}"
US_ARN = f"arn:aws:rds:{US}:{ACCOUNT}:cluster:{US_CLUSTER}"
MUTATIONS = {
    "SwitchoverGlobalCluster",
    "FailoverGlobalCluster",
    "StartPlanExecution",
    "ApprovePlanExecutionStep",
}
EXECUTION_ID = "exec-0001"


@dataclass
class FakeClock:
    """``clock()`` for elapsed time and ``sleep(s)`` that advances it: no real waiting."""

    t: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class Recorder:
    """Every AWS operation as (region, operation, params), in the order the code made them."""

    calls: list[tuple[str, str, dict]] = field(default_factory=list)

    def attach(self, client: Any, region: str) -> Any:
        def record(params: dict, model: Any, **_: Any) -> None:
            self.calls.append((region, model.name, dict(params)))

        client.meta.events.register("before-parameter-build.*.*", record)
        return client

    @property
    def operations(self) -> list[str]:
        return [name for _, name, _ in self.calls]

    @property
    def mutations(self) -> list[tuple[str, str, dict]]:
        return [call for call in self.calls if call[1] in MUTATIONS]


@dataclass
class ScriptedProbe:
    """Answers ``probe(region)`` from a per-region script; the last answer repeats."""

    script: dict[str, list[ProbeResult]]
    asked: list[str] = field(default_factory=list)

    def __call__(self, region: str) -> ProbeResult:
        self.asked.append(region)
        answers = self.script[region]
        return answers.pop(0) if len(answers) > 1 else answers[0]


WRITER = ProbeResult(True, "writer", "role 'writer'")
READER = ProbeResult(True, "reader", "role 'reader'")
DOWN = ProbeResult(False, None, "unreachable: timed out")

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def stack_output_files(
    all_synths: dict[str, Synthesis], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """stack → ``pulumi stack output --json -s <stack> > <stack>.json`` of the synthesized
    stack (global and both regions)."""
    directory = tmp_path_factory.mktemp("stack-outputs")
    files = {}
    for stack, synth in all_synths.items():
        files[stack] = directory / f"{stack}.json"
        files[stack].write_text(synth.stack_output_json())
    return files


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def moto_env(monkeypatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


def moto_factory(recorder: Recorder) -> Callable[[str, str], Any]:
    return lambda service, region: recorder.attach(
        boto3.client(service, region_name=region), region
    )


def build_moto_world(
    *,
    eu_version: str = "16.4",
    us_version: str = "16.4",
    writer: str = EU,
    lag_ms: float | None = 1200.0,
    timestamp: datetime = NOW - timedelta(seconds=30),
) -> dict[str, str]:
    """A global cluster whose writer is ``writer``; returns the Route 53 health-check ids."""
    boto3.client("rds", region_name=writer).create_global_cluster(
        GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql", EngineVersion=eu_version
    )
    order = [(EU, EU_CLUSTER, eu_version), (US, US_CLUSTER, us_version)]
    if writer == US:
        order.reverse()
    for region, name, version in order:
        boto3.client("rds", region_name=region).create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            EngineVersion=version,
            GlobalClusterIdentifier=GLOBAL_ID,
            MasterUsername="mbadmin",
            MasterUserPassword="not-a-real-password-1",
        )
    secondary_region, secondary = (US, US_CLUSTER) if writer == EU else (EU, EU_CLUSTER)
    if lag_ms is not None:
        boto3.client("cloudwatch", region_name=secondary_region).put_metric_data(
            Namespace="AWS/RDS",
            MetricData=[
                {
                    "MetricName": "AuroraGlobalDBRPOLag",
                    "Dimensions": [{"Name": "DBClusterIdentifier", "Value": secondary}],
                    "Value": lag_ms,
                    "Unit": "Milliseconds",
                    "Timestamp": timestamp,
                }
            ],
        )
    route53 = boto3.client("route53", region_name="us-east-1")
    ids = {}
    for region in (EU, US):
        check = route53.create_health_check(
            CallerReference=f"api-{region}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": f"api-{region}.mobile.examplehealth.eu",
                "ResourcePath": "/health",
                "RequestInterval": 10,
                "FailureThreshold": 2,
            },
        )
        ids[region] = check["HealthCheck"]["Id"]
    return ids


# --- Stubber side: what moto does not implement --------------------------------------------
def member(arn: str, *, writer: bool, sync: str | None = "connected") -> dict:
    raw: dict[str, Any] = {"DBClusterArn": arn, "IsWriter": writer, "Readers": []}
    if not writer and sync:
        raw["SynchronizationStatus"] = sync
        raw["GlobalWriteForwardingStatus"] = "enabled"
    return raw


def global_cluster(
    *, writer: str = EU, status: str = "available", failover: dict | None = None, members=None
) -> dict:
    if members is None:
        members = [member(EU_ARN, writer=writer == EU), member(US_ARN, writer=writer == US)]
    raw: dict[str, Any] = {
        "GlobalClusterIdentifier": GLOBAL_ID,
        "GlobalClusterArn": f"arn:aws:rds::{ACCOUNT}:global-cluster:{GLOBAL_ID}",
        "Status": status,
        "Engine": "aurora-postgresql",
        "EngineVersion": "16.4",
        "GlobalClusterMembers": members,
    }
    if failover:
        raw["FailoverState"] = failover
    return {"GlobalClusters": [raw]}


def db_cluster(arn: str, *, status: str = "available", version: str = "16.4") -> dict:
    return {
        "DBClusters": [
            {
                "DBClusterArn": arn,
                "DBClusterIdentifier": arn.rsplit(":", 1)[-1],
                "Status": status,
                "Engine": "aurora-postgresql",
                "EngineVersion": version,
            }
        ]
    }


# --- the Region switch plan, as the synthesized global stack declares it -----------------------
def _api_value(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _api_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_value(key, v) for v in value]
    # Mock inputs are JSON numbers; the API's timeouts are integers.
    if key == "timeoutMinutes":
        return int(value)
    return value


def _api_block(step: dict[str, Any]) -> dict[str, Any]:
    """``{"globalAuroraConfigs": [{..., "ungracefuls": [{...}]}]}`` (Pulumi's list-wrapped
    blocks) → ``{"globalAuroraConfig": {..., "ungraceful": {...}}}`` (the API's union)."""
    configs = {k: v for k, v in step.items() if k.endswith("Configs") and v}
    assert len(configs) == 1, f"step {step['name']} declares {sorted(configs)}"
    (key, (config,)) = next(iter(configs.items()))
    converted = {}
    for name, value in config.items():
        if name == "ungracefuls":
            converted["ungraceful"] = _api_value(name, value[0])
        else:
            converted[name] = _api_value(name, value)
    return {key.removesuffix("s"): converted}


def api_plan(global_synth: Synthesis) -> dict[str, Any]:
    """``GetPlanInRegion``'s ``plan`` for the synthesized plan (the stack declares one)."""
    (plan,) = global_synth.of_type(REGION_SWITCH_PLAN)
    inputs = plan.inputs
    return {
        "arn": plan.outputs["arn"],
        "name": inputs["name"],
        "owner": ACCOUNT,
        "regions": inputs["regions"],
        "recoveryApproach": inputs["recoveryApproach"],
        "executionRole": f"arn:aws:iam::{ACCOUNT}:role/region-switch-execution",
        "recoveryTimeObjectiveMinutes": int(inputs["recoveryTimeObjectiveMinutes"]),
        "associatedAlarms": {
            alarm["mapBlockKey"]: {
                "alarmType": alarm["alarmType"],
                "resourceIdentifier": alarm["resourceIdentifier"],
            }
            for alarm in inputs["associatedAlarms"]
        },
        "workflows": [
            {
                "workflowTargetAction": flow["workflowTargetAction"],
                "workflowTargetRegion": flow["workflowTargetRegion"],
                "workflowDescription": flow["workflowDescription"],
                "steps": [
                    {
                        "name": step["name"],
                        "description": step["description"],
                        "executionBlockType": step["executionBlockType"],
                        "executionBlockConfiguration": _api_block(step),
                    }
                    for step in flow["steps"]
                ],
            }
            for flow in inputs["workflows"]
        ],
    }


@pytest.fixture(scope="session")
def held_plan(global_synth: Synthesis) -> dict[str, Any]:
    return api_plan(global_synth)


@pytest.fixture(scope="session")
def plans(global_synth: Synthesis) -> list[PlanRef]:
    """The plans as the global stack exports them (what `--outputs` gives the runbook)."""
    return [PlanRef.parse(p, "global") for p in global_synth.outputs[REGION_SWITCH_PLANS]]


def workflow_steps(plan: dict[str, Any], action: str, region: str) -> list[str]:
    (flow,) = [
        w
        for w in plan["workflows"]
        if (w["workflowTargetAction"], w["workflowTargetRegion"]) == (action, region)
    ]
    return [step["name"] for step in flow["steps"]]


def execution(
    plan: dict[str, Any],
    state: str,
    *,
    action: str = "deactivate",
    workflow_region: str = EU,
    mode: str = "graceful",
    executed_in: str = US,
    statuses: dict[str, str] | None = None,
    recovery: str | None = None,
) -> dict[str, Any]:
    """``GetPlanExecution``'s answer: every step of the workflow, ``statuses`` by name (the
    rest completed when ``state`` is completed, else not started)."""
    default = "completed" if state == "completed" else "notStarted"
    raw: dict[str, Any] = {
        "planArn": plan["arn"],
        "executionId": EXECUTION_ID,
        "startTime": NOW,
        "mode": mode,
        "executionState": state,
        "executionAction": action,
        "executionRegion": executed_in,
        "stepStates": [
            {"name": name, "status": (statuses or {}).get(name, default)}
            for name in workflow_steps(plan, action, workflow_region)
        ],
    }
    if recovery:
        raw["actualRecoveryTime"] = recovery
    return raw


@dataclass
class StubbedRds:
    """One stubbed RDS and one stubbed ARC client per region; everything else (CloudWatch,
    Route 53) is moto."""

    recorder: Recorder
    clients: dict[str, Any] = field(default_factory=dict)
    stubbers: dict[str, Stubber] = field(default_factory=dict)
    arc_clients: dict[str, Any] = field(default_factory=dict)
    arc_stubbers: dict[str, Stubber] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for region in (EU, US):
            for service, clients, stubbers in (
                ("rds", self.clients, self.stubbers),
                (ARC, self.arc_clients, self.arc_stubbers),
            ):
                client = boto3.client(
                    service,
                    region_name=region,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                )
                self.recorder.attach(client, region)
                stubbers[region] = Stubber(client)
                stubbers[region].activate()
                clients[region] = client

    def expect(self, region: str, operation: str, response: dict, params: dict) -> None:
        self.stubbers[region].add_response(operation, response, params)

    # --- ARC -------------------------------------------------------------------------------
    def arc(self, region: str, operation: str, response: dict, params: dict) -> None:
        self.arc_stubbers[region].add_response(operation, response, params)

    def plan_reads(
        self, region: str, plan: dict[str, Any], statuses: dict[str, str] | None = None
    ) -> None:
        """What resolving an execution reads in ``region``: the plan's health checks (status
        per region, healthy unless said) and the plan itself."""
        statuses = statuses or {}
        checks = [
            {
                "hostedZoneId": "Z0MOCKZONE",
                "recordName": "api.mobile.examplehealth.eu",
                "healthCheckId": f"hc-{r}",
                "status": statuses.get(r, "healthy"),
                "region": r,
            }
            for r in plan["regions"]
        ]
        self.arc(
            region,
            "list_route53_health_checks_in_region",
            {"healthChecks": checks},
            {"arn": plan["arn"]},
        )
        self.arc(region, "get_plan_in_region", {"plan": plan}, {"arn": plan["arn"]})

    def start(
        self,
        region: str,
        plan: dict[str, Any],
        *,
        target: str,
        action: str,
        mode: str = "graceful",
    ) -> None:
        self.arc(
            region,
            "start_plan_execution",
            {"executionId": EXECUTION_ID, "plan": plan["arn"], "planVersion": "1"},
            {
                "planArn": plan["arn"],
                "targetRegion": target,
                "action": action,
                "mode": mode,
                "comment": ANY,
            },
        )

    def execution(self, region: str, plan: dict[str, Any], state: str, **kwargs: Any) -> None:
        self.arc(
            region,
            "get_plan_execution",
            execution(plan, state, executed_in=region, **kwargs),
            {"planArn": plan["arn"], "executionId": EXECUTION_ID},
        )

    def describe_global(self, region: str, **kwargs: Any) -> None:
        self.expect(
            region,
            "describe_global_clusters",
            global_cluster(**kwargs),
            {"GlobalClusterIdentifier": GLOBAL_ID},
        )

    def describe_cluster(self, arn: str, **kwargs: Any) -> None:
        region = arn.split(":")[3]
        self.expect(
            region, "describe_db_clusters", db_cluster(arn, **kwargs), {"DBClusterIdentifier": arn}
        )

    def assert_done(self) -> None:
        for stubber in (*self.stubbers.values(), *self.arc_stubbers.values()):
            stubber.assert_no_pending_responses()

    def aws(self, recorder: Recorder, lost: set[str] = frozenset()) -> Aws:
        def factory(service: str, region: str) -> Any:
            if service in ("rds", ARC):
                if region in lost:
                    return LostRegionClient(region)
                return (self.clients if service == "rds" else self.arc_clients)[region]
            return recorder.attach(boto3.client(service, region_name=region), region)

        return Aws(client_factory=factory)


class LostRegionClient:
    """A client for a region that is down: every call fails to connect."""

    def __init__(self, region: str):
        self.region = region

    def __getattr__(self, name: str) -> Callable[..., Any]:
        from botocore.exceptions import EndpointConnectionError

        def fail(**_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url=f"https://rds.{self.region}.amazonaws.com")

        return fail


@pytest.fixture
def stubbed(recorder: Recorder, moto_env) -> StubbedRds:
    return StubbedRds(recorder)


def put_lag(region: str, cluster: str, lag_ms: float, metric: str = "AuroraGlobalDBRPOLag"):
    boto3.client("cloudwatch", region_name=region).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster}],
                "Value": lag_ms,
                "Unit": "Milliseconds",
                "Timestamp": NOW - timedelta(seconds=30),
            }
        ],
    )
