"""The OpenAPI document and the API accept exactly the same requests (R-API-7), in process.

`tests/api_fuzz.py` says what the run checks. Here the requests go over HTTP through the local
API Gateway stand-in (routes, 404/405, a 401 for an unknown token) into the real handler on
PostgreSQL and moto; two stand-in tokens name the two users (the token authorizer itself is
tested in tests/authorizer). The same run against `make dev`, with Cognito tokens, is in
tests/local.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from handlers.api.main import handler
from local.gateway import Gateway, Unauthorized, serve
from tests.api_fuzz import DOCUMENT, FUZZ_SETTINGS, contract_schema, fuzz_as
from tests.handlers.helpers import ALICE, BOB

USERS = {"alice": "Bearer alice-token", "bob": "Bearer bob-token"}
SUBS = {USERS["alice"]: ALICE, USERS["bob"]: BOB}


def _authorizer(headers: dict[str, str], method: str, path: str) -> dict[str, Any]:
    sub = SUBS.get(headers.get("authorization", ""))
    if sub is None:
        raise Unauthorized("Unauthorized")
    return {"sub": sub, "email": "", "groups": ""}


@pytest.fixture
def api(env) -> Iterator[str]:
    server = serve(Gateway(DOCUMENT, handler, _authorizer))
    yield f"http://127.0.0.1:{server.server_address[1]}"
    # shutdown() waits out serve_forever's half-second poll; nothing needs to wait for it.
    threading.Thread(target=server.shutdown, daemon=True).start()


schema = contract_schema()
fuzz_as(schema, USERS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_document_and_api_agree_on_every_request(case, api):
    case.call_and_validate(base_url=api)
