"""The API handler's OpenAPI document made importable by API Gateway (R-API-2), as pure functions.

The document generated from the handler's routes stays the single source of truth; this module
only adds what API Gateway needs to serve it: an ``aws_proxy`` integration on every operation,
the token authorizer on the security scheme, explicit per-operation security (``GET /health``
keeps its ``security: []``; every other operation needs the token and the app's API key),
request validators, and JSON gateway error responses. API Gateway REST imports OpenAPI 3.0
only, so a 3.1 document is converted first (the parts that matter for request validation
models: ``type`` lists and ``null`` alternatives, ``const``, numeric exclusive bounds, schema
``examples``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from contract import names

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
VALIDATOR = "body-and-params"
# The security scheme of the per-app API key (components.app_keys).
APP_KEY_SCHEME = "app_key"
# API Gateway's hard integration timeout for REST APIs is 29 s.
INTEGRATION_TIMEOUT_MS = 29_000
AUTHORIZER_RESULT_TTL_SECONDS = 300
# A JWT, optionally prefixed with "Bearer ": anything else is refused before the authorizer
# Lambda is invoked (and billed).
JWT_PATTERN = r"^(Bearer )?[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+$"
_ERROR_TEMPLATE = (
    '{"error": {"code": "$context.error.responseType", "message": $context.error.messageString}}'
)


def operations(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation of the document."""
    for path, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def security_scheme_name(doc: Mapping[str, Any]) -> str:
    """The one security scheme the document requires by default (top-level ``security``)."""
    requirements = doc.get("security") or []
    names = {name for requirement in requirements for name in requirement}
    if len(names) != 1:
        raise ValueError(
            f"the OpenAPI document must require exactly one security scheme at the top level "
            f"(found {sorted(names)}); every route but GET /health needs a token"
        )
    name = names.pop()
    if name not in doc.get("components", {}).get("securitySchemes", {}):
        raise ValueError(f"security scheme {name!r} is not defined in components.securitySchemes")
    return name


def is_public(operation: Mapping[str, Any]) -> bool:
    return "security" in operation and operation["security"] == []


def for_api_gateway(
    doc: Mapping[str, Any],
    *,
    integration_uri: str,
    authorizer_uri: str,
    authorizer_ttl_seconds: int = AUTHORIZER_RESULT_TTL_SECONDS,
) -> dict[str, Any]:
    """A copy of ``doc`` (converted to OpenAPI 3.0) with API Gateway's extensions.

    ``integration_uri`` is the api function alias's invoke ARN, ``authorizer_uri`` the
    authorizer alias's. Operations that declare ``security: []`` stay public; every other
    operation gets the scheme explicitly (API Gateway does not apply top-level ``security``).
    """
    out = to_openapi30(doc)
    scheme = security_scheme_name(out)
    out["components"]["securitySchemes"][scheme] = {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "custom",
        "x-amazon-apigateway-authorizer": {
            "type": "token",
            "authorizerUri": authorizer_uri,
            "authorizerResultTtlInSeconds": authorizer_ttl_seconds,
            "identityValidationExpression": JWT_PATTERN,
        },
    }
    # R-OPS-2: every secured operation also needs an app key (x-api-key, checked against the
    # usage plans); both in one requirement object means both are required. The public
    # health check stays keyless: Route 53 health checks cannot send headers.
    out["components"]["securitySchemes"][APP_KEY_SCHEME] = {
        "type": "apiKey",
        "name": names.API_KEY_HEADER,
        "in": "header",
    }
    out["x-amazon-apigateway-api-key-source"] = "HEADER"
    for _method, _path, operation in operations(out):
        if not is_public(operation):
            operation["security"] = [{scheme: [], APP_KEY_SCHEME: []}]
        operation["x-amazon-apigateway-integration"] = {
            "type": "aws_proxy",
            # Lambda proxy integrations are always invoked with POST.
            "httpMethod": "POST",
            "uri": integration_uri,
            "passthroughBehavior": "when_no_match",
            "timeoutInMillis": INTEGRATION_TIMEOUT_MS,
        }
    out["x-amazon-apigateway-request-validators"] = {
        VALIDATOR: {"validateRequestBody": True, "validateRequestParameters": True},
    }
    out["x-amazon-apigateway-request-validator"] = VALIDATOR
    out["x-amazon-apigateway-gateway-responses"] = {
        kind: {"responseTemplates": {"application/json": _ERROR_TEMPLATE}}
        for kind in ("DEFAULT_4XX", "DEFAULT_5XX")
    }
    return out


def render(doc: Mapping[str, Any]) -> str:
    """Canonical JSON: the same document always renders to the same bytes (and sha)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


# --- OpenAPI 3.1 → 3.0 -------------------------------------------------------------------

_DROP_31_TOP_LEVEL = ("webhooks", "jsonSchemaDialect")


def to_openapi30(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` as OpenAPI 3.0.3 (unchanged when it already is 3.0)."""
    out = copy.deepcopy(dict(doc))
    version = str(out.get("openapi", ""))
    if version.startswith("3.0"):
        return out
    if not version.startswith("3.1"):
        raise ValueError(f"unsupported OpenAPI version {version!r} (expected 3.0 or 3.1)")
    out["openapi"] = "3.0.3"
    for key in _DROP_31_TOP_LEVEL:
        out.pop(key, None)
    out.get("info", {}).pop("summary", None)
    out.get("info", {}).get("license", {}).pop("identifier", None)
    for name, schema in list(out.get("components", {}).get("schemas", {}).items()):
        out["components"]["schemas"][name] = _schema30(schema)
    _convert_schema_positions(out.get("paths", {}))
    _convert_schema_positions(out.get("components", {}).get("parameters", {}))
    _convert_schema_positions(out.get("components", {}).get("requestBodies", {}))
    _convert_schema_positions(out.get("components", {}).get("responses", {}))
    return out


def _convert_schema_positions(node: Any) -> None:
    """Convert every value found under a ``schema`` key (parameters, media types)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict):
                node[key] = _schema30(value)
            else:
                _convert_schema_positions(value)
    elif isinstance(node, list):
        for item in node:
            _convert_schema_positions(item)


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


def _schema30(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    s = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$comment")}
    nullable = False

    kind = s.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        nullable = len(types) != len(kind)
        if len(types) == 1:
            s["type"] = types[0]
        else:
            s.pop("type")
            if types:
                s["anyOf"] = [{"type": t} for t in types]

    for combinator in ("anyOf", "oneOf"):
        if combinator in s:
            options = [o for o in s[combinator] if not _is_null(o)]
            if len(options) != len(s[combinator]):
                nullable = True
            if len(options) == 1:
                s.pop(combinator)
                only = _schema30(options[0])
                # A $ref cannot carry siblings in 3.0: wrap it so `nullable` applies.
                if "$ref" in only:
                    s["allOf"] = [only]
                else:
                    s = {**only, **s}
            else:
                s[combinator] = [_schema30(o) for o in options]

    if "const" in s:
        s["enum"] = [s.pop("const")]
    if "examples" in s:
        examples = s.pop("examples")
        if isinstance(examples, list) and examples:
            s.setdefault("example", examples[0])
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = s.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            s[flag] = value
            s[bound] = True

    for key in ("properties", "patternProperties"):
        if isinstance(s.get(key), dict):
            s[key] = {name: _schema30(sub) for name, sub in s[key].items()}
    for key in ("items", "not", "additionalProperties"):
        if isinstance(s.get(key), dict):
            s[key] = _schema30(s[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(s.get(key), list):
            s[key] = [_schema30(sub) for sub in s[key]]
    if nullable:
        s["nullable"] = True
    return s
