"""The seam is live (R-DEV-2): the local run is whatever the stack synthesizes, so a stack that
loses one grant or one environment assignment breaks the affected route locally, as it would on
AWS, while the real stack passes.

Three local backends, one after the other in this process: from the dev graph as synthesized,
from the same graph without the api's ``PublishDomainEvents`` statement (``sns:Publish`` on the
events topic) in its role policy, and without its ``ASSETS_BUCKET`` assignment. The routes
that do not need what was removed keep working: the failure is the seam, not the harness.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.moto_api._internal.models import moto_api_backend

from contract import names
from local.backend import LocalBackend, Running
from local.cloud import DemoUser, sign_in
from local.region import Graph, synthesize_graph
from scripts.smoke import http

REMOVED_STATEMENT = "PublishDomainEvents"
REMOVED_VARIABLE = "ASSETS_BUCKET"


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Graph:
    # The real SQL is staged: the deploy-time migration checks its checksum.
    return synthesize_graph("dev", tmp_path_factory.mktemp("build"))


def _api(regional, environment: str):
    name = names.function_name(environment, "api")
    (api,) = [
        f for f in regional.of_type("aws:lambda/function:Function") if f.inputs["name"] == name
    ]
    return api


def without_variable(graph: Graph, variable: str) -> Graph:
    regional = copy.deepcopy(graph.regional_stack)
    del _api(regional, graph.environment).inputs["environment"]["variables"][variable]
    return Graph(graph.environment, graph.region, graph.global_stack, regional)


def without_statement(graph: Graph, sid: str) -> Graph:
    regional = copy.deepcopy(graph.regional_stack)
    api = _api(regional, graph.environment)
    (role,) = [
        r for r in regional.of_type("aws:iam/role:Role") if r.outputs["arn"] == api.inputs["role"]
    ]
    removed = 0
    for policy in regional.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy.inputs["role"] in (role.mock_id, role.outputs["arn"]):
            document = json.loads(policy.inputs["policy"])
            kept = [s for s in document["Statement"] if s.get("Sid") != sid]
            removed += len(document["Statement"]) - len(kept)
            document["Statement"] = kept
            policy.inputs["policy"] = json.dumps(document)
    assert removed == 1, f"the api's policy has no single statement {sid}"
    return Graph(graph.environment, graph.region, graph.global_stack, regional)


def started(graph: Graph) -> Iterator[tuple[LocalBackend, Running]]:
    workdir = Path(tempfile.mkdtemp(prefix="mb-seam-"))
    workdir.chmod(0o755)
    moto_api_backend.reset()
    backend = LocalBackend(workdir, graph=graph)
    try:
        yield backend, backend.start()
    finally:
        backend.stop()
        moto_api_backend.reset()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def real(graph):
    yield from started(graph)


def routes(running: Running) -> dict[str, tuple[int, Any]]:
    token = sign_in(DemoUser.from_details(running.describe()))
    api = running.api_url
    upload = {"filename": "a.txt", "content_type": "text/plain", "size": 3}
    key = {"x-api-key": running.api_keys["web"]}
    return {
        "GET /health": http("GET", f"{api}/health"),
        "GET /me": http("GET", f"{api}/me", token=token, headers=key),
        "POST /users": http(
            "POST",
            f"{api}/users",
            token=token,
            body={"name": "Ada Seam", "email": "ada@example.com"},
            headers=key,
        ),
        "POST /uploads": http("POST", f"{api}/uploads", token=token, body=upload, headers=key),
    }


def test_with_the_real_stack_every_route_passes(real):
    _, running = real
    answers = routes(running)
    assert {route: status for route, (status, _) in answers.items()} == {
        "GET /health": 200,
        "GET /me": 200,
        "POST /users": 202,
        "POST /uploads": 201,
    }


def test_without_one_grant_the_route_that_needs_it_fails_with_access_denied(real, graph):
    for backend, running in started(without_statement(graph, REMOVED_STATEMENT)):
        assert backend.region is not None
        api = backend.region.functions["api"]
        assert REMOVED_STATEMENT not in [s.get("Sid") for s in api.statements]
        answers = routes(running)
        statuses = {route: status for route, (status, _) in answers.items()}
        assert statuses == {
            "GET /health": 200,
            "GET /me": 200,
            "POST /users": 500,
            "POST /uploads": 201,
        }, answers
        # The refusal is AWS's: the action and the local topic the stack names.
        log = (backend.workdir / "backend.log").read_text()
        topic = api.environment["EVENTS_TOPIC_ARN"]
        assert f"not authorized to perform: sns:Publish on resource: {topic}" in log


def test_without_one_variable_the_routes_that_need_it_fail(real, graph):
    for backend, running in started(without_variable(graph, REMOVED_VARIABLE)):
        assert backend.region is not None
        assert REMOVED_VARIABLE not in backend.region.functions["api"].environment
        answers = routes(running)
        # /health needs only the database variables (docs/backend.md); the API's own routes
        # refuse to run on an incomplete environment.
        assert answers["GET /health"][0] == 200
        assert answers["POST /uploads"][0] == 500, answers["POST /uploads"]
        assert answers["POST /users"][0] == 500, answers["POST /users"]
        log = (backend.workdir / "backend.log").read_text()
        assert "SettingsError" in log and REMOVED_VARIABLE in log
