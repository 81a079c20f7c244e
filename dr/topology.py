"""What the runbook needs to know about the deployed stacks, read from their outputs.

Feed it ``pulumi stack output --json -s <stack>`` of the global stack and of each regional stack
(``--outputs``, repeated). Every name comes from ``contract.outputs``, the module the stacks
export through, and ``GLOBAL_READS`` / ``REGIONAL_READS`` declare all of them: the seam test
checks each against what the synthesized stacks export. A region's health URL is not an output:
it is derived from ``apiUrl`` (the stage's invoke URL) and ``contract.names.HEALTH_ROUTE``,
which gives the very URL that region's Route 53 health check probes and its WAF lets through.
Cluster ARNs are not read either: the runbook finds them among the global cluster's members.
The ARC Region switch plans it executes are the global stack's ``regionSwitchPlans``.

``--global-cluster``, ``--health-check`` and ``--health-url`` override what the files say (for
a stack whose outputs cannot be read, or to probe the API another way).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contract.names import HEALTH_ROUTE
from contract.outputs import (
    DB_GLOBAL_CLUSTER_ID,
    REGION_SWITCH_PLANS,
    REGIONAL_API_HEALTH_CHECK_ID,
    REGIONAL_API_URL,
    REGIONAL_REGION,
)

GLOBAL_READS: frozenset[str] = frozenset({DB_GLOBAL_CLUSTER_ID, REGION_SWITCH_PLANS})
REGIONAL_READS: frozenset[str] = frozenset(
    {REGIONAL_REGION, REGIONAL_API_HEALTH_CHECK_ID, REGIONAL_API_URL}
)


def health_url(api_url: str) -> str:
    """``https://<id>.execute-api.<region>.amazonaws.com/api`` → ``…/api/health``."""
    return api_url.rstrip("/") + HEALTH_ROUTE


@dataclass(frozen=True)
class PlanRef:
    """One ARC Region switch plan: AWS gives every plan exactly two regions."""

    name: str
    arn: str
    regions: tuple[str, str]

    @classmethod
    def parse(cls, raw: object, source: str) -> PlanRef:
        if not (
            isinstance(raw, Mapping)
            and isinstance(raw.get("arn"), str)
            and isinstance(raw.get("name"), str)
            and isinstance(raw.get("regions"), list)
            and len(raw["regions"]) == 2
        ):
            raise ValueError(
                f"{source}: each {REGION_SWITCH_PLANS} entry needs name, arn and two regions, "
                f"got {raw!r}"
            )
        return cls(raw["name"], raw["arn"], tuple(raw["regions"]))  # type: ignore[arg-type]

    def peer_of(self, region: str) -> str:
        return self.regions[1] if self.regions[0] == region else self.regions[0]


@dataclass
class Topology:
    global_cluster_id: str | None = None
    health_checks: dict[str, str] = field(default_factory=dict)
    health_urls: dict[str, str] = field(default_factory=dict)
    plans: list[PlanRef] = field(default_factory=list)

    def plan_for(self, *regions: str) -> PlanRef | None:
        """The plan whose two regions include all of ``regions``."""
        return next((p for p in self.plans if set(regions) <= set(p.regions)), None)

    def merge_outputs(self, outputs: Mapping[str, object], source: str = "outputs") -> None:
        """Take what the runbook reads from one stack's outputs (global or regional)."""
        if DB_GLOBAL_CLUSTER_ID in outputs:
            self.global_cluster_id = str(outputs[DB_GLOBAL_CLUSTER_ID])
            plans = outputs.get(REGION_SWITCH_PLANS)
            if not isinstance(plans, list) or not plans:
                raise ValueError(
                    f"{source} has no {REGION_SWITCH_PLANS!r}: deploy the global stack with "
                    "its Region switch plans first (docs/dr.md)"
                )
            self.plans = [PlanRef.parse(plan, source) for plan in plans]
            return
        region = outputs.get(REGIONAL_REGION)
        if not region:
            raise ValueError(
                f"{source} has neither {DB_GLOBAL_CLUSTER_ID!r} (global stack) nor "
                f"{REGIONAL_REGION!r} (regional stack): is it `pulumi stack output --json` "
                "of a mobile-backend stack?"
            )
        check = outputs.get(REGIONAL_API_HEALTH_CHECK_ID)
        if check:
            self.health_checks[str(region)] = str(check)
        api_url = outputs.get(REGIONAL_API_URL)
        if api_url:
            self.health_urls[str(region)] = health_url(str(api_url))


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
    """The stack outputs in ``output_files``, then the flags on top of them."""
    topology = Topology()
    for path in output_files:
        try:
            outputs = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read stack outputs {path}: {exc}") from exc
        if not isinstance(outputs, dict):
            raise ValueError(f"{path} is not `pulumi stack output --json` (an object)")
        topology.merge_outputs(outputs, source=str(path))
    if global_cluster_id:
        topology.global_cluster_id = global_cluster_id
    topology.health_checks.update(parse_pairs(health_checks, "--health-check"))
    topology.health_urls.update(parse_pairs(health_urls, "--health-url"))
    return topology
