"""Generate the web app's API client (``web/js/api-client.js``) from ``openapi/openapi.json``.

The mobile SDKs are generated from the same document, so the web app shares their contract:
one function per operation, named from its operationId (Powertools' ``<name>_<path>_<method>``
suffix removed, camelCased: ``list_users_users_get`` → ``listUsers``), taking one object of
path, query and header parameters (camelCased) plus ``body``, returning the parsed JSON or
throwing ``ApiError`` (status, code, message, fields). ``make webclient`` rewrites the file; a
test fails when the committed file is stale. Standard library only; output is deterministic.

    python scripts/gen_js_client.py [--output web/js/api-client.js]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "openapi" / "openapi.json"
OUTPUT = ROOT / "web" / "js" / "api-client.js"
METHODS = ("get", "put", "post", "delete", "patch")

RUNTIME = """\
/** An API answer outside 2xx, or no answer: `{"error": {"code", "message", "fields"}}`. */
export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

function withQuery(path, query) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") search.append(name, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * A client bound to `baseUrl` (e.g. "/api"); `getToken()` returns the Cognito ID token sent
 * as `Authorization` on secured operations, with `apiKey` (the app's key from config.json:
 * it identifies the app, not the user, and is not a secret) as `x-api-key`.
 */
export function createClient({
  baseUrl,
  apiKey = null,
  getToken = () => null,
  fetchImpl = globalThis.fetch,
}) {
  const base = baseUrl.replace(/\\/+$/, "");

  async function call(method, path, { query = {}, headers = {}, body, secured = true } = {}) {
    const sent = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && value !== null) sent[name] = String(value);
    }
    if (secured) {
      const token = getToken();
      if (token) sent.Authorization = token;
      if (apiKey) sent["x-api-key"] = apiKey;
    }
    const init = { method, headers: sent };
    if (body !== undefined) {
      sent["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetchImpl(base + withQuery(path, query), init);
    } catch (failure) {
      throw new ApiError(0, "network_error", `The API could not be reached (${failure.message})`);
    }
    const text = await response.text();
    let payload = null;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      payload = null;
    }
    if (!response.ok) {
      const error = (payload && payload.error) || {};
      throw new ApiError(
        response.status,
        error.code || `http_${response.status}`,
        error.message || response.statusText || `HTTP ${response.status}`,
        error.fields || [],
      );
    }
    return payload;
  }
"""


def camel(name: str) -> str:
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    return parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def function_name(operation_id: str, path: str, method: str) -> str:
    """The operation's own name without the route suffix Powertools appends for uniqueness."""
    suffix = "_" + re.sub(r"\W", "_", path.lstrip("/")) + "_" + method
    if operation_id.endswith(suffix) and len(operation_id) > len(suffix):
        operation_id = operation_id[: -len(suffix)]
    return camel(operation_id)


def _js(value: Any) -> str:
    return json.dumps(value)


def operation_source(path: str, method: str, operation: dict[str, Any], secured: bool) -> str:
    name = function_name(operation["operationId"], path, method)
    params = operation.get("parameters", [])
    by_location: dict[str, list[tuple[str, str]]] = {"path": [], "query": [], "header": []}
    for param in params:
        if param["in"] in by_location:
            by_location[param["in"]].append((camel(param["name"]), param["name"]))
    has_body = "requestBody" in operation
    arguments = [js for js, _ in by_location["path"] + by_location["query"] + by_location["header"]]
    if has_body:
        arguments.append("body")
    url = path
    for js_name, wire in by_location["path"]:
        url = url.replace("{" + wire + "}", "${encodeURIComponent(" + js_name + ")}")
    options = []
    if by_location["query"]:
        pairs = ", ".join(f"{_js(wire)}: {js}" for js, wire in by_location["query"])
        options.append(f"query: {{ {pairs} }}")
    if by_location["header"]:
        pairs = ", ".join(f"{_js(wire)}: {js}" for js, wire in by_location["header"])
        options.append(f"headers: {{ {pairs} }}")
    if has_body:
        options.append("body")
    options.append(f"secured: {'true' if secured else 'false'}")
    summary = operation.get("summary", name).replace("*/", "*\\/")
    signature = f"{{ {', '.join(arguments)} }} = {{}}" if arguments else ""
    return (
        f"    /** {method.upper()} {path} — {summary} */\n"
        f"    {name}({signature}) {{\n"
        f"      return call({_js(method.upper())}, `{url}`, {{ {', '.join(options)} }});\n"
        f"    }},\n"
    )


def generate(document: dict[str, Any]) -> str:
    default_secured = bool(document.get("security"))
    functions = []
    names: set[str] = set()
    for path, item in sorted(document["paths"].items()):
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            security = operation.get("security")
            secured = default_secured if security is None else bool(security)
            name = function_name(operation["operationId"], path, method)
            if name in names:
                raise ValueError(f"two operations map to the JS function {name}")
            names.add(name)
            functions.append(operation_source(path, method, operation, secured))
    title = document.get("info", {}).get("title", "API")
    version = document.get("info", {}).get("version", "")
    header = (
        f"// {title} {version} client, generated by scripts/gen_js_client.py from\n"
        "// openapi/openapi.json (`make webclient`). Do not edit: a test checks it is fresh.\n\n"
    )
    return header + RUNTIME + "\n  return {\n" + "".join(functions) + "  };\n}\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(generate(json.loads(DOCUMENT.read_text())))


if __name__ == "__main__":
    main()
