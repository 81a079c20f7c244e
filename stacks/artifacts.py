"""Lambda build output consumed by the stacks (produced by ``make build``).

The program never builds code itself: it points at staged directories so ``pulumi preview``
is fast and deterministic, and fails with the command to run when the build is missing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pulumi

from contract import functions as contract_functions

ROOT = Path(__file__).resolve().parents[1]
# Every function the stacks deploy; the build stages one directory per name.
FUNCTIONS = contract_functions.FUNCTIONS
ARCHITECTURES = ("arm64", "x86_64")


def build_dir() -> Path:
    return Path(os.environ.get("MOBILE_BACKEND_BUILD_DIR", ROOT / "build"))


def _require(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise pulumi.RunError(
            f"{what} is missing: {path} does not exist. Fix: run `make build` first."
        )
    return path


def function_code(name: str) -> pulumi.Archive:
    if name not in FUNCTIONS:
        raise ValueError(f"unknown function {name!r}; add it to contract/functions.py")
    return pulumi.FileArchive(str(_require(build_dir() / "functions" / name, f"{name} code")))


def layer_code(architecture: str) -> pulumi.Archive:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}")
    path = _require(build_dir() / "layers" / architecture, f"{architecture} dependency layer")
    return pulumi.FileArchive(str(path))


def migrations_checksum() -> str:
    """sha256 over the SQL the migrations function ships (names and contents, in order), so
    the deploy-time invocation re-runs exactly when the shipped schema changes."""
    directory = _require(
        build_dir() / "functions" / "migrations" / "backend" / "migrations", "migrations SQL"
    )
    files = sorted(directory.glob("*.sql"))
    if not files:
        raise pulumi.RunError(f"no *.sql in {directory}. Fix: run `make build`.")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
