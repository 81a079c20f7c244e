"""Pulumi inputs (camelCase, numbers as floats) → AWS API parameters, guided by botocore's model.

The local region applies a resource's synthesized inputs through the API call that creates it;
the parameter names come from the service model, not from a table written here: a Pulumi key
matches the member whose name is equal ignoring case and underscores (``callbackUrls`` →
``CallbackURLs``, ``attributes_require_verification_before_update`` →
``AttributesRequireVerificationBeforeUpdate``), and values take the member's type (``12.0`` →
``12``). Where Pulumi and the API disagree on a name, the caller passes it in ``renames``; a key
that matches nothing and is not in ``renames`` is an error, so a property added to the stack
is never dropped in silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.session


class UnmappedProperty(KeyError):
    """A synthesized property the local region does not know how to apply."""


@cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> Any:
    return _model(service).operation_model(operation).input_shape


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def to_api(
    shape: Any,
    value: Any,
    *,
    where: str,
    renames: Mapping[str, str] | None = None,
) -> Any:
    """Convert ``value`` to ``shape``. ``renames`` maps top-level Pulumi keys to member names."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise UnmappedProperty(f"{where}: expected an object for {shape.name}, got {value!r}")
        members = {_norm(name): name for name in shape.members}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            member = (renames or {}).get(key) or members.get(_norm(key))
            if member is None or member not in shape.members:
                raise UnmappedProperty(
                    f"{where}.{key}: no {shape.name} member matches it; map it in local/region.py "
                    f"or list it there as not applied locally (with the reason)"
                )
            out[member] = to_api(shape.members[member], item, where=f"{where}.{key}")
        return out
    if kind == "list":
        return [to_api(shape.member, item, where=f"{where}[]") for item in value]
    if kind == "map":
        return {str(k): to_api(shape.value, v, where=f"{where}.{k}") for k, v in value.items()}
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("double", "float"):
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "string":
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return value
