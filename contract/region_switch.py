"""The ARC Region switch plan as plain data: its workflows, their steps in order, and the
timeouts that bound them (R-DR-5, docs/dr.md).

Three readers, one definition: ``components/region_switch.py`` declares the plan from it,
``dr/budget.py`` adds its timeouts into the recovery objectives (and the plan's
``recoveryTimeObjectiveMinutes`` is that sum), and ``python -m dr`` names the steps it
watches. Adding a serving region adds its two workflows to every plan it belongs to; nothing
here lists regions.

Per region R of a plan {R, P} (active/active: both serve):

* **deactivate R** (take R out; the writer leaves it): [approval] → Route 53 health check
  takes R out of latency routing → Aurora global database makes P the writer (switchover when
  graceful, failover when ungraceful) → in P: the writer accepts a write and the new writer is
  recorded → in P: the app's own path (deployed role hint and endpoints) writes.
* **activate R** (bring R back; the writer returns): [approval] → Aurora makes R the writer →
  in R: writer check and record → in R: app path → Route 53 puts R back into routing, last,
  so that no traffic reaches R before it proved it can write.

Custom steps always run in the activating region: ARC advises against any dependency on the
region being deactivated. In ungraceful mode ARC skips custom Lambda steps (and approvals), so
after an ungraceful execution ``python -m dr`` verifies the writer itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from contract.names import DR_PROBE_SMOKE_ALIAS, DR_PROBE_WRITER_ALIAS

Action = Literal["activate", "deactivate"]
ACTIONS: tuple[Action, ...] = ("deactivate", "activate")
RECOVERY_APPROACH = "activeActive"

# Execution block types (the ARC API's names).
APPROVAL = "ManualApproval"
ROUTE53 = "Route53HealthCheck"
AURORA = "AuroraGlobalDatabase"
LAMBDA = "CustomActionLambda"

# Aurora block behaviour: graceful = switchover (no data loss), ungraceful = failover.
AURORA_GRACEFUL = "switchoverOnly"
AURORA_UNGRACEFUL = "failover"
# Custom steps run where the plan activates, never in the region being left.
RUN_IN = "activatingRegion"

# Timeouts. The Aurora step is the writer gap we plan for: AWS bounds no promotion, and the
# events queue holds a failing write for twice this before its DLQ (dr.budget checks it).
APPROVAL_TIMEOUT_MINUTES = 60
ROUTE53_TIMEOUT_MINUTES = 5
AURORA_TIMEOUT_MINUTES = 15
# The writer check retries while RDS Proxy registers the promoted writer as its target.
PROBE_TIMEOUT_MINUTES = 5
PROBE_RETRY_INTERVAL_MINUTES = 1.0

# Step names, unique within a workflow (approvals and the watcher name steps by them).
STEP_APPROVE = "approve"
STEP_ROUTE53_OUT = "route53-out"
STEP_ROUTE53_IN = "route53-in"
STEP_AURORA = "aurora-writer"
STEP_VERIFY_WRITER = "verify-writer"
STEP_SMOKE = "smoke"


@dataclass(frozen=True)
class Step:
    name: str
    block: str
    timeout_minutes: int
    description: str
    # For custom Lambda steps: the dr_probe alias that answers it.
    probe_alias: str | None = None

    @property
    def skipped_when_ungraceful(self) -> bool:
        """ARC skips custom Lambda steps in ungraceful mode; approvals have no ungraceful
        mode either."""
        return self.block in (LAMBDA, APPROVAL)


@dataclass(frozen=True)
class Workflow:
    action: Action
    region: str
    steps: tuple[Step, ...]

    @property
    def description(self) -> str:
        if self.action == "deactivate":
            return f"Take {self.region} out: traffic, then the Aurora writer, leave it"
        return f"Bring {self.region} back: the Aurora writer, then traffic, return to it"

    def automatic_minutes(self, *, ungraceful: bool = False) -> int:
        """The sum of the timeouts of the steps ARC runs without a human."""
        return sum(
            s.timeout_minutes
            for s in self.steps
            if s.block != APPROVAL and not (ungraceful and s.skipped_when_ungraceful)
        )


def _approval() -> Step:
    return Step(
        STEP_APPROVE,
        APPROVAL,
        APPROVAL_TIMEOUT_MINUTES,
        "An operator with the approval role approves the switch",
    )


def _probes() -> tuple[Step, Step]:
    return (
        Step(
            STEP_VERIFY_WRITER,
            LAMBDA,
            PROBE_TIMEOUT_MINUTES,
            "The activating region's cluster is the writer and commits a write; the new "
            "writer is recorded",
            DR_PROBE_WRITER_ALIAS,
        ),
        Step(
            STEP_SMOKE,
            LAMBDA,
            PROBE_TIMEOUT_MINUTES,
            "The app's own path (deployed role hint and endpoints) commits a write",
            DR_PROBE_SMOKE_ALIAS,
        ),
    )


def _aurora(action: Action, region: str) -> Step:
    where = "the remaining region" if action == "deactivate" else region
    return Step(
        STEP_AURORA,
        AURORA,
        AURORA_TIMEOUT_MINUTES,
        f"Aurora makes {where} the writer: switchover (graceful) or failover (ungraceful)",
    )


def workflow(action: Action, region: str, *, approval: bool) -> Workflow:
    first = (_approval(),) if approval else ()
    if action == "deactivate":
        route = Step(
            STEP_ROUTE53_OUT,
            ROUTE53,
            ROUTE53_TIMEOUT_MINUTES,
            f"Route 53 stops answering api.<domain> with {region}",
        )
        steps = (*first, route, _aurora(action, region), *_probes())
    else:
        route = Step(
            STEP_ROUTE53_IN,
            ROUTE53,
            ROUTE53_TIMEOUT_MINUTES,
            f"Route 53 answers api.<domain> with {region} again",
        )
        steps = (*first, _aurora(action, region), *_probes(), route)
    return Workflow(action, region, steps)


def workflows(regions: Iterable[str], *, approval: bool) -> tuple[Workflow, ...]:
    """Both workflows of every region of a plan, deactivate first."""
    return tuple(
        workflow(action, region, approval=approval) for region in regions for action in ACTIONS
    )


def recovery_time_objective_minutes(plan_workflows: Sequence[Workflow]) -> int:
    """The plan's RTO: the longest workflow's automatic steps, each at its timeout. A human
    approval is not counted (it starts the clock only when given)."""
    if not plan_workflows:
        raise ValueError("a plan without workflows has no recovery time")
    return math.ceil(max(w.automatic_minutes() for w in plan_workflows))
