"""The API fuzz run both the in-process contract test and the `make dev` acceptance run use.

schemathesis generates requests from `openapi/openapi.json` in both directions: positive cases
(schema-valid: each must be accepted, a 400 is a disagreement) and negative cases
(schema-violating: each must be refused with a 4xx), from the coverage phase (every bound,
pattern and enum of each field, and one past it) and from random fuzzing, with every check on:
no 5xx, documented status codes, content types and response schemas, authentication enforced,
and, with two users, one user's objects not readable by the other.

The size limits the document can only state in prose (a body over 64 KiB, preferences over
16 KiB of compact JSON, an upload over 10 MiB) answer 413, the one status added to those that
count as a refusal.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._auth import WFCAuthConfig
from schemathesis.wfc.integration import register_wfc_auth

from handlers.api.openapi import DEFAULT_OUTPUT

DOCUMENT: dict[str, Any] = json.loads(DEFAULT_OUTPUT.read_text())
# Hypothesis settings per operation: bounded so both runs fit the suite's time budget.
FUZZ_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def contract_schema(*, coverage: bool = True) -> Any:
    """The document as a schemathesis schema with the run's check configuration; `fuzz_as`
    gives it its users. The coverage phase's cases are built when the test is collected,
    credentials included, so a run whose tokens exist only once a fixture has run (a backend
    it starts) leaves that phase to the in-process run and keeps the fuzzing phase, whose
    cases are drawn as the test runs."""
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    schema.config.phases.coverage.enabled = coverage
    return schema


def fuzz_as(schema: Any, users: Mapping[str, str], *, api_key: str | None = None) -> None:
    """Requests are made as the first of ``users`` (name → Authorization value); each other
    user replays every read of the first one's objects and must not get them. ``api_key``
    (a gateway in front, R-OPS-2) goes with every user's requests as the app's key."""
    key = [{"name": "x-api-key", "value": api_key}] if api_key else []
    entries = [
        {
            "name": name,
            "fixedHeaders": [{"name": "Authorization", "value": authorization}, *key],
        }
        for name, authorization in users.items()
    ]
    names = list(users)
    # register_wfc_auth reads a Web Fuzzing Commons auth document from a file, at once.
    with tempfile.TemporaryDirectory(prefix="api-fuzz-") as directory:
        path = Path(directory) / "users.json"
        path.write_text(json.dumps({"auth": entries}))
        register_wfc_auth(schema, WFCAuthConfig(path=str(path), user=names[0], peers=names))
