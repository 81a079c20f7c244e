"""WAFv2 rule building blocks shared by the edge (CLOUDFRONT) and the regional web ACLs, as
pure functions returning Pulumi input dicts (tested without mocks).

Which address a rule sees matters: a web ACL evaluates the address that connected to the
protected resource. At the edge that is the viewer; at the regional ACL behind CloudFront it
is a CloudFront edge server, shared by every viewer that edge location serves. So the regional
rate rule counts the viewer address CloudFront forwards in ``X-Forwarded-For``, and the rule
groups that judge an address (IP reputation, anonymous IPs) only mean something at the edge.

Rate limits are sized from the design load (400-600 requests a minute per region, DESIGN §1):
``rate_limit_floor`` is what the whole design peak of a region sends in one evaluation window;
a per-viewer limit below it could block a region's normal traffic if it came through one
address (a carrier-grade NAT, a hospital's proxy). The defaults are twice that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

RATE_WINDOW_SECONDS = 300
# DESIGN §1: expected load 400-600 requests/minute per region.
DESIGN_PEAK_REQUESTS_PER_MINUTE = 600
RATE_HEADROOM = 2
# CloudFront appends the viewer's address to X-Forwarded-For on every origin request.
VIEWER_ADDRESS_HEADER = "X-Forwarded-For"
ANONYMOUS_IP_GROUP = "AWSManagedRulesAnonymousIpList"
# Inside the anonymous-IP group: cloud and hosting providers. Counted, not blocked, when the
# group is on: API clients and our own CI smoke tests run on such hosts.
HOSTING_PROVIDER_RULE = "HostingProviderIPList"

RateKey = Literal["IP", "FORWARDED_IP"]


def rate_limit_floor(
    peak_per_minute: int = DESIGN_PEAK_REQUESTS_PER_MINUTE,
    window_seconds: int = RATE_WINDOW_SECONDS,
) -> int:
    """Requests a region's design peak sends in one rate-rule window."""
    return math.ceil(peak_per_minute * window_seconds / 60)


DEFAULT_RATE_LIMIT = RATE_HEADROOM * rate_limit_floor()


def visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


def managed_rule_group(group: str, *, count_rules: Sequence[str] = ()) -> dict[str, Any]:
    """An AWS managed rule group with its own actions, except ``count_rules`` (counted only)."""
    statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
    if count_rules:
        statement["rule_action_overrides"] = [
            {"name": rule, "action_to_use": {"count": {}}} for rule in count_rules
        ]
    return {
        "name": group,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": statement},
    }


def rate_limit_rule(name: str, limit: int, *, key: RateKey) -> dict[str, Any]:
    """Blocks an address that sends more than ``limit`` requests in 5 minutes. ``FORWARDED_IP``
    counts the first address of ``X-Forwarded-For``; a request whose header is not a valid
    address is treated as matching (blocked), and one without the header is not counted."""
    statement: dict[str, Any] = {
        "limit": limit,
        "aggregate_key_type": key,
        "evaluation_window_sec": RATE_WINDOW_SECONDS,
    }
    if key == "FORWARDED_IP":
        statement["forwarded_ip_config"] = {
            "header_name": VIEWER_ADDRESS_HEADER,
            "fallback_behavior": "MATCH",
        }
    return {"name": name, "action": {"block": {}}, "statement": {"rate_based_statement": statement}}


def ordered(
    rules: Sequence[dict[str, Any]],
    *,
    metric_name: Callable[[str], str],
    first_priority: int = 0,
) -> list[dict[str, Any]]:
    """``rules`` evaluated in the given order, each with its CloudWatch metric."""
    return [
        {**rule, "priority": priority, "visibility_config": visibility(metric_name(rule["name"]))}
        for priority, rule in enumerate(rules, start=first_priority)
    ]
