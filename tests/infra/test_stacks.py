"""Whole-stack properties: synthesis, the global/regional contract, providers and tags."""

from __future__ import annotations

import ast
from pathlib import Path

import pulumi
import pytest

from stacks import contract
from tests.infra.conftest import global_stack_name
from tests.infra.harness import PROVIDER_TYPE, ROOT, provider_tags, synthesize

REQUIRED_TAGS = {
    "project": "mobile-backend",
    "data-classification": "phi",
    "compliance-scope": "hipaa-gdpr",
    "environment": "prod",
}


def test_global_stack_exports_exactly_the_contract(global_synth):
    assert set(global_synth.outputs) == contract.GLOBAL_OUTPUTS
    assert global_synth.outputs[contract.PRIMARY_REGION] == "eu-west-1"
    assert global_synth.outputs[contract.REGIONS] == ["eu-west-1", "us-west-1"]


def test_regional_stacks_read_only_contract_names(regional_synths):
    for stack, synth in regional_synths.items():
        assert synth.stack_reference_reads, f"{stack} never read the global stack"
        assert synth.stack_reference_reads <= contract.GLOBAL_OUTPUTS, stack


def test_regional_stacks_reference_the_configured_global_stack(regional_synths):
    for stack, synth in regional_synths.items():
        ref = synth.one("pulumi:pulumi:StackReference")
        assert ref.inputs["name"] == "examplehealth/mobile-backend/prod-global", stack


def test_regional_roles_follow_the_primary_region(eu_synth, us_synth):
    assert (eu_synth.outputs["region"], eu_synth.outputs["role"]) == ("eu-west-1", "primary")
    assert (us_synth.outputs["region"], us_synth.outputs["role"]) == ("us-west-1", "secondary")


def test_output_renamed_on_the_global_side_only_breaks_regional_synthesis(global_synth):
    renamed = dict(global_synth.outputs)
    renamed["primary_region"] = renamed.pop(contract.PRIMARY_REGION)
    with pytest.raises(Exception, match="primaryRegion"):
        synthesize("prod-eu", stack_outputs={global_stack_name("prod-eu"): renamed})


def test_contract_refuses_unknown_or_missing_global_outputs():
    full = {name: "x" for name in contract.GLOBAL_OUTPUTS}
    assert contract.global_exports(full) == full
    with pytest.raises(contract.ContractError, match="not in contract"):
        contract.global_exports({**full, "extra": 1})
    missing = dict(full)
    missing.pop(contract.DOMAIN)
    with pytest.raises(contract.ContractError, match="missing"):
        contract.global_exports(missing)


def _string_literal_calls(path: Path, method: str) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == method
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append(f"{path.name}:{node.lineno} {method}({node.args[0].value!r})")
    return found


def test_stacks_name_cross_stack_outputs_only_through_the_contract_module():
    offenders = []
    for path in sorted((ROOT / "stacks").glob("*.py")):
        if path.name == "contract.py":
            continue
        for method in ("require", "require_output", "get_output", "export"):
            offenders += _string_literal_calls(path, method)
    offenders += _string_literal_calls(ROOT / "__main__.py", "export")
    assert offenders == []


def test_global_topology_mismatch_stops_the_regional_stack(global_synth):
    stale = {**global_synth.outputs, contract.PRIMARY_REGION: "us-west-1"}
    with pytest.raises(pulumi.RunError, match="deploy the global stack first"):
        synthesize("prod-eu", stack_outputs={global_stack_name("prod-eu"): stale})


def test_every_aws_resource_uses_an_explicit_tagged_provider(all_synths):
    for stack, synth in all_synths.items():
        for resource in synth.aws_resources():
            provider = synth.provider_of(resource)
            assert provider is not None, f"{stack}: {resource} uses the default provider"
            tags = provider_tags(provider)
            expected = dict(REQUIRED_TAGS)
            if resource.name.startswith("health-") and synth.role == "regional":
                # Alarm plumbing in us-east-1 holds no personal data and is tagged so.
                expected["data-classification"] = "internal"
            for key, value in expected.items():
                assert tags.get(key) == value, f"{stack}: {resource} lacks tag {key}={value}"
            assert tags["stack"] == stack, f"{stack}: {resource} tagged for {tags['stack']}"
            assert tags["region"] == provider.inputs["region"], f"{stack}: {resource}"


def test_global_stack_has_edge_provider_and_one_per_serving_region(global_synth):
    regions = sorted(p.inputs["region"] for p in global_synth.providers)
    assert regions == ["eu-west-1", "us-east-1", "us-west-1"]


def test_regional_resources_all_land_in_the_stack_region(regional_synths):
    expected = {"prod-eu": "eu-west-1", "prod-us": "us-west-1"}
    for stack, synth in regional_synths.items():
        # The one exception: Route 53 health-check alarms (and their topic and key) must be
        # in us-east-1, where Route 53 publishes its metrics.
        regional = [r for r in synth.aws_resources() if not r.name.startswith("health-")]
        regions = {synth.region_of(r) for r in regional}
        assert regions == {expected[stack]}, stack
        edge = {synth.region_of(r) for r in synth.aws_resources() if r.name.startswith("health-")}
        assert edge <= {"us-east-1"}, stack


def test_providers_are_created_only_in_stacks():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "stacks", "tests", "build", ".dev"}:
            continue
        if "aws.Provider(" in path.read_text():
            offenders.append(str(relative))
    assert offenders == []


def test_every_component_child_is_parented_to_its_component(all_synths):
    for stack, synth in all_synths.items():
        components = [r for r in synth.resources if r.type.startswith("mobile-backend:")]
        assert components, stack
        for component in components:
            prefix = component.name
            for child in synth.children_of(component):
                assert child.name.startswith(prefix), f"{stack}: {child} not named after {prefix}"
        for resource in synth.aws_resources():
            parent_type = resource.parent.split("::")[-2] if resource.parent else ""
            assert parent_type.split("$")[-1].startswith("mobile-backend:"), (
                f"{stack}: {resource} is not inside a component"
            )


def test_no_provider_resources_inside_components(all_synths):
    for stack, synth in all_synths.items():
        for provider in synth.of_type(PROVIDER_TYPE):
            assert provider.parent.endswith(f"pulumi:pulumi:Stack::mobile-backend-{stack}"), (
                f"{stack}: provider {provider.name} made below the stack"
            )


def test_main_entry_point_exports_what_the_stack_builds(global_synth):
    via_main = synthesize("prod-global", via_main=True)
    assert via_main.outputs == global_synth.outputs
    assert len(via_main.resources) == len(global_synth.resources)
