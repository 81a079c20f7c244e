"""The seam between what the stacks export and who reads it, as plain data and a pure checker
(tested on mutated copies in ``test_outputs_seam.py``), plus a reader of the GitHub workflows:
which stack outputs a workflow uses."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

STEP_OUTPUT = re.compile(r"steps\.([\w-]+)\.outputs\.(\w+)")
NEEDS_OUTPUT = re.compile(r"needs\.([\w-]+)\.outputs\.([\w-]+)")
PULUMI_ACTION = "pulumi/actions@"


@dataclass(frozen=True)
class Seam:
    """``global_exports``: names the global stack exports. ``regional_exports``: stack → names.
    ``global_readers``: reader → global names it reads. ``regional_readers``: reader → regional
    stack → names it reads from that stack."""

    global_exports: Set[str]
    regional_exports: Mapping[str, Set[str]]
    global_readers: Mapping[str, Set[str]]
    regional_readers: Mapping[str, Mapping[str, Set[str]]]


def seam_problems(seam: Seam) -> list[str]:
    """Every global output without a reader, and every name read that its stack does not
    export (sorted; empty when the seam holds)."""
    problems = []
    read = set().union(*seam.global_readers.values()) if seam.global_readers else set()
    for name in sorted(seam.global_exports - read):
        problems.append(f"global output {name!r} is exported but no reader reads it")
    for reader, names in sorted(seam.global_readers.items()):
        for name in sorted(set(names) - set(seam.global_exports)):
            problems.append(f"{reader} reads {name!r}, which the global stack does not export")
    for reader, by_stack in sorted(seam.regional_readers.items()):
        for stack, names in sorted(by_stack.items()):
            exported = set(seam.regional_exports.get(stack, ()))
            for name in sorted(set(names) - exported):
                problems.append(f"{reader} reads {name!r}, which {stack} does not export")
    return problems


def _stack_of(step: Mapping[str, Any]) -> str:
    stack_name = str(step.get("with", {}).get("stack-name", ""))
    stack = stack_name.rsplit("/", 1)[-1]
    if not stack or "${{" in stack:
        raise ValueError(f"step {step.get('id')!r} deploys {stack_name!r}: no fixed stack")
    return stack


def workflow_reads(workflow: Mapping[str, Any]) -> dict[str, set[str]]:
    """stack → the names of its outputs a workflow uses: ``steps.<id>.outputs.<name>`` of a
    ``pulumi/actions`` step, read by a step of the same job or passed on as a job output that
    another job reads (``needs.<job>.outputs.<key>``). A job output nobody reads reads nothing."""
    jobs: Mapping[str, Any] = workflow.get("jobs") or {}
    consumed = {
        (job, key)
        for other in jobs.values()
        for job, key in NEEDS_OUTPUT.findall(json.dumps(other))
    }
    reads: dict[str, set[str]] = {}
    for job_name, job in jobs.items():
        steps = job.get("steps") or []
        pulumi_steps = {
            step["id"]: step
            for step in steps
            if str(step.get("uses", "")).startswith(PULUMI_ACTION) and "id" in step
        }
        if not pulumi_steps:
            continue
        texts = [json.dumps(step) for step in steps]
        texts += [
            str(value)
            for key, value in (job.get("outputs") or {}).items()
            if (job_name, key) in consumed
        ]
        for text in texts:
            for step_id, name in STEP_OUTPUT.findall(text):
                if step_id in pulumi_steps:
                    reads.setdefault(_stack_of(pulumi_steps[step_id]), set()).add(name)
    return reads
