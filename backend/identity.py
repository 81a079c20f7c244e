"""Who is calling: parsed from the API Gateway authorizer, whichever kind produced it.

A Cognito user-pool authorizer puts the token's claims under `authorizer.claims`; a Lambda
authorizer puts its context keys (`sub`, `email`, `groups`) directly under `authorizer`.
Both are accepted so the infrastructure can switch authorizer types without a code change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ADMIN_GROUP = "admins"


@dataclass(frozen=True)
class Caller:
    sub: str
    email: str | None
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups


def _parse_groups(raw: Any) -> frozenset[str]:
    """`cognito:groups` arrives as a list, a JSON list, `[a b]` or `a,b` depending on the path."""
    if raw is None or raw == "":
        return frozenset()
    if isinstance(raw, list | tuple):
        return frozenset(str(g) for g in raw if g)
    text = str(raw).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return frozenset(str(g) for g in parsed if g)
        except json.JSONDecodeError:
            text = text[1:-1]
    separators = text.replace(",", " ").split()
    return frozenset(g for g in separators if g)


def caller_from_authorizer(authorizer: Mapping[str, Any] | None) -> Caller | None:
    """The caller, or None when the request carries no identity."""
    if not authorizer:
        return None
    claims = authorizer.get("claims")
    source: Mapping[str, Any] = claims if isinstance(claims, Mapping) else authorizer
    sub = source.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        return None
    groups = source.get("cognito:groups", source.get("groups"))
    email = source.get("email")
    return Caller(
        sub=sub.strip(),
        email=email if isinstance(email, str) and email else None,
        groups=_parse_groups(groups),
    )
