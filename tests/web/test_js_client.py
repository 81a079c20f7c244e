"""The web app's API client is generated from the committed OpenAPI document and committed:
it must be exactly what the generator makes now, with one function per operation."""

from __future__ import annotations

import json
import re

from scripts import gen_js_client

DOCUMENT = json.loads(gen_js_client.DOCUMENT.read_text())


def test_committed_client_is_fresh():
    committed = gen_js_client.OUTPUT.read_text()
    assert committed == gen_js_client.generate(DOCUMENT), (
        "web/js/api-client.js is stale: run `make webclient` and commit it"
    )


def test_one_function_per_operation_with_the_route_it_calls():
    source = gen_js_client.generate(DOCUMENT)
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in gen_js_client.METHODS:
                continue
            name = gen_js_client.function_name(operation["operationId"], path, method)
            template = re.sub(r"\{([^}]+)\}", r"${encodeURIComponent(\1)}", path)
            assert f"    {name}(" in source, f"no function for {operation['operationId']}"
            assert f'call("{method.upper()}", `{template}`' in source, f"{name} calls {path}"


def test_names_drop_the_route_suffix_and_are_camel_case():
    assert gen_js_client.function_name("list_users_users_get", "/users", "get") == "listUsers"
    assert gen_js_client.function_name("get_user_users__id__get", "/users/{id}", "get") == (
        "getUser"
    )
    assert gen_js_client.function_name("listThings", "/things", "get") == "listThings"


def test_secured_operations_send_the_token_and_health_does_not():
    source = gen_js_client.generate(DOCUMENT)
    assert re.search(
        r"health\(\) \{\n\s+return call\(\"GET\", `/health`, \{ secured: false \}", source
    )
    assert 'headers: { "idempotency-key": idempotencyKey }' in source


def test_clashing_names_are_refused():
    document = {
        "paths": {
            "/a": {"get": {"operationId": "thing"}},
            "/b": {"get": {"operationId": "thing"}},
        }
    }
    try:
        gen_js_client.generate(document)
    except ValueError as error:
        assert "thing" in str(error)
    else:
        raise AssertionError("two operations named thing were accepted")
