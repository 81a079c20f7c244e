"""Tests here also synthesize stacks themselves (``synthesize(stack, overrides=...)``), outside
the session fixtures of ``tests/conftest.py``: each one gets the staged build tree first."""

from __future__ import annotations

from pathlib import Path

import pytest

# Where the tests here have always imported it from; it lives in the harness.
from tests.infra.harness import global_stack_name

__all__ = ["global_stack_name"]


@pytest.fixture(scope="session", autouse=True)
def staged_build(lambda_build: Path) -> Path:
    return lambda_build
