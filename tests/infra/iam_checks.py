"""Reusable least-privilege checks over IAM policy documents (R-SEC-1).

Rules: no statement allows a ``*`` (or ``service:*``) action or uses ``NotAction``, and no
write action is allowed on a ``*`` resource, except the actions AWS documents as having no
resource-level permissions, listed below with the reason. An action counts as read-only when
its name starts with one of AWS's read/list verbs; everything else is treated as a write.
"""

from __future__ import annotations

import json
from typing import Any

from tests.infra.harness import Synthesis

READ_VERBS = ("Get", "List", "Describe", "BatchGet", "Query", "Scan", "Head")

# From the AWS Service Authorization Reference ("Resource types" column empty).
NO_RESOURCE_LEVEL_PERMISSIONS = {
    "xray:PutTraceSegments": "X-Ray: no resource types for trace submission",
    "xray:PutTelemetryRecords": "X-Ray: no resource types for telemetry submission",
    "cloudwatch:PutMetricData": "CloudWatch: PutMetricData has no resource types",
}

POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def is_write(action: str) -> bool:
    _, _, verb = action.partition(":")
    return not verb.startswith(READ_VERBS)


def violations(policy: dict[str, Any]) -> list[str]:
    problems = []
    statements = policy.get("Statement", [])
    for index, statement in enumerate(_as_list(statements)):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", index)
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"statement {sid} uses NotAction/NotResource")
        actions = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        for action in actions:
            if action == "*" or action.endswith(":*"):
                problems.append(f"statement {sid} allows every action ({action})")
            elif (
                "*" in resources
                and is_write(action)
                and action not in NO_RESOURCE_LEVEL_PERMISSIONS
            ):
                problems.append(f"statement {sid} allows write {action} on '*'")
    return problems


def identity_policies(synth: Synthesis) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for typ in POLICY_TYPES:
        for resource in synth.of_type(typ):
            policy = resource.inputs["policy"]
            found.append((str(resource), json.loads(policy) if isinstance(policy, str) else policy))
    return found
