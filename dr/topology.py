"""What the runbook needs to know about the deployed stacks, read from their outputs.

Feed it ``pulumi stack output --json -s <stack>`` of the global and regional stacks
(``--outputs``). The names below are the proposed additions to ``stacks/contract.py``; until
the tiers export them, pass the same facts as flags (``--global-cluster``, ``--health-check``,
``--health-url``). Cluster ARNs are not needed: they are discovered from the global cluster's
members.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Global stack output.
GLOBAL_CLUSTER_ID = "auroraGlobalClusterId"
# Regional stack outputs (``region`` already exists in the contract).
REGION = "region"
CLUSTER_ARN = "auroraClusterArn"
HEALTH_CHECK_ID = "apiHealthCheckId"
HEALTH_URL = "apiHealthUrl"


@dataclass
class Topology:
    global_cluster_id: str | None = None
    health_checks: dict[str, str] = field(default_factory=dict)
    health_urls: dict[str, str] = field(default_factory=dict)
    cluster_arns: dict[str, str] = field(default_factory=dict)

    def merge_outputs(self, outputs: dict) -> None:
        if GLOBAL_CLUSTER_ID in outputs:
            self.global_cluster_id = str(outputs[GLOBAL_CLUSTER_ID])
        region = outputs.get(REGION)
        if not region:
            return
        for key, target in (
            (HEALTH_CHECK_ID, self.health_checks),
            (HEALTH_URL, self.health_urls),
            (CLUSTER_ARN, self.cluster_arns),
        ):
            if outputs.get(key):
                target[str(region)] = str(outputs[key])


def parse_pairs(values: Iterable[str], flag: str) -> dict[str, str]:
    """``["eu-west-1=abc"]`` → ``{"eu-west-1": "abc"}``."""
    pairs = {}
    for value in values:
        region, sep, item = value.partition("=")
        if not sep or not region or not item:
            raise ValueError(f"{flag} expects REGION=VALUE, got {value!r}")
        pairs[region] = item
    return pairs


def load_topology(
    output_files: Iterable[Path],
    *,
    global_cluster_id: str | None = None,
    health_checks: Iterable[str] = (),
    health_urls: Iterable[str] = (),
) -> Topology:
    topology = Topology()
    for path in output_files:
        try:
            outputs = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read stack outputs {path}: {exc}") from exc
        if not isinstance(outputs, dict):
            raise ValueError(f"{path} is not `pulumi stack output --json` (an object)")
        topology.merge_outputs(outputs)
    if global_cluster_id:
        topology.global_cluster_id = global_cluster_id
    topology.health_checks.update(parse_pairs(health_checks, "--health-check"))
    topology.health_urls.update(parse_pairs(health_urls, "--health-url"))
    return topology
