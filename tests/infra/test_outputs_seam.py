"""R-STACK-2: every output the global stack exports has a reader, and every output a reader
reads is exported, on the synthesized stacks.

Readers: each regional stack (the names the harness saw it read through ``GlobalStack``), the
DR tool (``dr.topology.GLOBAL_READS`` and ``REGIONAL_READS``, the latter from both regional
stacks) and the GitHub workflows (parsed: ``steps.up.outputs.<name>``), whose global reads are
recorded in ``contract.outputs.DEPLOY_WORKFLOW_READS``. The checker is shown to fail on
mutated copies of each side.
"""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest
import yaml

from contract import outputs as contract_outputs
from contract.outputs import (
    ASSETS_BUCKETS,
    ASSETS_KEY_ARNS,
    DB_GLOBAL_CLUSTER_ID,
    DEPLOY_WORKFLOW_READS,
    DISTRIBUTION_ID,
    DOMAIN,
    GLOBAL_OUTPUTS,
    ORIGIN_VERIFY_SECRET_NAME,
    REGIONAL_API_URL,
)
from dr.topology import GLOBAL_READS, REGIONAL_READS
from tests.infra.harness import (
    GLOBAL_STACK,
    REGIONAL_STACKS,
    ROOT,
    Synthesis,
    global_stack_name,
    synthesize,
)
from tests.infra.seam import Seam, seam_problems, workflow_reads

WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY = ".github/workflows/deploy.yml"


def workflows(replace: tuple[str, str] | None = None) -> dict[str, dict]:
    """path → parsed workflow; ``replace`` edits deploy.yml's text first."""
    parsed = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        key = str(path.relative_to(ROOT))
        if replace is not None and key == DEPLOY:
            assert replace[0] in text, replace[0]
            text = text.replace(*replace)
        parsed[key] = yaml.safe_load(text)
    return parsed


def real_seam(all_synths: dict[str, Synthesis], parsed_workflows: dict[str, dict]) -> Seam:
    regional = {stack: all_synths[stack] for stack in REGIONAL_STACKS}
    global_readers = {
        f"{stack} stack": synth.stack_reference_reads for stack, synth in regional.items()
    }
    global_readers["dr"] = GLOBAL_READS
    regional_readers = {"dr": {stack: REGIONAL_READS for stack in REGIONAL_STACKS}}
    for path, workflow in parsed_workflows.items():
        reads = workflow_reads(workflow)
        global_readers[path] = reads.pop(GLOBAL_STACK, set())
        regional_readers[path] = reads
    return Seam(
        global_exports=set(all_synths[GLOBAL_STACK].outputs),
        regional_exports={stack: set(synth.outputs) for stack, synth in regional.items()},
        global_readers=global_readers,
        regional_readers=regional_readers,
    )


@pytest.fixture(scope="module")
def seam(all_synths) -> Seam:
    return real_seam(all_synths, workflows())


def test_every_global_output_has_a_reader_and_every_name_read_is_exported(seam):
    assert seam_problems(seam) == []
    # Not vacuous: the stacks and the DR tool really are readers.
    assert seam.global_exports == GLOBAL_OUTPUTS
    for stack in REGIONAL_STACKS:
        assert DB_GLOBAL_CLUSTER_ID in seam.global_readers[f"{stack} stack"], stack
        assert REGIONAL_READS.issubset(seam.regional_exports[stack]), stack


def test_the_deploy_workflow_reads_exactly_what_the_contract_records(seam):
    assert seam.global_readers[DEPLOY] == DEPLOY_WORKFLOW_READS
    # Its regional reads (the smoke tests) are checked against both regional stacks too.
    assert {
        stack: REGIONAL_API_URL in names for stack, names in seam.regional_readers[DEPLOY].items()
    } == {stack: True for stack in REGIONAL_STACKS}


def test_only_the_workflow_reads_the_names_recorded_for_it(seam):
    # Recorded for the workflow because no code reads them: if code starts to, move the record.
    code_reads = set().union(
        *(
            names
            for reader, names in seam.global_readers.items()
            if not reader.startswith(".github")
        )
    )
    assert DEPLOY_WORKFLOW_READS.isdisjoint(code_reads)


# --- the checker fails when either side breaks --------------------------------------------
def readers_of(seam: Seam, name: str) -> list[str]:
    return sorted(reader for reader, names in seam.global_readers.items() if name in names)


@pytest.mark.parametrize("name", sorted(GLOBAL_OUTPUTS))
def test_a_global_output_no_longer_exported_is_reported_for_each_reader(seam, name):
    broken = dataclasses.replace(seam, global_exports=seam.global_exports - {name})
    readers = readers_of(seam, name)
    assert readers, f"{name} has no reader"
    assert seam_problems(broken) == [
        f"{reader} reads {name!r}, which the global stack does not export" for reader in readers
    ]


def test_a_global_output_renamed_on_the_export_side_is_reported_both_ways(seam):
    renamed = (seam.global_exports - {DB_GLOBAL_CLUSTER_ID}) | {"auroraGlobalClusterId"}
    assert seam_problems(dataclasses.replace(seam, global_exports=renamed)) == [
        "global output 'auroraGlobalClusterId' is exported but no reader reads it",
        "dr reads 'dbGlobalClusterId', which the global stack does not export",
        "prod-eu stack reads 'dbGlobalClusterId', which the global stack does not export",
        "prod-us stack reads 'dbGlobalClusterId', which the global stack does not export",
    ]


