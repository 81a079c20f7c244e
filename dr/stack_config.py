"""The stack-configuration change that records a new Aurora writer region.

After a switchover the stacks still say the old region is primary, and the next ``pulumi up``
would try to "fix" reality back (detach the new writer, or re-create a cluster as a secondary
of the old one). The fix is one value: ``primaryRegion`` in ``Pulumi.yaml`` (project-level
config, and any ``mobile-backend:primaryRegion`` override in a ``Pulumi.<stack>.yaml``).

The edit is line-level so comments, ordering and quoting survive byte for byte; the result is
then parsed and compared with the original to prove that only that value changed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import names

PROJECT = names.PROJECT
KEY = "primaryRegion"

_CONFIG_BLOCK = re.compile(r"^config:\s*(#.*)?$")
_SCALAR = re.compile(
    r"^(?P<pre>\s*[^\s:#][^#]*?:[ \t]+)"
    r"(?P<quote>[\"']?)(?P<value>[A-Za-z0-9-]+)(?P=quote)"
    r"(?P<post>[ \t]*(#.*)?)$"
)


class ConfigEditError(ValueError):
    pass


@dataclass(frozen=True)
class StackFile:
    name: str
    path: Path
    role: str | None
    region: str | None
    environment: str


@dataclass(frozen=True)
class Project:
    directory: Path
    primary_region: str
    regions: tuple[str, ...]
    stacks: tuple[StackFile, ...]

    def stacks_for(self, environment: str) -> list[StackFile]:
        return [s for s in self.stacks if s.environment == environment]


def _yaml() -> Any:
    import yaml  # deferred: only the config commands need it

    return yaml


def _unwrap(spec: Any) -> Any:
    if isinstance(spec, dict) and ("value" in spec or "default" in spec):
        return spec.get("value", spec.get("default"))
    return spec


def read_project(directory: Path) -> Project:
    yaml = _yaml()
    project_file = directory / "Pulumi.yaml"
    if not project_file.is_file():
        raise ConfigEditError(f"{project_file} not found: pass --project-dir <repo root>")
    config = (yaml.safe_load(project_file.read_text()) or {}).get("config") or {}
    primary = _unwrap(config.get(KEY, config.get(f"{PROJECT}:{KEY}")))
    regions = _unwrap(config.get("regions", config.get(f"{PROJECT}:regions"))) or {}
    stacks = []
    for path in sorted(directory.glob("Pulumi.*.yaml")):
        stack_config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        stacks.append(
            StackFile(
                name=path.name[len("Pulumi.") : -len(".yaml")],
                path=path,
                role=stack_config.get(f"{PROJECT}:role"),
                region=stack_config.get("aws:region"),
                environment=str(stack_config.get(f"{PROJECT}:environment", "prod")),
            )
        )
    return Project(directory, str(primary), tuple(regions), tuple(stacks))


def _config_block(lines: list[str]) -> tuple[int, int]:
    """Index range of the lines inside the top-level ``config:`` mapping."""
    start = next((i for i, line in enumerate(lines) if _CONFIG_BLOCK.match(line)), None)
    if start is None:
        return 0, 0
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.startswith((" ", "\t", "#")):
            break
        end += 1
    return start + 1, end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _replace_scalar(line: str, new: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    match = _SCALAR.match(body)
    if match is None:
        raise ConfigEditError(f"cannot edit {body.strip()!r} safely: change it by hand")
    quote = match["quote"]
    return f"{match['pre']}{quote}{new}{quote}{match['post']}{ending}", match["value"]


def set_primary_region(text: str, new_primary: str) -> tuple[str, str | None]:
    """Return ``(new_text, old_value)``; ``old_value`` is None when the file sets no
    ``primaryRegion`` (then ``new_text`` is ``text``)."""
    lines = text.splitlines(keepends=True)
    start, end = _config_block(lines)
    entries = [
        i for i in range(start, end) if lines[i].strip() and not lines[i].lstrip().startswith("#")
    ]
    if not entries:
        return text, None
    level = _indent(lines[entries[0]])
    key = re.compile(rf"^ {{{level}}}[\"']?(?:{PROJECT}:)?{KEY}[\"']?:(?P<rest>.*)$")
    found = [
        i for i in entries if _indent(lines[i]) == level and key.match(lines[i].rstrip("\r\n"))
    ]
    if not found:
        return text, None
    if len(found) > 1:
        raise ConfigEditError(f"{KEY} is set {len(found)} times in one file: fix it by hand")
    index = found[0]
    rest = key.match(lines[index].rstrip("\r\n"))["rest"]  # type: ignore[index]
    if rest.split("#", 1)[0].strip():
        target = index
    else:
        # `primaryRegion:` followed by a nested `value:` (or `default:`) line.
        nested = [i for i in entries if i > index]
        target = None
        for i in nested:
            if _indent(lines[i]) <= level:
                break
            if re.match(r"^\s*(value|default):", lines[i]):
                target = i
                break
        if target is None:
            raise ConfigEditError(f"{KEY} has no scalar `value:` to edit: fix it by hand")
    new_line, old = _replace_scalar(lines[target], new_primary)
    lines[target] = new_line
    return "".join(lines), old


@dataclass(frozen=True)
class FileChange:
    path: Path
    old_text: str
    new_text: str
    old_value: str
    new_value: str

    def diff(self, root: Path | None = None) -> str:
        name = self.path.relative_to(root).as_posix() if root else self.path.name
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )

    def apply(self) -> None:
        current = self.path.read_text()
        if current != self.old_text:
            raise ConfigEditError(f"{self.path} changed since the diff was computed; re-run")
        self.path.write_text(self.new_text)


def _without_key(document: Any) -> Any:
    config = dict((document or {}).get("config") or {})
    for name in (KEY, f"{PROJECT}:{KEY}"):
        config.pop(name, None)
    return {**(document or {}), "config": config}


def _verify(old_text: str, new_text: str, new_primary: str) -> None:
    yaml = _yaml()
    before, after = yaml.safe_load(old_text), yaml.safe_load(new_text)
    config = (after or {}).get("config") or {}
    value = _unwrap(config.get(KEY, config.get(f"{PROJECT}:{KEY}")))
    if value != new_primary or _without_key(before) != _without_key(after):
        raise ConfigEditError("the edit changed more than primaryRegion: change it by hand")


def plan_config_change(project: Project, new_primary: str) -> list[FileChange]:
    """Every file edit needed so that all stacks agree on ``new_primary``; empty if they do."""
    if new_primary not in project.regions:
        raise ConfigEditError(
            f"{new_primary!r} is not one of the serving regions ({', '.join(project.regions)})"
        )
    changes = []
    paths = [project.directory / "Pulumi.yaml", *(s.path for s in project.stacks)]
    for path in paths:
        text = path.read_text()
        new_text, old = set_primary_region(text, new_primary)
        if old is None or old == new_primary:
            continue
        _verify(text, new_text, new_primary)
        changes.append(FileChange(path, text, new_text, old, new_primary))
    return changes


def deploy_order(project: Project, new_primary: str, environment: str) -> list[str]:
    """global → new primary → the other regions (R-STACK-3), as commands to run."""
    stacks = project.stacks_for(environment)
    global_stacks = [s.name for s in stacks if s.role == "global"]
    regional = [s for s in stacks if s.role == "regional"]
    primary = [s.name for s in regional if s.region == new_primary]
    others = [s.name for s in regional if s.region != new_primary]
    return [f"pulumi up -s {name}" for name in (*global_stacks, *primary, *others)]


def instructions(project: Project, changes: list[FileChange], new_primary: str) -> str:
    files = ", ".join(c.path.name for c in changes)
    return (
        f"Set primaryRegion to {new_primary} in {files}: in Pulumi.yaml that is the line "
        f"`value:` under `config: primaryRegion:` (a `pulumi config set primaryRegion ...` would "
        "write a per-stack override into one stack file only; the regional stacks would then "
        "disagree with the global stack and refuse to deploy). Commit it, then run "
        "`pulumi preview --diff` per stack in the order below and stop if any "
        "aws:rds/cluster:Cluster or aws:rds/globalCluster:GlobalCluster would be replaced or "
        "deleted."
    )
