"""The committed OpenAPI document: valid OpenAPI 3.0, current, and secured as designed."""

from __future__ import annotations

import json

from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV30SpecValidator

from backend.openapi30 import to_openapi_30
from handlers.api.openapi import DEFAULT_OUTPUT, render

ROUTES = {
    ("/health", "get"),
    ("/users", "get"),
    ("/users", "post"),
    ("/users/{id}", "get"),
    ("/users/requests/{id}", "get"),
    ("/me", "get"),
    ("/me/preferences", "put"),
    ("/uploads", "post"),
    ("/uploads/{key}", "get"),
    ("/devices", "post"),
    ("/notifications", "post"),
    ("/devices/{id}", "delete"),
}


def test_committed_document_is_current():
    # GIVEN the routes in the code WHEN the document is rendered THEN it equals the committed file
    assert DEFAULT_OUTPUT.read_text() == render(), "openapi/openapi.json is stale: run make openapi"


def test_document_is_valid_openapi_30_with_every_route():
    document = json.loads(DEFAULT_OUTPUT.read_text())
    validate(document, cls=OpenAPIV30SpecValidator)
    assert document["openapi"] == "3.0.3"
    operations = {(p, m) for p, ops in document["paths"].items() for m in ops}
    assert operations == ROUTES


def test_only_health_is_public_and_no_route_documents_422():
    document = json.loads(DEFAULT_OUTPUT.read_text())
    assert document["security"] == [{"CognitoUserPool": []}]
    assert document["components"]["securitySchemes"]["CognitoUserPool"]["in"] == "header"
    public = {
        (p, m) for p, ops in document["paths"].items() for m, op in ops.items() if "security" in op
    }
    assert public == {("/health", "get")}
    assert document["paths"]["/health"]["get"]["security"] == []
    assert all(
        "422" not in op["responses"] for ops in document["paths"].values() for op in ops.values()
    )


def test_downconversion_rewrites_31_only_constructs():
    document = {
        "openapi": "3.1.0",
        "paths": {},
        "components": {
            "schemas": {
                "M": {
                    "type": "object",
                    "properties": {
                        "a": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "A"},
                        "b": {"anyOf": [{"$ref": "#/components/schemas/N"}, {"type": "null"}]},
                        "c": {"const": "x"},
                        "d": {"type": "integer", "exclusiveMinimum": 0},
                        "e": {"type": ["string", "null"], "examples": ["q"]},
                    },
                },
                "N": {"type": "string"},
            }
        },
    }
    props = to_openapi_30(document)["components"]["schemas"]["M"]["properties"]
    assert props["a"] == {"type": "string", "title": "A", "nullable": True}
    assert props["b"] == {"allOf": [{"$ref": "#/components/schemas/N"}], "nullable": True}
    assert props["c"] == {"enum": ["x"]}
    assert props["d"] == {"type": "integer", "minimum": 0, "exclusiveMinimum": True}
    assert props["e"] == {"type": "string", "nullable": True, "example": "q"}


def test_every_operation_documents_its_success_response_with_a_schema():
    # SDKs generated from the document, request/response validation and the fuzz tests all
    # need the success shape; an operation with only error responses is a documentation bug.
    import json
    from pathlib import Path

    document = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
    missing = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            success = {
                c: r for c, r in operation["responses"].items() if c.startswith("2") and c != "204"
            }
            if (not success and "204" not in operation["responses"]) or not all(
                "schema" in r.get("content", {}).get("application/json", {})
                for r in success.values()
            ):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
