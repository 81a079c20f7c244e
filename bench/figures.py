"""Every latency figure the model uses that this machine cannot measure, with its source.

A figure is a p50 and a p99 in milliseconds. Where a source gives a range ("10-30 ms"), the
low end is taken as the p50 and the high end as the p99; where it gives one average, both are
that average (the hop then shifts every percentile by exactly that much). Sources were read on
2026-12-05 from stored copies of the pages named; dates are the sources' own where they give
one. What this project measures itself (handler time, cold init, round trips per route) comes
from bench/profile.json, written by ``make bench``.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

READ_ON = "2026-12-05"


@dataclass(frozen=True)
class Figure:
    name: str
    p50: float
    p99: float
    source: str

    def scaled(self, factor: float, name: str | None = None) -> Figure:
        return Figure(name or self.name, self.p50 * factor, self.p99 * factor, self.source)


OPENSIGNAL = (
    "Opensignal, State of Mobile: USA (May 2019): 4G latency 44.1-66.4 ms across states, "
    "https://www.telecomengine.com/article/opensignal-benchmarks-5g-readiness-with-new-usa-analysis/"
)
REGION_TABLE = (
    "'Latency Between AWS Global Regions' average RTT table (2017), "
    "https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html"
)

# The phone's round trip to its CloudFront edge over a reused HTTP/2 connection.
VIEWER_RTT = Figure("viewer <-> CloudFront edge (mobile)", 44.1, 66.4, OPENSIGNAL)

# CloudFront edge -> the serving region's API Gateway, on a kept-alive origin connection.
# Latency routing sends a viewer to the nearest region: the p50 viewer is near it, the p99 one
# across the continent (US: the east coast to us-west-1; EU: no wider pair in the table).
EDGE_TO_ORIGIN = {
    "eu-west-1": Figure(
        "edge <-> eu-west-1 (Frankfurt edge)", 19.6, 19.6, f"Ireland-Frankfurt, {REGION_TABLE}"
    ),
    "us-west-1": Figure(
        "edge <-> us-west-1 (west coast p50, east coast p99)",
        19.5,
        72.7,
        f"Oregon-N. California 19.46 ms, N. Virginia-N. California 72.74 ms, {REGION_TABLE}",
    ),
}

# A statement forwarded by Aurora global write forwarding, or a call to another region.
INTER_REGION_RTT = {
    frozenset({"eu-west-1", "us-west-1"}): Figure(
        "us-west-1 <-> eu-west-1 round trip", 153.2, 153.2, f"N. California-Ireland, {REGION_TABLE}"
    ),
}

API_GATEWAY = Figure(
    "API Gateway REST overhead",
    10.0,
    30.0,
    "'API Gateway itself typically adds only 10-30 milliseconds of overhead for REST APIs', "
    "https://www.smplogs.com/patterns/apigateway/high-latency",
)
LAMBDA_INVOKE = Figure(
    "API Gateway -> Lambda, warm invoke",
    1.0,
    2.0,
    "warm start 'typically around ~1-2 ms', https://imarck.dev/blog/art_1_lambda_latency",
)
PROXY_ROUND_TRIP = Figure(
    "Lambda -> RDS Proxy -> Aurora, one round trip",
    1.0,
    3.0,
    "RDS Proxy per-statement overhead '~1-3 ms', "
    "https://www.elevarq.com/docs/pgagroal-container/connection-path",
)
AWS_CALL = Figure(
    "AWS API call in the region (SNS, S3)",
    16.2,
    105.0,
    "SQS standard producer-to-consumer latency P50 16.2 / P99 105 ms, eu-west-1, Sept 2022, an "
    "upper bound for one API round trip (it holds a send and a receive), "
    "https://bitesizedserverless.com/bite/serverless-messaging-latency-compared/",
)

# Cold starts.
COLD_SHARE = 0.01
COLD_SHARE_SOURCE = (
    "'cold starts typically occur in under 1% of invocations', AWS Compute Blog, Operating "
    "Lambda: Performance optimization - Part 1, "
    "https://aws.amazon.com/blogs/compute/operating-lambda-performance-optimization-part-1/"
)
SANDBOX = Figure(
    "new execution environment and code download",
    100.0,
    100.0,
    "'~100ms, including the function code download', https://imarck.dev/blog/art_1_lambda_latency",
)
SNAPSTART_RESTORE = Figure(
    "SnapStart restore",
    140.0,
    400.0,
    "no restore figure is published for Python; Java 21 + SnapStart P50 90-140 ms, P99 "
    "200-400 ms (upper ends taken), 'Cold Starts Are Dead', Eric Johnson (AWS), April 2026, "
    "https://edjgeek.com/blog/lambda-cold-starts-dead",
)
# First use after a cold start of what the handlers import lazily (FACTS.md, measured here).
FIRST_PSYCOPG = Figure(
    "psycopg import on first query", 70.0, 70.0, "FACTS.md (measured here): psycopg ~70 ms"
)
FIRST_BOTO3 = Figure(
    "boto3 import and first client",
    200.0,
    245.0,
    "FACTS.md (measured here): boto3 ~150 ms, first client 50-95 ms",
)
# PostgreSQL connection over TLS: TCP handshake, SSLRequest, TLS 1.3 handshake, startup and
# authentication (the proxy checks the IAM token): four round trips to the proxy.
DB_CONNECT_ROUND_TRIPS = 4
# Lambda allocates CPU in proportion to memory, one full vCPU at 1,769 MB; this machine's
# CPU-bound figures (handler time, init) are scaled by 1769 / memory below that.
FULL_VCPU_MB = 1769
FULL_VCPU_SOURCE = (
    "'At 1,769 MB, a function has the equivalent of one vCPU', AWS Lambda Developer Guide, "
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html"
)

# Load and sessions.
DESIGN_PEAK_RPS = 600 / 60  # DESIGN.md §1: 400-600 requests/minute; all of it in one region
# Assumption (no source): a phone session makes 10 requests within the authorizer's TTL, so
# its first request opens a connection (TCP + TLS 1.3: two viewer round trips) and misses the
# authorizer cache, and the other nine do neither.
REQUESTS_PER_SESSION = 10
NEW_CONNECTION_VIEWER_TRIPS = 2

SLO_MS = {"p50": 100.0, "p95": 300.0, "p99": 500.0}
Z99 = NormalDist().inv_cdf(0.99)


def cpu_scale(memory_mb: float) -> float:
    return max(1.0, FULL_VCPU_MB / memory_mb)


def inter_region(a: str, b: str) -> Figure:
    try:
        return INTER_REGION_RTT[frozenset({a, b})]
    except KeyError:
        raise KeyError(
            f"no round-trip figure between {a} and {b}: add one with its source to "
            "bench/figures.py INTER_REGION_RTT"
        ) from None


def edge_to_origin(region: str) -> Figure:
    try:
        return EDGE_TO_ORIGIN[region]
    except KeyError:
        raise KeyError(
            f"no edge-to-origin figure for {region}: add one with its source to "
            "bench/figures.py EDGE_TO_ORIGIN"
        ) from None
