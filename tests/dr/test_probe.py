"""The HTTP writer probe against a real local HTTP server, and the adapter's small parsers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dr.aws import Aws, HealthStatus, region_of_arn
from dr.probe import HttpHealthProbe

ANSWERS: dict[str, tuple[int, bytes]] = {
    "/writer": (200, json.dumps({"region": "us-west-1", "role": "writer"}).encode()),
    "/reader": (200, json.dumps({"region": "eu-west-1", "role": "reader"}).encode()),
    "/broken": (503, b'{"role": "writer"}'),
}


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ANSWERS[self.path]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_probe_reads_the_role_from_health(base_url):
    probe = HttpHealthProbe({"us-west-1": f"{base_url}/writer", "eu-west-1": f"{base_url}/reader"})
    us, eu = probe("us-west-1"), probe("eu-west-1")
    assert (us.reachable, us.role, us.is_writer) == (True, "writer", True)
    assert (eu.reachable, eu.role, eu.is_writer) == (True, "reader", False)


def test_an_error_status_is_not_a_writer_even_if_the_body_says_so(base_url):
    result = HttpHealthProbe({"us-west-1": f"{base_url}/broken"})("us-west-1")
    assert (result.reachable, result.is_writer) == (True, False)
    assert result.detail == f"{base_url}/broken answered HTTP 503"


def test_an_unreachable_region_is_reported_not_raised():
    # Port 9 (discard) on localhost is closed here: connection refused at once.
    result = HttpHealthProbe({"eu-west-1": "http://127.0.0.1:9/health"}, timeout_s=1)("eu-west-1")
    assert (result.reachable, result.is_writer) == (False, False)
    assert result.detail.startswith("http://127.0.0.1:9/health unreachable: ")


def test_a_region_without_url_or_with_a_non_http_url_is_not_probed():
    probe = HttpHealthProbe({"us-west-1": "file:///etc/passwd"})
    assert probe("eu-west-1").detail == "no health URL configured for eu-west-1"
    assert probe("us-west-1").detail == "'file:///etc/passwd' is not an http(s) URL"


def test_region_of_arn():
    assert region_of_arn("arn:aws:rds:us-west-1:123456789012:cluster:c") == "us-west-1"
    with pytest.raises(ValueError, match="not a regional ARN"):
        region_of_arn("mobile-backend-prod-us")


@pytest.mark.parametrize(
    ("healthy", "total", "label"),
    [
        (8, 8, "healthy (8/8 checkers OK)"),
        (2, 8, "healthy (2/8 checkers OK)"),  # Route 53: > 18 % of checkers is healthy
        (1, 8, "unhealthy (1/8 checkers OK)"),
        (0, 0, "no observations"),
    ],
)
def test_health_check_label_follows_route53s_18_percent_rule(healthy, total, label):
    assert HealthStatus(healthy, total).label == label


def test_clients_are_made_once_per_service_and_region():
    made: list[tuple[str, str]] = []
    aws = Aws(client_factory=lambda service, region: made.append((service, region)) or object())
    first = aws.client("rds", "eu-west-1")
    assert aws.client("rds", "eu-west-1") is first
    aws.client("rds", "us-west-1")
    assert made == [("rds", "eu-west-1"), ("rds", "us-west-1")]
