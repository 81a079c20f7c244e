"""Session fixtures: the real stacks synthesized once each, regional stacks fed with the outputs
the global synthesis actually exported (a renamed output breaks these, not prod). ``all_synths``
is the prod environment; ``dev_synths`` the dev environment (the stacks ``make dev`` runs)."""

from __future__ import annotations

import os

import pytest

from tests.infra.harness import Synthesis, load_stack_config, stage_build_tree, synthesize

GLOBAL = "prod-global"
REGIONAL = ("prod-eu", "prod-us")
DEV_GLOBAL = "dev-global"
DEV_REGIONAL = ("dev-eu", "dev-us")


def global_stack_name(stack: str) -> str:
    return load_stack_config(stack)["mobile-backend:globalStack"]


@pytest.fixture(scope="session", autouse=True)
def lambda_build(tmp_path_factory):
    """A staged build tree with the layout ``make build`` produces (the stacks only point at
    it; mocks never read archives). Tests of the build itself live with the build."""
    root = stage_build_tree(tmp_path_factory.mktemp("build"))
    previous = os.environ.get("MOBILE_BACKEND_BUILD_DIR")
    os.environ["MOBILE_BACKEND_BUILD_DIR"] = str(root)
    yield root
    if previous is None:
        os.environ.pop("MOBILE_BACKEND_BUILD_DIR", None)
    else:
        os.environ["MOBILE_BACKEND_BUILD_DIR"] = previous


@pytest.fixture(scope="session")
def global_synth() -> Synthesis:
    return synthesize(GLOBAL)


@pytest.fixture(scope="session")
def regional_synths(global_synth: Synthesis) -> dict[str, Synthesis]:
    return {
        stack: synthesize(stack, stack_outputs={global_stack_name(stack): global_synth.outputs})
        for stack in REGIONAL
    }


@pytest.fixture(scope="session")
def eu_synth(regional_synths) -> Synthesis:
    return regional_synths["prod-eu"]


@pytest.fixture(scope="session")
def us_synth(regional_synths) -> Synthesis:
    return regional_synths["prod-us"]


@pytest.fixture(scope="session")
def all_synths(global_synth, regional_synths) -> dict[str, Synthesis]:
    return {GLOBAL: global_synth, **regional_synths}


@pytest.fixture(scope="session")
def dev_synths() -> dict[str, Synthesis]:
    """dev-global, dev-eu, dev-us: the same program at dev size (Pulumi.dev-*.yaml)."""
    global_synth = synthesize(DEV_GLOBAL)
    return {
        DEV_GLOBAL: global_synth,
        **{
            stack: synthesize(stack, stack_outputs={global_stack_name(stack): global_synth.outputs})
            for stack in DEV_REGIONAL
        },
    }
