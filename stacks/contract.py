"""The Pulumi-bound half of the contract between the global and the regional stacks
(R-STACK-2); the names themselves live once in ``contract.outputs`` (plain Python, shared with
``dr/`` and the tests). The global stack exports through ``global_exports`` (which refuses
names outside the contract and demands all of them); regional stacks read through
``GlobalStack`` (which refuses names outside the contract). A name changed on one side only
fails the tests, not production.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from contract.names import (  # noqa: F401 (re-exported for the stacks)
    API_PATH_PREFIX,
    HEALTH_ROUTE,
    ORIGIN_VERIFY_HEADER,
    ORIGIN_VERIFY_RULE_NAME,
    api_web_acl_name,
    origin_verify_secret_name,
)
from contract.outputs import *  # noqa: F403 (the output names, defined once in contract/)
from contract.outputs import GLOBAL_OUTPUTS


class ContractError(KeyError):
    pass


def global_exports(outputs: Mapping[str, pulumi.Input]) -> dict[str, pulumi.Input]:
    """Validate the global stack's outputs against the contract (both directions)."""
    unknown = set(outputs) - GLOBAL_OUTPUTS
    missing = GLOBAL_OUTPUTS - set(outputs)
    if unknown or missing:
        raise ContractError(
            f"global stack outputs differ from stacks/contract.py: "
            f"not in contract {sorted(unknown)}, missing {sorted(missing)}"
        )
    return dict(outputs)


class GlobalStack:
    """The global stack as a regional stack sees it: contract names only."""

    def __init__(self, name: str, fully_qualified_stack: str, opts=None):
        self._ref = pulumi.StackReference(name, stack_name=fully_qualified_stack, opts=opts)
        self.read: set[str] = set()

    def require(self, output: str) -> pulumi.Output:
        if output not in GLOBAL_OUTPUTS:
            raise ContractError(f"{output!r} is not a global output named in stacks/contract.py")
        self.read.add(output)
        return self._ref.require_output(output)

    def require_for_region(self, output: str, region: str) -> pulumi.Output:
        """``region``'s entry of a region → value output, or the deploy-order fix."""

        def pick(by_region: Mapping) -> object:
            if region not in by_region:
                raise pulumi.RunError(
                    f"the global stack's {output} has no entry for {region} (it knows "
                    f"{sorted(by_region)}). Fix: deploy the global stack first "
                    "(global → primary → secondaries)."
                )
            return by_region[region]

        return self.require(output).apply(pick)
