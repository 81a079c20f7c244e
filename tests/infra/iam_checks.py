"""The identity policies of a synthesized stack, for the least-privilege checks (R-SEC-1).

The checker itself is the policy pack's (``policy.controls.least_privilege_problems``): the
tests and ``pulumi preview --policy-pack`` apply the same rules, so they cannot disagree.
"""

from __future__ import annotations

import json
from typing import Any

from policy.controls import INLINE_POLICIES, is_write, least_privilege_problems
from tests.infra.harness import Synthesis

__all__ = ["identity_policies", "is_write", "violations"]

violations = least_privilege_problems


def identity_policies(synth: Synthesis) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for typ in INLINE_POLICIES:
        for resource in synth.of_type(typ):
            policy = resource.inputs["policy"]
            found.append((str(resource), json.loads(policy) if isinstance(policy, str) else policy))
    return found
