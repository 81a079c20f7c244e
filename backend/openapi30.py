"""Down-convert the OpenAPI 3.1 document Powertools generates to OpenAPI 3.0.3.

API Gateway REST imports OpenAPI 3.0 (not 3.1), and Powertools 3.x always emits 3.1. The
differences that pydantic/Powertools output actually uses are small and all inside JSON
schemas: `null` in `anyOf`/`type` lists (3.0 spells it `nullable: true`), `const` (3.0: a
one-item `enum`), `examples` lists (3.0: a single `example`), numeric `exclusiveMinimum` /
`exclusiveMaximum` (3.0: booleans next to `minimum` / `maximum`), and `$ref` with siblings
(3.0: wrap in `allOf`).
"""

from __future__ import annotations

import copy
from typing import Any

OPENAPI_30 = "3.0.3"


def _schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            out[key] = {name: _schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "anyOf", "oneOf", "allOf"):
            out[key] = _schema(value)
        else:
            out[key] = value
    nullable = False
    for combinator in ("anyOf", "oneOf"):
        options = out.get(combinator)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            nullable = True
            rest = [o for o in options if o != {"type": "null"}]
            del out[combinator]
            if len(rest) == 1:
                only = rest[0]
                if "$ref" in only:
                    out["allOf"] = [only]
                else:
                    out = {**only, **out}
            else:
                out[combinator] = rest
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        nullable = nullable or len(types) != len(out["type"])
        out["type"] = types[0] if len(types) == 1 else types
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if nullable:
        out["nullable"] = True
        # 3.0.3: `nullable` adds null to `type`, not to `enum`; an enum must list it itself.
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if "examples" in out and isinstance(out["examples"], list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(exclusive), int | float) and not isinstance(out[exclusive], bool):
            out[bound] = out.pop(exclusive)
            out[exclusive] = True
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}]
    return out


def _walk(node: Any) -> Any:
    """Convert every `schema` object found anywhere outside components."""
    if isinstance(node, list):
        return [_walk(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _schema(v) if k == "schema" else _walk(v) for k, v in node.items()}


def to_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    doc["openapi"] = OPENAPI_30
    doc.pop("jsonSchemaDialect", None)
    doc.pop("webhooks", None)
    doc["paths"] = _walk(doc.get("paths", {}))
    components = doc.get("components", {})
    if "schemas" in components:
        components["schemas"] = {k: _schema(v) for k, v in components["schemas"].items()}
    return doc
