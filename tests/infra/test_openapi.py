"""R-API-2 / R-API-3: the handler's OpenAPI document made importable by API Gateway."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from components import openapi
from tests.infra.harness import ROOT

INTEGRATION = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/api:live/invocations"
AUTHORIZER = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/auth:live/invocations"
# R-FN-3: the minimum set of routes the API serves.
REQUIRED_ROUTES = {
    ("GET", "/health"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{id}"),
    ("GET", "/me"),
    ("PUT", "/me/preferences"),
    ("POST", "/uploads"),
    ("GET", "/uploads/{key}"),
    ("POST", "/devices"),
    ("POST", "/notifications"),
}


@pytest.fixture(scope="module")
def source_doc():
    return json.loads((ROOT / "openapi" / "openapi.json").read_text())


@pytest.fixture(scope="module")
def gateway_doc(source_doc):
    return openapi.for_api_gateway(
        source_doc, integration_uri=INTEGRATION, authorizer_uri=AUTHORIZER
    )


def test_document_has_every_required_route(source_doc):
    routes = {(method, path) for method, path, _ in openapi.operations(source_doc)}
    assert routes >= REQUIRED_ROUTES, REQUIRED_ROUTES - routes


def test_every_operation_is_proxied_to_the_api_alias(gateway_doc, source_doc):
    ops = list(openapi.operations(gateway_doc))
    assert len(ops) == len(list(openapi.operations(source_doc)))
    for method, path, operation in ops:
        integration = operation["x-amazon-apigateway-integration"]
        assert integration == {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": INTEGRATION,
            "passthroughBehavior": "when_no_match",
            "timeoutInMillis": 29000,
        }, f"{method} {path}"


def test_only_get_health_is_public_and_everything_else_needs_the_authorizer(gateway_doc):
    scheme = openapi.security_scheme_name(gateway_doc)
    for method, path, operation in openapi.operations(gateway_doc):
        if (method, path) == ("GET", "/health"):
            assert operation["security"] == [], "GET /health must stay reachable without a token"
        else:
            # One requirement object: the token AND the app's key (R-OPS-2).
            assert operation["security"] == [{scheme: [], openapi.APP_KEY_SCHEME: []}], (
                f"{method} {path} is not protected"
            )
    # API Gateway reads the key from x-api-key (not from the authorizer's usageIdentifierKey).
    assert gateway_doc["x-amazon-apigateway-api-key-source"] == "HEADER"
    assert gateway_doc["components"]["securitySchemes"][openapi.APP_KEY_SCHEME] == {
        "type": "apiKey",
        "name": "x-api-key",
        "in": "header",
    }
    definition = gateway_doc["components"]["securitySchemes"][scheme]
    assert definition["x-amazon-apigateway-authtype"] == "custom"
    authorizer = definition["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token" and authorizer["authorizerUri"] == AUTHORIZER
    assert authorizer["authorizerResultTtlInSeconds"] == 300
    assert (definition["in"], definition["name"]) == ("header", "Authorization")


def test_requests_are_validated_and_errors_are_json(gateway_doc):
    assert gateway_doc["x-amazon-apigateway-request-validator"] == openapi.VALIDATOR
    validator = gateway_doc["x-amazon-apigateway-request-validators"][openapi.VALIDATOR]
    assert validator == {"validateRequestBody": True, "validateRequestParameters": True}
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template = gateway_doc["x-amazon-apigateway-gateway-responses"][kind]
        assert "application/json" in template["responseTemplates"]


def test_result_is_a_valid_openapi_30_document_and_source_is_untouched(gateway_doc, source_doc):
    validate(gateway_doc)
    assert gateway_doc["openapi"].startswith("3.0")
    first = next(openapi.operations(source_doc))[2]
    assert "x-amazon-apigateway-integration" not in first, "the source document was mutated"


def test_rendering_is_canonical_so_the_deployment_sha_is_stable(source_doc):
    one = openapi.render(
        openapi.for_api_gateway(source_doc, integration_uri="a", authorizer_uri="b")
    )
    two = openapi.render(
        openapi.for_api_gateway(source_doc, integration_uri="a", authorizer_uri="b")
    )
    other = openapi.render(
        openapi.for_api_gateway(source_doc, integration_uri="c", authorizer_uri="b")
    )
    assert openapi.sha256(one) == openapi.sha256(two) != openapi.sha256(other)


def test_document_without_a_default_security_scheme_is_refused(source_doc):
    open_doc = {**source_doc, "security": []}
    with pytest.raises(ValueError, match="exactly one security scheme"):
        openapi.for_api_gateway(open_doc, integration_uri="a", authorizer_uri="b")


DOC_31 = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1", "summary": "3.1 only"},
    "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
    "security": [{"Token": []}],
    "paths": {
        "/items/{id}": {
            "get": {
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}},
                    {
                        "in": "query",
                        "name": "cursor",
                        "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
    "components": {
        "securitySchemes": {"Token": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        "schemas": {
            "Item": {
                "type": "object",
                "properties": {
                    "name": {"type": ["string", "null"], "examples": ["x"]},
                    "kind": {"const": "item"},
                    "size": {"type": "integer", "exclusiveMinimum": 0},
                    "parent": {"anyOf": [{"$ref": "#/components/schemas/Item"}, {"type": "null"}]},
                },
            }
        },
    },
}


def test_openapi_31_is_converted_to_30_for_api_gateway():
    converted = openapi.for_api_gateway(DOC_31, integration_uri="a", authorizer_uri="b")
    assert converted["openapi"] == "3.0.3"
    assert "jsonSchemaDialect" not in converted and "summary" not in converted["info"]
    props = converted["components"]["schemas"]["Item"]["properties"]
    assert props["name"] == {"type": "string", "nullable": True, "example": "x"}
    assert props["kind"] == {"enum": ["item"]}
    assert props["size"] == {"type": "integer", "minimum": 0, "exclusiveMinimum": True}
    assert props["parent"] == {"allOf": [{"$ref": "#/components/schemas/Item"}], "nullable": True}
    cursor = converted["paths"]["/items/{id}"]["get"]["parameters"][1]["schema"]
    assert cursor == {"type": "string", "nullable": True}
    validate(converted)


def test_unknown_openapi_version_is_refused():
    with pytest.raises(ValueError, match="unsupported OpenAPI version"):
        openapi.to_openapi30({"openapi": "2.0"})