@pytest.mark.parametrize("stack", REGIONAL_STACKS)
@pytest.mark.parametrize("name", sorted(REGIONAL_READS))
def test_a_regional_output_the_dr_tool_reads_missing_from_one_stack_is_reported(seam, stack, name):
    exports = {**seam.regional_exports, stack: seam.regional_exports[stack] - {name}}
    problems = seam_problems(dataclasses.replace(seam, regional_exports=exports))
    assert f"dr reads {name!r}, which {stack} does not export" in problems
    assert all(problem.endswith(f"which {stack} does not export") for problem in problems)


def test_a_reader_that_goes_away_leaves_what_only_it_read_unread(seam):
    readers = {reader: names for reader, names in seam.global_readers.items() if reader != DEPLOY}
    assert seam_problems(dataclasses.replace(seam, global_readers=readers)) == [
        f"global output {name!r} is exported but no reader reads it"
        for name in sorted(DEPLOY_WORKFLOW_READS)
    ]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        # The edge invalidation step gone: nothing reads the distribution id any more.
        (
            ("DISTRIBUTION_ID: ${{ steps.up.outputs.distributionId }}", "DISTRIBUTION_ID: x"),
            f"global output {DISTRIBUTION_ID!r} is exported but no reader reads it",
        ),
        # A job output no other job uses is no reader: smoke-edge reads the domain through it.
        (
            ("DOMAIN: ${{ needs.up-global.outputs.domain }}", "DOMAIN: example.org"),
            f"global output {DOMAIN!r} is exported but no reader reads it",
        ),
        (
            ("outputs.originVerifySecretName", "outputs.originVerifySecret"),
            f"global output {ORIGIN_VERIFY_SECRET_NAME!r} is exported but no reader reads it",
        ),
        # A smoke test that reads a name the regional stack does not export.
        (
            ("API_URL: ${{ steps.up.outputs.apiUrl }}", "API_URL: ${{ steps.up.outputs.apiURL }}"),
            f"{DEPLOY} reads 'apiURL', which prod-eu does not export",
        ),
    ],
)
def test_the_workflow_reader_follows_the_workflow_text(all_synths, edit, problem):
    problems = seam_problems(real_seam(all_synths, workflows(replace=edit)))
    assert problem in problems, problems


def test_a_workflow_that_reads_outputs_of_a_stack_it_cannot_name_is_refused():
    workflow = {
        "jobs": {
            "preview": {
                "steps": [
                    {
                        "id": "up",
                        "uses": "pulumi/actions@0000000000000000000000000000000000000000",
                        "with": {"stack-name": "org/mobile-backend/${{ matrix.stack }}"},
                    },
                    {"run": "echo ${{ steps.up.outputs.apiUrl }}"},
                ]
            }
        }
    }
    with pytest.raises(ValueError, match="no fixed stack"):
        workflow_reads(workflow)


def test_the_contract_names_exactly_what_the_stacks_export(seam):
    # A name left in contract/outputs.py after its export went would mislead its next reader.
    names = {
        key: value
        for key, value in vars(contract_outputs).items()
        if key.isupper() and isinstance(value, str)
    }
    regional = {value for key, value in names.items() if key.startswith("REGIONAL_")}
    assert set(names.values()) == GLOBAL_OUTPUTS | regional
    for stack in REGIONAL_STACKS:
        assert seam.regional_exports[stack] == regional, stack


# --- global outputs reach the region that reads them ---------------------------------------
def _own_prefix_policy(synth: Synthesis) -> dict:
    policy = synth.one("aws:iam/rolePolicy:RolePolicy", lambda r: r.name.endswith("-own-prefix"))
    return json.loads(policy.inputs["policy"])


@pytest.mark.parametrize("stack", REGIONAL_STACKS)
def test_each_region_uploads_into_its_own_assets_bucket(all_synths, stack):
    synth = all_synths[stack]
    region = synth.config["aws:region"]
    bucket = all_synths[GLOBAL_STACK].outputs[ASSETS_BUCKETS][region]
    key_arn = all_synths[GLOBAL_STACK].outputs[ASSETS_KEY_ARNS][region]
    api = synth.one(
        "aws:lambda/function:Function", lambda r: r.inputs["name"] == "mobile-backend-prod-api"
    )
    assert api.inputs["environment"]["variables"]["ASSETS_BUCKET"] == bucket["name"]
    resources = json.dumps(_own_prefix_policy(synth))
    assert bucket["arn"] in resources and key_arn in resources, stack
    assert region in bucket["name"] and region in key_arn


def test_a_global_stack_without_this_regions_assets_bucket_stops_the_regional_stack(all_synths):
    stale = dict(all_synths[GLOBAL_STACK].outputs)
    stale[ASSETS_BUCKETS] = {
        region: bucket for region, bucket in stale[ASSETS_BUCKETS].items() if region != "us-west-1"
    }
    with pytest.raises(pulumi.RunError, match="deploy the global stack first"):
        synthesize("prod-us", stack_outputs={global_stack_name("prod-us"): stale})
