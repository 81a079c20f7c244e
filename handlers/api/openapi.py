"""Generate `openapi/openapi.json` from the API routes (run `make openapi`).

The document is what the infrastructure imports into API Gateway REST (OpenAPI 3.0.3, no
`x-amazon-apigateway-*` extensions: the infrastructure adds the Lambda integration and the
Cognito authorizer's provider ARNs to the `CognitoUserPool` scheme). Every operation requires
that scheme except `GET /health`, which declares `security: []` for the Route 53 probe.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from backend import json_body
from backend.openapi30 import to_openapi_30

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
SECURITY_SCHEME = "CognitoUserPool"
PUBLIC_OPERATIONS = {("/health", "get")}
TITLE = "mobile-backend API"
VERSION = "1.0.0"


def build_document() -> dict[str, Any]:
    from handlers.api.main import app

    schema = app.get_openapi_schema(
        title=TITLE,
        version=VERSION,
        description=(
            "Mobile backend API (multi-region, active-active). Authenticate with a Cognito ID "
            "token from any region's user pool in the Authorization header.\n\n"
            "Request bodies are `application/json` (charset, if given, `utf-8`) and I-JSON "
            "(RFC 7493): UTF-8 without unpaired surrogates, no duplicate member names, no "
            "NaN or Infinity, every number within the double-precision range "
            f"(|x| <= {json_body.MAX_NUMBER!r}), at most {json_body.MAX_DEPTH} levels of "
            f"nesting and {json_body.MAX_BODY_BYTES} bytes (413 above). Patterns are ECMA 262 "
            "regular expressions: `$` is the end of the string."
        ),
    )
    doc = schema.model_dump(by_alias=True, exclude_none=True, mode="json")
    doc.pop("servers", None)
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            # Validation errors are answered 400 with our error model, never Powertools' 422.
            operation.get("responses", {}).pop("422", None)
            # 204 No Content: there is no body to describe.
            operation.get("responses", {}).get("204", {}).pop("content", None)
            for parameter in operation.get("parameters", []):
                # An optional parameter is absent or a string: HTTP has no null to send.
                _not_null(parameter.get("schema", {}))
            if (path, method) in PUBLIC_OPERATIONS:
                operation["security"] = []
    schemas = doc.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    doc.setdefault("components", {})["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "Cognito user-pool ID token (JWT)",
        }
    }
    doc["security"] = [{SECURITY_SCHEME: []}]
    return to_openapi_30(doc)


def _not_null(schema: dict[str, Any]) -> None:
    schema.pop("nullable", None)
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1:
            del schema["anyOf"]
            schema.update(rest[0])
        else:
            schema["anyOf"] = rest


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
