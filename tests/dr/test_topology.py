"""The runbook's view of the deployed stacks, read from the outputs of the real stacks
(synthesized, saved as ``pulumi stack output --json`` files): the global cluster the data tier
created, each region's Route 53 health check, and a health URL that is exactly what Route 53
probes. Also: the runbook reads no name it does not declare in ``dr.topology``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from contract.names import HEALTH_ROUTE
from contract.outputs import (
    DB_GLOBAL_CLUSTER_ID,
    REGIONAL_API_HEALTH_CHECK_ID,
    REGIONAL_API_URL,
    REGIONAL_REGION,
)
from dr.topology import GLOBAL_READS, REGIONAL_READS, Topology, health_url, load_topology
from tests.infra.harness import ROOT, Synthesis

REGIONAL = ("prod-eu", "prod-us")


def region_of(synth: Synthesis) -> str:
    return synth.config["aws:region"]


def route53_health_check(synth: Synthesis):
    """The region's endpoint check (the record heeds a calculated check over it and the Region
    switch plans' checks)."""
    return synth.one(
        "aws:route53/healthCheck:HealthCheck", lambda r: r.inputs["type"] != "CALCULATED"
    )


def route53_probe_url(synth: Synthesis) -> str:
    """The URL a region's Route 53 health check requests (HTTPS on 443)."""
    check = route53_health_check(synth).inputs
    assert (check["type"], check["port"]) == ("HTTPS", 443)
    return f"https://{check['fqdn']}{check['resourcePath']}"


def test_topology_from_the_real_stacks(stack_output_files, all_synths):
    # GIVEN `pulumi stack output --json` of prod-global, prod-eu and prod-us
    # WHEN the runbook loads them
    topology = load_topology(stack_output_files.values())

    # THEN the global cluster is the one the data tier declared
    cluster = all_synths["prod-global"].one("aws:rds/globalCluster:GlobalCluster")
    assert topology.global_cluster_id == cluster.inputs["globalClusterIdentifier"]
    # AND each region's health check is that region's Route 53 health check
    assert topology.health_checks == {
        region_of(all_synths[stack]): route53_health_check(all_synths[stack]).mock_id
        for stack in REGIONAL
    }
    # AND each region's health URL is the one its Route 53 health check probes
    assert topology.health_urls == {
        region_of(all_synths[stack]): route53_probe_url(all_synths[stack]) for stack in REGIONAL
    }
    assert set(topology.health_urls) == {"eu-west-1", "us-west-1"}


def test_the_health_url_is_the_apis_public_health_route():
    # The derivation stands on the route the API really serves without a token.
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert document["paths"][HEALTH_ROUTE]["get"]["security"] == []
    assert (
        health_url("https://a1.execute-api.eu-west-1.amazonaws.com/api")
        == health_url("https://a1.execute-api.eu-west-1.amazonaws.com/api/")
        == f"https://a1.execute-api.eu-west-1.amazonaws.com/api{HEALTH_ROUTE}"
    )


def test_the_order_of_the_files_does_not_matter(stack_output_files):
    forward = load_topology(stack_output_files.values())
    backward = load_topology(reversed(list(stack_output_files.values())))
    assert forward == backward


class RecordingOutputs(Mapping[str, object]):
    """Stack outputs that remember every name looked up (listing them all is refused)."""

    def __init__(self, outputs: Mapping[str, object]):
        self._outputs = dict(outputs)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> object:
        self.asked.add(name)
        return self._outputs[name]

    def __contains__(self, name: object) -> bool:
        self.asked.add(str(name))
        return name in self._outputs

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the runbook must look up the names it declares, not list them")

    def __len__(self) -> int:
        return len(self._outputs)


def test_the_runbook_reads_exactly_the_names_it_declares(all_synths):
    asked: dict[str, set[str]] = {}
    for stack, synth in all_synths.items():
        outputs = RecordingOutputs(synth.outputs)
        Topology().merge_outputs(outputs, source=stack)
        asked[stack] = outputs.asked
    assert asked["prod-global"] <= GLOBAL_READS
    for stack in REGIONAL:
        # The global name is asked too: its absence is what marks a regional stack's file.
        assert asked[stack] <= REGIONAL_READS | GLOBAL_READS, stack
    assert set().union(*asked.values()) == GLOBAL_READS | REGIONAL_READS


def test_each_regions_values_land_under_that_region(all_synths, tmp_path):
    # GIVEN the regional outputs, with health checks told apart (the mocks give both the same id)
    files = []
    for stack in REGIONAL:
        outputs = dict(all_synths[stack].outputs)
        outputs[REGIONAL_API_HEALTH_CHECK_ID] = f"check-of-{stack}"
        files.append(tmp_path / f"{stack}.json")
        files[-1].write_text(json.dumps(outputs))

    topology = load_topology(files)

    assert topology.health_checks == {
        "eu-west-1": "check-of-prod-eu",
        "us-west-1": "check-of-prod-us",
    }
    assert topology.global_cluster_id is None, "no global stack outputs were given"


def test_flags_override_the_outputs(stack_output_files):
    topology = load_topology(
        stack_output_files.values(),
        global_cluster_id="restored-cluster",
        health_checks=["us-west-1=manual-check"],
        health_urls=["eu-west-1=https://api.example/health"],
    )
    assert topology.global_cluster_id == "restored-cluster"
    assert topology.health_checks["us-west-1"] == "manual-check"
    assert topology.health_urls["eu-west-1"] == "https://api.example/health"
    # What no flag names still comes from the files.
    assert topology.health_checks["eu-west-1"] != "manual-check"
    assert topology.health_urls["us-west-1"].endswith(f"/api{HEALTH_ROUTE}")


def test_a_regional_stack_without_api_outputs_gives_no_health_entries(all_synths, tmp_path):
    # A regional stack deployed before the logic tier: the region is known, nothing to probe.
    outputs = dict(all_synths["prod-us"].outputs)
    del outputs[REGIONAL_API_HEALTH_CHECK_ID], outputs[REGIONAL_API_URL]
    path = tmp_path / "prod-us.json"
    path.write_text(json.dumps(outputs))
    topology = load_topology([path])
    assert (topology.health_checks, topology.health_urls) == ({}, {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{}", f"has neither '{DB_GLOBAL_CLUSTER_ID}' (global stack) nor '{REGIONAL_REGION}'"),
        ("[]", "is not `pulumi stack output --json` (an object)"),
        ("not json", "cannot read stack outputs"),
    ],
)
def test_a_file_that_is_no_stacks_outputs_is_refused(tmp_path: Path, content, message):
    path = tmp_path / "outputs.json"
    path.write_text(content)
    with pytest.raises(ValueError) as error:
        load_topology([path])
    assert message in str(error.value) and str(path) in str(error.value)
