"""Synthesized values → the local region's values, and the check that nothing is left over.

Under mocks a resource answers with made-up identifiers (``<logical name>-id``,
``arn:aws:<service>:<region>:<account>:<logical name>``, ``<name>.proxy-abc.<region>.rds...``),
not what AWS would assign. ``local.region`` creates each resource of the graph in the local
cloud and records here what the mocks said (``synthesized``) and what the local cloud answered
(``local``). Functions then get their environment and policy statements through ``resolve``,
which substitutes every recorded value and raises ``WiringGap`` for a value that names a graph
resource the local region did not create: a function wired to a resource of another region, or
to one the stack forgot, fails here instead of on AWS.

Matching is by whole value, or by a recorded value followed by ``/`` or ``:`` (``<bucket
arn>/*``, ``<log group arn>:*``, ``<dbuser prefix>/app_user``), never by substring, and each
value is substituted once (no chains), so a local value can never be re-translated and two
recorded values cannot collide silently: recording one value twice with different local values
is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.synthesis import Resource, Synthesis

# Characters after which a longer value still names the recorded resource.
BOUNDARIES = ("/", ":")
AWS_HOST = re.compile(r"^https://(?P<host>[a-z0-9.-]+\.amazonaws\.com)(?P<path>/.*)?$")


class WiringGap(RuntimeError):
    """A function's environment or policy names a resource the local region did not create."""


@dataclass(frozen=True)
class Recorded:
    local: str
    origin: str


@dataclass
class Translation:
    """The table ``local.region`` fills while it creates the region."""

    entries: dict[str, Recorded] = field(default_factory=dict)
    # AWS service endpoints (https://<service>.<region>.amazonaws.com) → the emulator.
    aws_endpoint: str | None = None

    def add(self, synthesized: Any, local: Any, origin: Resource | str) -> None:
        if not isinstance(synthesized, str) or not synthesized:
            return
        where = origin if isinstance(origin, str) else str(origin)
        known = self.entries.get(synthesized)
        if known is not None and known.local != str(local):
            raise ValueError(
                f"{synthesized!r} was recorded as {known.local!r} ({known.origin}) and now as "
                f"{local!r} ({where}): two resources share one synthesized identifier"
            )
        self.entries[synthesized] = Recorded(str(local), where)

    def lookup(self, value: str) -> str | None:
        """The local value for ``value`` (whole, or a recorded prefix + ``/`` or ``:``)."""
        hit = self.entries.get(value)
        if hit is not None:
            return hit.local
        best = ""
        for key in self.entries:
            if len(key) > len(best) and value.startswith(key) and value[len(key)] in BOUNDARIES:
                best = key
        if best:
            return self.entries[best].local + value[len(best) :]
        if self.aws_endpoint:
            found = AWS_HOST.match(value)
            if found:
                return self.aws_endpoint.rstrip("/") + (found.group("path") or "/")
        return None


class References:
    """Every identifier the mocks handed out, so a value that names a resource is recognised."""

    def __init__(self, graphs: Iterable[Synthesis]):
        self.by_identifier: dict[str, list[Resource]] = {}
        for graph in graphs:
            for resource in graph.resources:
                if not resource.custom or resource.type.startswith("pulumi:"):
                    continue
                for identifier in identifiers(resource):
                    self.by_identifier.setdefault(identifier, []).append(resource)

    def named_by(self, value: str) -> list[Resource]:
        found = self.by_identifier.get(value)
        if found:
            return found
        best = ""
        for key in self.by_identifier:
            if len(key) > len(best) and value.startswith(key) and value[len(key)] in BOUNDARIES:
                best = key
        return self.by_identifier[best] if best else []


def identifiers(resource: Resource) -> set[str]:
    """What the mocks answered for ``resource``: what another input holds when it names it."""
    found = {resource.mock_id, resource.outputs.get("arn")}
    for key in ("endpoint", "readerEndpoint"):
        found.add(resource.outputs.get(key))
    if resource.type == "aws:rds/proxy:Proxy":
        found.add(dbuser_prefix(resource.outputs.get("arn", "")))
    return {i for i in found if isinstance(i, str) and i}


def dbuser_prefix(proxy_arn: str) -> str:
    """``rds-db:connect`` resources name a proxy by the last part of its ARN (``prx-…``)."""
    parts = proxy_arn.split(":")
    if len(parts) < 6:
        return ""
    region, account, resource_id = parts[3], parts[4], parts[-1]
    return f"arn:aws:rds-db:{region}:{account}:dbuser:{resource_id}"


@dataclass
class Resolver:
    """Substitutes recorded values in one function's configuration, strictly.

    ``unmodelled`` types are passed through verbatim (the local region has no such resources
    and no local code path calls them: log groups, KMS keys, ...); naming any other graph
    resource that was not recorded is a ``WiringGap``.
    """

    translation: Translation
    references: References
    unmodelled: Mapping[str, str]

    def value(self, value: str, where: str) -> str:
        local = self.translation.lookup(value)
        if local is not None:
            return local
        if value[:1] in "[{":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                resolved = self.deep(parsed, where)
                return value if resolved == parsed else json.dumps(resolved)
        named = [r for r in self.references.named_by(value) if r.type not in self.unmodelled]
        if named:
            raise WiringGap(
                f"{where} = {value!r} names {named[0]}, which the local region does not have. "
                f"The stack wires this function to a resource outside its region or one it never "
                f"declares; fix the wiring in the stack (the local run only reports it)"
            )
        return value

    def deep(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return self.value(value, where)
        if isinstance(value, list):
            return [self.deep(item, where) for item in value]
        if isinstance(value, dict):
            return {key: self.deep(item, f"{where}.{key}") for key, item in value.items()}
        return value
