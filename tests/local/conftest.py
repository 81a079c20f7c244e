"""The dev stack's region built in this process (moto in a thread), once per test module.

Synthesis comes from the session's ``dev_synths`` (tests/conftest.py); each module gets a
fresh local cloud, reset before and after (moto's state is process-wide).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto.moto_api._internal.models import moto_api_backend

from local.cloud import LocalCloud, client
from local.region import Graph, LocalRegion, build_region

DB_PORT = 54321
WEB_ORIGIN = "http://127.0.0.1:18081"


def build(graph: Graph) -> tuple[LocalCloud, LocalRegion]:
    """The local cloud and the region built in it (the cloud is stopped if the build fails)."""
    cloud = LocalCloud()
    endpoint = cloud.start()
    try:
        region = build_region(
            graph,
            lambda service: client(service, endpoint, graph.region),
            endpoint=endpoint,
            db_port=DB_PORT,
            web_origin=WEB_ORIGIN,
        )
    except BaseException:
        cloud.stop()
        moto_api_backend.reset()
        raise
    return cloud, region


@pytest.fixture(scope="module")
def graph(dev_synths: dict[str, Any]) -> Graph:
    return Graph("dev", "eu-west-1", dev_synths["dev-global"], dev_synths["dev-eu"])


@pytest.fixture(scope="module")
def built(graph: Graph) -> Iterator[tuple[LocalCloud, LocalRegion]]:
    moto_api_backend.reset()
    cloud, region = build(graph)
    yield cloud, region
    cloud.stop()
    moto_api_backend.reset()


@pytest.fixture(scope="module")
def region(built: tuple[LocalCloud, LocalRegion]) -> LocalRegion:
    return built[1]
