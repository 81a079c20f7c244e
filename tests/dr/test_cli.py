"""The CLI end to end: status on moto, switchover through the Stubber with the config change
printed or applied to a copy of the project, usage errors, confirmation, budget."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from contract.outputs import (
    DB_GLOBAL_CLUSTER_ID,
    REGION_SWITCH_PLANS,
    REGIONAL_API_HEALTH_CHECK_ID,
)
from dr.aws import ARC, Aws
from dr.cli import main
from tests.dr.conftest import (
    EU,
    EU_ARN,
    EXECUTION_ID,
    GLOBAL_ID,
    NOW,
    READER,
    US,
    US_ARN,
    US_CLUSTER,
    WRITER,
    ScriptedProbe,
    build_moto_world,
    execution,
    moto_factory,
    put_lag,
)
from tests.dr.test_topology import region_of, route53_probe_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copyfile(path, tmp_path / path.name)
    return tmp_path


def run(argv, **kwargs) -> tuple[int, list[str]]:
    lines: list[str] = []
    kwargs.setdefault("clock", lambda: 0.0)
    code = main(argv, out=lines.append, now=lambda: NOW, **kwargs)
    return code, lines


# --- status -------------------------------------------------------------------------------------
def test_status_shows_roles_lag_and_health_for_both_regions(moto_env, recorder, project_dir):
    # GIVEN EU writer, US secondary 1.2 s behind, both health checks passing
    checks = build_moto_world()
    aws = Aws(client_factory=moto_factory(recorder))

    # WHEN the operator asks for the status
    code, lines = run(
        [
            "--project-dir", str(project_dir), "status", "--global-cluster", GLOBAL_ID,
            "--health-check", f"{EU}={checks[EU]}", "--health-check", f"{US}={checks[US]}",
        ],
        aws=aws,
    )  # fmt: skip

    # THEN one row per region, no attention needed, config agrees with the writer
    assert code == 0
    assert lines == [
        f"global cluster {GLOBAL_ID}: status available, engine 16.4, "
        "switchover/failover in progress: none",
        "region     role       cluster                 status     engine  sync  lag   health check",
        "eu-west-1  writer     mobile-backend-prod-eu  available  16.4    -     -     "
        "healthy (1/1 checkers OK)",
        "us-west-1  secondary  mobile-backend-prod-us  available  16.4    -     1.2s  "
        "healthy (1/1 checkers OK)",
        "Pulumi.yaml primaryRegion eu-west-1 matches the writer",
    ]
    assert recorder.mutations == []


def test_status_flags_config_drift_after_a_switchover(moto_env, recorder, project_dir):
    # GIVEN the US is the writer but Pulumi.yaml still says EU
    build_moto_world(writer=US)
    code, lines = run(
        ["--project-dir", str(project_dir), "status", "--global-cluster", GLOBAL_ID],
        aws=Aws(client_factory=moto_factory(recorder)),
    )
    assert code == 1
    assert lines[-2:] == [
        "DRIFT Pulumi.yaml primaryRegion is eu-west-1 but the writer is us-west-1: run "
        "`python -m dr config --new-primary us-west-1` before the next `pulumi up`",
        "ATTENTION stack config drift",
    ]


def outputs_argv(files: dict[str, Path]) -> list[str]:
    return [arg for path in files.values() for arg in ("--outputs", str(path))]


def healthy_route53(expected_ids: list[str]) -> Any:
    """A Route 53 client that answers "healthy" to exactly these health check ids, in order."""
    client = boto3.client(
        "route53",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    for check_id in expected_ids:
        observation = {
            "Region": "eu-west-1",
            "IPAddress": "192.0.2.1",
            "StatusReport": {"Status": "Success: HTTP Status Code 200, OK", "CheckedTime": NOW},
        }
        stubber.add_response(
            "get_health_check_status",
            {"HealthCheckObservations": [observation]},
            {"HealthCheckId": check_id},
        )
    stubber.activate()
    client.stubber = stubber
    return client


def test_status_reads_everything_from_the_stacks_outputs(
    moto_env, recorder, project_dir, stack_output_files, all_synths, stubbed, held_plan
):
    # GIVEN the real stacks' `pulumi stack output --json` files and no identifier flag, and the
    # plan holding the US out of routing
    build_moto_world()
    route53 = healthy_route53(
        [
            all_synths[stack].outputs[REGIONAL_API_HEALTH_CHECK_ID]
            for stack in ("prod-eu", "prod-us")
        ]
    )
    stubbed.arc(
        EU,
        "list_route53_health_checks_in_region",
        {
            "healthChecks": [
                {"hostedZoneId": "Z", "recordName": "api", "region": EU, "status": "healthy"},
                {"hostedZoneId": "Z", "recordName": "api", "region": US, "status": "unhealthy"},
            ]
        },
        {"arn": held_plan["arn"]},
    )
    moto = moto_factory(recorder)

    def factory(service: str, region: str) -> Any:
        if service == "route53":
            return route53
        if service == ARC:
            return stubbed.arc_clients[region]
        return moto(service, region)

    # WHEN the operator asks for the status from them
    code, lines = run(
        ["--project-dir", str(project_dir), "status", *outputs_argv(stack_output_files)],
        aws=Aws(factory),
    )

    # THEN the global cluster is the one the global stack exported, each region's exported
    # health check was asked, in region order, and the plan the global stack exported says
    # which region it keeps out of routing
    exported = all_synths["prod-global"].outputs[DB_GLOBAL_CLUSTER_ID]
    assert lines[0].startswith(f"global cluster {exported}: status available")
    assert [line.rsplit("  ", 1)[-1] for line in lines[2:4]] == ["healthy (1/1 checkers OK)"] * 2
    assert lines[-2:] == [
        f"plan {held_plan['name']}: eu-west-1 in routing; us-west-1 OUT of routing (unhealthy)",
        "ATTENTION a plan holds a region out of routing or cannot be read",
    ]
    assert code == 1
    route53.stubber.assert_no_pending_responses()
    stubbed.assert_done()


class RecordingProbeFactory:
    """Stands in for ``HttpHealthProbe``: keeps the URLs the CLI built it with."""

    def __init__(self, script: dict):
        self.script = script
        self.urls: dict[str, str] | None = None
        self.probe: ScriptedProbe | None = None

    def __call__(self, urls: dict[str, str]) -> ScriptedProbe:
        self.urls = dict(urls)
        self.probe = ScriptedProbe(self.script)
        return self.probe


def queue_switchover(stubbed, held_plan, *, to=US):
    """Pre-checks, plan reads, one completed execution and the verification, for a switch of
    the writer to ``to`` (the other region's check healthy: a deactivate of the writer's)."""
    writer = EU if to == US else US
    target_arn, source_arn = (US_ARN, EU_ARN) if to == US else (EU_ARN, US_ARN)
    stubbed.describe_global(to, writer=writer)
    stubbed.describe_cluster(target_arn)
    stubbed.describe_cluster(source_arn)
    stubbed.plan_reads(to, held_plan)
    stubbed.start(to, held_plan, target=writer, action="deactivate")
    stubbed.execution(to, held_plan, "completed", workflow_region=writer)
    stubbed.describe_global(to, writer=to)
    stubbed.describe_cluster(target_arn)
    stubbed.describe_global(to, writer=to)


def test_switchover_from_the_stacks_outputs_runs_their_plan_and_probes_what_route53_probes(
    stubbed, recorder, project_dir, stack_output_files, all_synths, held_plan, monkeypatch
):
    # GIVEN a healthy world, the real stacks' outputs and no identifier or URL flag
    put_lag(US, US_CLUSTER, 1200)
    queue_switchover(stubbed, held_plan)
    probes = RecordingProbeFactory({US: [WRITER], EU: [READER]})
    monkeypatch.setattr("dr.cli.HttpHealthProbe", probes)

    # WHEN the switchover runs
    code, lines = run(
        [
            "--project-dir", str(project_dir), "switchover", "--to", US, "--yes",
            *outputs_argv(stack_output_files),
        ],
        aws=stubbed.aws(recorder),
        sleep=pytest.fail,
    )  # fmt: skip

    # THEN the execution started is of the plan the global stack exported, and the writer
    # probe asked each region's /health at the URL its Route 53 check probes
    assert code == 0, lines
    (start,) = [params for _, op, params in recorder.calls if op == "StartPlanExecution"]
    exported = all_synths["prod-global"].outputs[REGION_SWITCH_PLANS]
    assert start["planArn"] == exported[0]["arn"] == held_plan["arn"]
    assert probes.urls == {
        region_of(all_synths[stack]): route53_probe_url(all_synths[stack])
        for stack in ("prod-eu", "prod-us")
    }
    assert probes.probe is not None and set(probes.probe.asked) == {US, EU}
    assert not any("SKIPPED" in line for line in lines)
    stubbed.assert_done()


def test_a_renamed_plans_output_stops_the_tool_before_any_aws_call(
    project_dir, stack_output_files, tmp_path
):
    # GIVEN the global stack's outputs with the plans under another name
    renamed = tmp_path / "prod-global.json"
    text = stack_output_files["prod-global"].read_text()
    assert f'"{REGION_SWITCH_PLANS}"' in text
    renamed.write_text(text.replace(f'"{REGION_SWITCH_PLANS}"', '"regionSwitchPlanList"'))
    files = {**stack_output_files, "prod-global": renamed}

    # WHEN the operator asks for a switchover dry run
    code, lines = run(
        ["--project-dir", str(project_dir), "switchover", "--to", US, "--dry-run",
         *outputs_argv(files)],
        aws=Aws(pytest.fail),
    )  # fmt: skip

    # THEN it is a usage error naming the output it reads
    assert code == 2
    assert lines == [
        f"error: {renamed} has no '{REGION_SWITCH_PLANS}': deploy the global stack with its "
        "Region switch plans first (docs/dr.md)"
    ]


def test_a_file_that_is_no_stacks_outputs_is_a_usage_error(project_dir, tmp_path):
    path = tmp_path / "other.json"
    path.write_text("{}")
    code, lines = run(
        ["--project-dir", str(project_dir), "status", "--outputs", str(path)],
        aws=Aws(pytest.fail),
    )
    assert code == 2
    assert lines[0].startswith(f"error: {path} has neither")


def test_status_with_lag_above_the_rpo_needs_attention(moto_env, recorder, project_dir):
    build_moto_world(lag_ms=31000)
    code, lines = run(
        ["--project-dir", str(project_dir), "status", "--global-cluster", GLOBAL_ID],
        aws=Aws(client_factory=moto_factory(recorder)),
    )
    assert code == 1
    assert lines[-1] == "ATTENTION us-west-1 lag 31.0s exceeds RPO 30s"


# --- switchover through the CLI ------------------------------------------------------------------
def switchover_argv(project_dir: Path, files: dict[str, Path], *extra: str, to: str = US):
    return [
        "--project-dir", str(project_dir), "switchover", "--to", to,
        *outputs_argv(files), *extra,
    ]  # fmt: skip


def test_cli_dry_run_prints_plan_diff_and_deploy_order_and_changes_nothing(
    stubbed, recorder, project_dir, stack_output_files, held_plan
):
    # GIVEN a healthy world and no mutating response queued
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN)
    stubbed.describe_cluster(EU_ARN)
    stubbed.plan_reads(US, held_plan)
    before = (project_dir / "Pulumi.yaml").read_bytes()

    # WHEN the operator runs a dry run, even asking for --apply-config
    code, lines = run(
        switchover_argv(project_dir, stack_output_files, "--dry-run", "--apply-config"),
        aws=stubbed.aws(recorder),
    )

    # THEN the plan, the diff and the deploy order are printed; no AWS or file change
    assert code == 0, lines
    assert recorder.mutations == []
    stubbed.assert_done()
    assert (project_dir / "Pulumi.yaml").read_bytes() == before
    assert any("PLAN 2/5 route53-out [Route53HealthCheck" in line for line in lines)
    tail = lines[lines.index("[   0.0s] DRY RUN complete: pre-checks passed, no change made") :]
    assert tail[1:3] == [
        "DRY RUN --apply-config: the change below would be written after success",
        "--- stack configuration: primaryRegion → us-west-1",
    ]
    assert "-    value: eu-west-1\n+    value: us-west-1" in tail[3]
    assert tail[-4:] == [
        "--- then deploy, in this order (global → new primary → new secondary):",
        "  1. pulumi up -s prod-global",
        "  2. pulumi up -s prod-us",
        "  3. pulumi up -s prod-eu",
    ]


def test_cli_switchover_with_apply_config_records_the_new_primary(
    stubbed, recorder, project_dir, stack_output_files, held_plan
):
    # GIVEN a healthy world
    put_lag(US, US_CLUSTER, 1200)
    queue_switchover(stubbed, held_plan)
    original = (project_dir / "Pulumi.yaml").read_text()

    # WHEN the switchover runs with --yes --apply-config
    code, lines = run(
        switchover_argv(project_dir, stack_output_files, "--yes", "--apply-config"),
        aws=stubbed.aws(recorder),
        probe=ScriptedProbe({US: [WRITER], EU: [READER]}),
        sleep=pytest.fail,
    )

    # THEN one plan execution was started and Pulumi.yaml now says us-west-1 (one line changed)
    assert code == 0, lines
    assert [m[1] for m in recorder.mutations] == ["StartPlanExecution"]
    assert (project_dir / "Pulumi.yaml").read_text() == original.replace(
        "  primaryRegion:\n    value: eu-west-1\n", "  primaryRegion:\n    value: us-west-1\n"
    )
    assert "CONFIG applied to Pulumi.yaml; commit it" in lines
    stubbed.assert_done()


def test_cli_without_yes_asks_for_the_target_region(
    stubbed, recorder, project_dir, stack_output_files, held_plan
):
    put_lag(US, US_CLUSTER, 1200)
    stubbed.describe_global(US)
    stubbed.describe_cluster(US_ARN)
    stubbed.describe_cluster(EU_ARN)
    stubbed.plan_reads(US, held_plan)
    asked: list[str] = []

    # WHEN the operator types the wrong region at the prompt
    code, _ = run(
        switchover_argv(project_dir, stack_output_files),
        aws=stubbed.aws(recorder),
        read=lambda prompt: asked.append(prompt) or "eu-west-1",
    )

    # THEN nothing is started
    assert code == 4
    assert recorder.mutations == []
    assert asked == ["type the target region (us-west-1) to proceed: "]


def test_cli_switchover_without_the_global_outputs_has_no_plan(project_dir):
    code, lines = run(
        ["--project-dir", str(project_dir), "switchover", "--to", US,
         "--global-cluster", GLOBAL_ID],
        aws=Aws(pytest.fail),
    )  # fmt: skip
    assert code == 2
    assert lines == [
        f"error: no Region switch plan: pass --outputs <global>.json (its "
        f"{REGION_SWITCH_PLANS} output)"
    ]


# --- executions, watch, approve ----------------------------------------------------------------
def test_executions_lists_each_plans_executions_newest_first(
    stubbed, recorder, project_dir, stack_output_files, held_plan
):
    # GIVEN the EU data plane does not answer; the US one holds two executions
    older = execution(held_plan, "completed", executed_in=US, recovery="PT6M")
    newer = execution(held_plan, "failed", executed_in=US, action="activate", workflow_region=EU)
    older["startTime"] = NOW - timedelta(days=30)
    older["endTime"] = NOW - timedelta(days=30) + timedelta(minutes=6)
    older["comment"] = "game day"
    newer["executionId"] = "exec-0002"
    for item in (older, newer):
        item.pop("stepStates")
    stubbed.arc_stubbers[EU].add_client_error("list_plan_executions", "InternalServerException")
    stubbed.arc(
        US,
        "list_plan_executions",
        {"items": [older, newer]},
        {"planArn": held_plan["arn"], "maxResults": 20},
    )

    code, lines = run(
        ["--project-dir", str(project_dir), "executions", *outputs_argv(stack_output_files)],
        aws=stubbed.aws(recorder),
    )

    assert code == 0, lines
    assert lines == [
        f"plan {held_plan['name']} ({held_plan['arn']}): 2 execution(s), newest first",
        "  exec-0002  activate (graceful) in us-west-1  failed  2026-11-23T10:00:00+00:00 → -  "
        "recovery -",
        "  exec-0001  deactivate (graceful) in us-west-1  completed  2026-10-24T10:00:00+00:00 → "
        "2026-10-24T10:06:00+00:00  recovery PT6M  game day",
    ]
    assert recorder.mutations == []
    stubbed.assert_done()


def test_approve_approves_the_named_step_in_the_executions_region(
    stubbed, recorder, project_dir, stack_output_files, held_plan
):
    stubbed.execution(
        EU, held_plan, "pendingManualApproval", statuses={"approve": "pendingApproval"}
    )
    stubbed.arc(
        EU,
        "approve_plan_execution_step",
        {},
        {
            "planArn": held_plan["arn"],
            "executionId": EXECUTION_ID,
            "stepName": "approve",
            "approval": "decline",
            "comment": "python -m dr",
        },
    )

    code, lines = run(
        ["--project-dir", str(project_dir), "approve", EXECUTION_ID, "--decline",
         *outputs_argv(stack_output_files)],
        aws=stubbed.aws(recorder),
    )  # fmt: skip

    assert (code, lines) == (0, [f"declined step approve of execution {EXECUTION_ID}"])
    stubbed.assert_done()


def test_watch_follows_an_execution_to_its_end(
    stubbed, recorder, project_dir, stack_output_files, held_plan, clock
):
    stubbed.execution(EU, held_plan, "inProgress", statuses={"route53-out": "running"})
    stubbed.execution(EU, held_plan, "inProgress", statuses={"route53-out": "running"})
    stubbed.execution(EU, held_plan, "completed")

    code, lines = run(
        ["--project-dir", str(project_dir), "watch", EXECUTION_ID,
         *outputs_argv(stack_output_files)],
        aws=stubbed.aws(recorder),
        clock=clock,
        sleep=clock.sleep,
    )  # fmt: skip

    assert code == 0, lines
    assert clock.sleeps == [10.0]
    assert [line.split("] ", 1)[-1] for line in lines if "STEP" in line] == [
        "STEP approve: notStarted",
        "STEP route53-out: running",
        "STEP aurora-writer: notStarted",
        "STEP verify-writer: notStarted",
        "STEP smoke: notStarted",
        "STEP approve: completed",
        "STEP route53-out: completed",
        "STEP aurora-writer: completed",
        "STEP verify-writer: completed",
        "STEP smoke: completed",
    ]
    assert lines[-1] == (
        "run `python -m dr status` to verify the writer, then apply the config change"
    )
    stubbed.assert_done()


def test_cli_rejects_a_region_outside_the_project(project_dir):
    code, lines = run(
        ["--project-dir", str(project_dir), "switchover", "--to", "eu-east-1",
         "--global-cluster", GLOBAL_ID],
        aws=Aws(client_factory=pytest.fail),
    )  # fmt: skip
    assert code == 2
    assert lines == ["error: --to eu-east-1 is not a serving region (eu-west-1, us-west-1)"]


def test_cli_needs_a_global_cluster(project_dir):
    code, lines = run(["--project-dir", str(project_dir), "status"], aws=Aws(pytest.fail))
    assert code == 2
    assert lines == [
        "error: no global cluster: pass --global-cluster ID or --outputs <global>.json"
    ]


def test_cli_rejects_a_malformed_pair(project_dir):
    code, lines = run(
        ["--project-dir", str(project_dir), "status", "--global-cluster", GLOBAL_ID,
         "--health-check", "eu-west-1"],
        aws=Aws(pytest.fail),
    )  # fmt: skip
    assert code == 2
    assert lines == ["error: --health-check expects REGION=VALUE, got 'eu-west-1'"]


# --- config and budget -------------------------------------------------------------------------
def test_config_command_applies_the_change(project_dir):
    code, lines = run(["--project-dir", str(project_dir), "config", "--new-primary", US, "--apply"])
    assert code == 0
    assert "    value: us-west-1\n" in (project_dir / "Pulumi.yaml").read_text()
    code, lines = run(["--project-dir", str(project_dir), "config", "--new-primary", US])
    assert lines[1] == (
        "CONFIG already primaryRegion us-west-1 in every stack file: nothing to change"
    )


@pytest.mark.parametrize(("ttl", "code"), [("10", 0), ("60", 1)])
def test_budget_command_exit_code_says_whether_the_targets_hold(ttl, code):
    assert run(["budget", "--ttl", ttl])[0] == code


def test_python_dash_m_dr_help_runs_without_aws():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "dr", "budget"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("RTO worst case 41 s (target < 60 s):")


def test_status_without_lag_data_needs_attention(moto_env, recorder, project_dir):
    build_moto_world(lag_ms=None)
    code, lines = run(
        ["--project-dir", str(project_dir), "status", "--global-cluster", GLOBAL_ID],
        aws=Aws(client_factory=moto_factory(recorder)),
    )
    assert code == 1
    assert lines[-1] == "ATTENTION us-west-1 publishes no replication-lag metric"


def test_importing_the_cli_loads_neither_boto3_nor_yaml():
    import subprocess
    import sys

    code = (
        "import sys, dr.cli; "
        "print(sorted(m for m in ('boto3', 'botocore', 'yaml', 'pulumi') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"
