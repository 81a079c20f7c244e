"""R-SEAM-1: what both halves share is written once, in ``contract/``.

Scans the source (not docstrings or comments) of both halves for string literals that spell a
shared fact by hand: the physical-name stem, an environment variable a handler reads, the
metrics namespace. Each must come from ``contract`` instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import environment, names, telemetry

ROOT = Path(__file__).resolve().parents[2]
# Both halves of the seam; contract/ itself is where the facts live. The policy pack is left
# out: the Pulumi CLI runs it as a standalone program that cannot import the repository.
SCANNED = ("components", "stacks", "handlers", "backend", "dr", "settings.py", "__main__.py")
VARIABLES = {
    value.name
    for value in vars(environment).values()
    if isinstance(value, environment.Variable) and not value.runtime
}


def python_files() -> Iterator[Path]:
    for entry in SCANNED:
        path = ROOT / entry
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def literals(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def offences(text: str) -> list[str]:
    found = []
    # A stem of a physical name or path ("mobile-backend-…", "mobile-backend/…"); type tokens
    # ("mobile-backend:data:Database"), config keys and prose name no resource.
    if f"{names.PROJECT}-" in text or f"{names.PROJECT}/" in text:
        found.append(f"the name stem {names.PROJECT!r} (use contract.names)")
    if text in VARIABLES:
        found.append(f"the variable {text} (use contract.environment)")
    if text == telemetry.METRICS_NAMESPACE:
        found.append("the metrics namespace (use contract.telemetry)")
    return found


def test_the_scanner_catches_each_kind_of_hand_written_fact():
    assert offences("mobile-backend-prod-events")
    assert offences("ASSETS_BUCKET")
    assert offences("MobileBackend")
    assert offences("uploads") == [] and offences("mobile-backend:data:Database") == []


@pytest.mark.parametrize("path", list(python_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_shared_fact_is_spelled_outside_the_contract(path):
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for line, text in literals(path)
        for what in offences(text)
    ]
    assert found == []
