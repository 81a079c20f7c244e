"""One user id in every region, though each region's Cognito pool assigns its own ``sub``.

A user who signs in to the other region for the first time is copied into that region's pool
by the user-migration trigger and gets a new ``sub`` there; data keyed by the id (profile,
preferences, devices, uploads) must still be theirs. So the trigger stores the id the user
already has (the peer pool's ``custom:uid``, else its ``sub``) in the immutable custom
attribute ``custom:uid``, and the authorizer takes the caller's id from it when present. No
app client may write the attribute (components/identity.py): it is set once, at creation, by
the trigger only. Standard library only: the authorizer imports this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The pool schema declares "uid"; Cognito exposes custom attributes with this prefix.
UID_SCHEMA_NAME = "uid"
UID_ATTRIBUTE = f"custom:{UID_SCHEMA_NAME}"
# Cognito subs are UUIDs (36 characters); the schema constrains custom:uid to that length.
UID_LENGTH = 36
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_user_id(value: Any) -> bool:
    return isinstance(value, str) and _UUID.fullmatch(value.lower()) is not None


def user_id(claims: Mapping[str, Any]) -> str:
    """The caller's id: ``custom:uid`` when it is a well-formed id, else ``sub``."""
    uid = claims.get(UID_ATTRIBUTE)
    return uid.lower() if is_user_id(uid) else str(claims["sub"])
