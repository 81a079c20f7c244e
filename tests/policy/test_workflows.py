"""The GitHub Actions workflows (R-CI-1): actionlint and zizmor run offline from the test suite,
plus the properties neither linter knows we promised: OIDC only, pinned actions, least
privilege, previews of every stack with the policy pack, deploy order global → primary →
secondaries with an approval-capable environment per stack, a smoke test after each region,
and a monthly game day that runs the dev Region switch plan there and back (R-DR-5).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.infra.harness import ROOT, load_stack_config

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
# Keep the linters off the network and away from any token in the caller's environment.
OFFLINE_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN", "GH_HOST")
}


def _actionlint(*paths: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BIN / "actionlint"),
            "-no-color",
            "-oneline",
            f"-shellcheck={BIN / 'shellcheck'}",
            "-pyflakes=",
            *map(str, paths),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=OFFLINE_ENV,
        check=False,
    )


def _zizmor(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona=pedantic", "--no-progress", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        env=OFFLINE_ENV,
        check=False,
    )


def _load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _uses(job: dict, action: str) -> list[dict]:
    return [s for s in _steps(job) if s.get("uses", "").startswith(f"{action}@")]


def _stacks() -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml")
    )


def _deploy_order(environment: str = "prod") -> list[str]:
    """global first, then the primary region's stack, then the secondaries (R-STACK-3), for
    the environment the workflows deploy (the dev stacks are deployed by hand, docs/local.md)."""
    configs = {stack: load_stack_config(stack) for stack in _stacks()}
    configs = {
        stack: config
        for stack, config in configs.items()
        if config.get("mobile-backend:environment", "prod") == environment
    }

    def rank(stack: str) -> tuple[int, str]:
        config = configs[stack]
        if config["mobile-backend:role"] == "global":
            return (0, stack)
        primary = config["mobile-backend:primaryRegion"] == config["aws:region"]
        return (1 if primary else 2, stack)

    return sorted(configs, key=rank)


WORKFLOW_FILES = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_there_are_a_pull_request_a_deploy_and_a_game_day_workflow():
    assert WORKFLOW_FILES == ["deploy.yml", "game-day.yml", "pull-request.yml"]
    assert _deploy_order() == ["prod-global", "prod-eu", "prod-us"]


def test_actionlint_passes_with_shellcheck():
    result = _actionlint(*(WORKFLOWS / name for name in WORKFLOW_FILES))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_passes_offline_with_the_pedantic_persona():
    result = _zizmor(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_the_linters_do_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
        "      - run: echo ${{ needs.nothing.outputs.x }}\n"
    )
    linted = _actionlint(broken, cwd=tmp_path)
    assert linted.returncode == 1
    assert "potentially untrusted" in linted.stdout
    assert 'property "nothing" is not defined' in linted.stdout
    audited = _zizmor(broken)
    assert audited.returncode != 0
    for audit in ("template-injection", "unpinned-uses", "artipacked", "excessive-permissions"):
        assert audit in audited.stdout, audit


@pytest.mark.parametrize("name", WORKFLOW_FILES)
def test_every_action_is_pinned_to_a_commit_with_its_version(name):
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"uses: (.+)$", text, flags=re.MULTILINE)
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []


@pytest.mark.parametrize("name", WORKFLOW_FILES)
def test_least_privilege_and_no_long_lived_credentials(name):
    workflow = _load(name)
    text = (WORKFLOWS / name).read_text()
    assert workflow["permissions"] == {}
    assert "pull_request_target" not in workflow["on"]
    for forbidden in ("aws-access-key-id", "AWS_SECRET_ACCESS_KEY", "PULUMI_ACCESS_TOKEN"):
        assert forbidden not in text
    # No cloud credential is a secret (OIDC only); the one secret allowed is the smoke-test
    # user of the app's own user pool.
    assert set(re.findall(r"secrets\.([A-Z_]+)", text)) <= {"SMOKE_USERNAME", "SMOKE_PASSWORD"}
    for job_name, job in workflow["jobs"].items():
        permissions = job["permissions"]
        assert set(permissions.values()) <= {"read", "write"}, job_name
        assert permissions.get("contents") == "read", job_name
        cloud = _uses(job, "aws-actions/configure-aws-credentials") + _uses(
            job, "pulumi/auth-actions"
        )
        # OIDC tokens only where a job assumes a role.
        assert (permissions.get("id-token") == "write") == bool(cloud), job_name
        writes = {k for k, v in permissions.items() if v == "write"}
        assert writes <= {"id-token", "pull-requests"}, job_name
        for checkout in _uses(job, "actions/checkout"):
            assert checkout["with"]["persist-credentials"] is False, job_name
        for aws in _uses(job, "aws-actions/configure-aws-credentials"):
            assert aws["with"]["role-to-assume"].startswith("${{ vars."), job_name


def test_pull_request_previews_every_stack_with_the_policy_pack():
    workflow = _load("pull-request.yml")
    assert workflow["on"] == {"pull_request": {"branches": ["main"]}}
    test, preview = workflow["jobs"]["test"], workflow["jobs"]["preview"]
    assert [s.get("run") for s in _steps(test) if s.get("run", "").startswith("make")] == [
        "make lint",
        "make test",
    ]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == _deploy_order()
    assert preview["permissions"]["pull-requests"] == "write"
    (pulumi,) = _uses(preview, "pulumi/actions")
    assert pulumi["with"] == {
        "command": "preview",
        "stack-name": "${{ vars.PULUMI_ORG }}/mobile-backend/${{ matrix.stack }}",
        "policyPacks": "policy",
        "comment-on-pr": True,
        "edit-pr-comment": True,
        "diff": True,
    }


def test_main_deploys_in_order_with_environments_and_smoke_tests():
    workflow = _load("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    up_jobs = {
        job["environment"]: (name, job)
        for name, job in jobs.items()
        if _uses(job, "pulumi/actions")
    }
    assert list(up_jobs) == _deploy_order()
    previous, earlier = "test", {"test"}
    for stack, (name, job) in up_jobs.items():
        needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
        # Each stack after the one before it; other earlier jobs only for their outputs.
        assert previous in needs and set(needs) <= earlier, name
        (pulumi,) = _uses(job, "pulumi/actions")
        assert pulumi["with"]["command"] == "up"
        assert pulumi["with"]["stack-name"].endswith(f"/mobile-backend/{stack}")
        assert pulumi["with"]["policyPacks"] == "policy"
        steps = _steps(job)
        if stack != "prod-global":
            smoke = steps[-1]
            assert 'scripts/smoke.py "$API_URL"' in smoke["run"]
            assert '--origin-verify-secret "$ORIGIN_VERIFY_SECRET"' in smoke["run"]
            assert smoke["env"]["ORIGIN_VERIFY_SECRET"] == (
                "${{ needs.up-global.outputs.origin_verify_secret }}"
            )
            assert smoke["env"]["API_URL"] == "${{ steps.up.outputs.apiUrl }}"
            assert smoke["env"]["SMOKE_PASSWORD"] == "${{ secrets.SMOKE_PASSWORD }}"
            assert steps.index(pulumi) < steps.index(smoke)
        previous = name
        earlier.add(name)
    edge = jobs["smoke-edge"]
    assert edge["needs"] == ["up-global", "up-eu", previous]
    assert 'scripts/smoke.py "https://$DOMAIN/api"' in _steps(edge)[-1]["run"]


# --- game day (R-DR-5, docs/dr.md) ------------------------------------------------------------
GAME_DAY_SCRIPT = ROOT / "scripts" / "game_day.sh"


def test_game_day_runs_monthly_and_on_demand_one_at_a_time():
    workflow = _load("game-day.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    ((cron,),) = [[entry["cron"] for entry in workflow["on"]["schedule"]]]
    minute, hour, day, month, weekday = cron.split()
    assert minute.isdigit() and hour.isdigit(), cron
    # A fixed day of every month, any weekday: monthly, not more often.
    assert day.isdigit() and 1 <= int(day) <= 28 and (month, weekday) == ("*", "*"), cron
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_game_day_switches_the_dev_writer_to_the_secondary_and_back_with_smoke_tests():
    workflow = _load("game-day.yml")
    ((name, job),) = workflow["jobs"].items()
    text = (WORKFLOWS / "game-day.yml").read_text()
    # Only the dev environment's stacks, and no deployment: the CLI is installed, not run up.
    assert job["environment"].startswith("dev"), name
    stacks = set(re.findall(r"\b(?:dev|prod)-(?:global|eu|us)\b", text))
    assert stacks == {"dev-global", "dev-eu", "dev-us"}
    (pulumi,) = _uses(job, "pulumi/actions")
    assert "command" not in pulumi.get("with", {}), "a game day must not deploy"
    runs = [s.get("run", "") for s in _steps(job)]
    game = [r for r in runs if "scripts/game_day.sh" in r]
    assert game == [
        "scripts/game_day.sh smoke",
        'scripts/game_day.sh switch "$SECONDARY"',
        "scripts/game_day.sh smoke",
        'scripts/game_day.sh switch "$PRIMARY"',
        "scripts/game_day.sh smoke",
        "scripts/game_day.sh report",
    ]
    # Switching back is tried even after a failed smoke test; the report always comes.
    back = next(s for s in _steps(job) if s.get("run") == 'scripts/game_day.sh switch "$PRIMARY"')
    assert back["if"] == "${{ !cancelled() }}"
    assert _steps(job)[-1]["if"] == "${{ always() }}"
    # PRIMARY and SECONDARY come from the global stack's outputs, not from the workflow text.
    assert "jq -r .primaryRegion outputs/dev-global.json" in text


def test_the_game_day_script_runs_the_plan_through_the_runbook_and_passes_shellcheck():
    script = GAME_DAY_SCRIPT.read_text()
    result = subprocess.run(
        [str(BIN / "shellcheck"), str(GAME_DAY_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "")
    # The runbook's switchover (ARC plan execution + its own verification), never a config edit:
    # the game day switches back within the same run.
    assert "-m dr switchover --to" in script and "--yes" in script
    assert "--apply-config" not in script and "--allow-data-loss" not in script
    assert "scripts/smoke.py" in script
    assert GAME_DAY_SCRIPT.stat().st_mode & 0o111, "the workflow runs it directly"


def test_the_game_day_script_refuses_an_unknown_step(tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "dev-global.json").write_text("{}")
    result = subprocess.run(
        [str(GAME_DAY_SCRIPT), "rollback"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr
