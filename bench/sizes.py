"""Artifact sizes: each function zip and each layer zip, zipped and unzipped, against
Lambda's limits (50 MB zipped for a direct upload; 250 MB unzipped, function plus layers)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

ZIPPED_LIMIT = 50 * 1000**2
UNZIPPED_LIMIT = 250 * 1000**2


@dataclass(frozen=True)
class ArtifactSize:
    name: str
    kind: str  # "function" | "layer"
    zipped: int
    unzipped: int
    files: int


def measure_tree(root: Path, prefix: Path) -> tuple[int, int, int]:
    """(zipped, unzipped, files) of ``root`` archived the way Pulumi's FileArchive does
    (deflate, paths relative to ``prefix``)."""
    buffer = io.BytesIO()
    unzipped = files = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, str(path.relative_to(prefix)))
                unzipped += path.stat().st_size
                files += 1
    return buffer.tell(), unzipped, files


def artifact_sizes(build: Path) -> list[ArtifactSize]:
    found: list[ArtifactSize] = []
    functions = build / "functions"
    for function in (
        sorted(p for p in functions.iterdir() if p.is_dir()) if functions.is_dir() else []
    ):
        found.append(ArtifactSize(function.name, "function", *measure_tree(function, function)))
    layers = build / "layers"
    for layer in sorted(p for p in layers.iterdir() if p.is_dir()) if layers.is_dir() else []:
        # The layer zip holds python/...: the prefix is the architecture directory.
        found.append(ArtifactSize(layer.name, "layer", *measure_tree(layer, layer)))
    return found


def worst_unzipped_total(sizes: list[ArtifactSize]) -> int:
    """Largest function plus the largest layer: the figure the 250 MB limit applies to."""
    functions = [s.unzipped for s in sizes if s.kind == "function"] or [0]
    layers = [s.unzipped for s in sizes if s.kind == "layer"] or [0]
    return max(functions) + max(layers)
