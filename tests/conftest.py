"""Session fixtures for every test directory that needs the real stacks (tests/infra, tests/dr,
tests/policy): a staged build tree, and the three stacks synthesized once each, the regional
stacks fed the outputs the global synthesis actually exported (so a renamed output breaks these,
not prod). Defined once here so that running several directories synthesizes once.

The harness (and with it Pulumi) is imported inside the fixtures: the handler and local tests
never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.infra.harness import Synthesis

BUILD_DIR_VARIABLE = "MOBILE_BACKEND_BUILD_DIR"


@pytest.fixture(scope="session")
def lambda_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A staged build tree with the layout ``make build`` produces, for the whole session
    (tests of the build itself live with the build)."""
    from tests.infra.harness import stage_build

    root = stage_build(tmp_path_factory.mktemp("build"))
    previous = os.environ.get(BUILD_DIR_VARIABLE)
    os.environ[BUILD_DIR_VARIABLE] = str(root)
    yield root
    if previous is None:
        os.environ.pop(BUILD_DIR_VARIABLE, None)
    else:
        os.environ[BUILD_DIR_VARIABLE] = previous


@pytest.fixture(scope="session")
def global_synth(lambda_build: Path) -> Synthesis:
    from tests.infra.harness import GLOBAL_STACK, synthesize

    return synthesize(GLOBAL_STACK)


@pytest.fixture(scope="session")
def regional_synths(global_synth: Synthesis) -> dict[str, Synthesis]:
    from tests.infra.harness import REGIONAL_STACKS, global_stack_name, synthesize

    return {
        stack: synthesize(stack, stack_outputs={global_stack_name(stack): global_synth.outputs})
        for stack in REGIONAL_STACKS
    }


@pytest.fixture(scope="session")
def eu_synth(regional_synths: dict[str, Synthesis]) -> Synthesis:
    return regional_synths["prod-eu"]


@pytest.fixture(scope="session")
def us_synth(regional_synths: dict[str, Synthesis]) -> Synthesis:
    return regional_synths["prod-us"]


@pytest.fixture(scope="session")
def all_synths(
    global_synth: Synthesis, regional_synths: dict[str, Synthesis]
) -> dict[str, Synthesis]:
    return {global_synth.stack: global_synth, **regional_synths}


@pytest.fixture(scope="session")
def dev_synths(lambda_build: Path) -> dict[str, Synthesis]:
    """dev-global, dev-eu, dev-us: the same program at dev size (``Pulumi.dev-*.yaml``), the
    environment ``make dev`` runs."""
    from tests.infra.harness import global_stack_name, synthesize

    global_synth = synthesize("dev-global")
    return {
        global_synth.stack: global_synth,
        **{
            stack: synthesize(stack, stack_outputs={global_stack_name(stack): global_synth.outputs})
            for stack in ("dev-eu", "dev-us")
        },
    }
