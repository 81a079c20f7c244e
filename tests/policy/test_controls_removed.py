"""Each R-SEC-3 / R-OBS-5 control fails the pack when its property is taken away from the real
stacks (the passing half is ``test_stacks_comply.py``).

Every case takes the mocked resource graph of a synthesized stack, removes exactly what the
control exists for (a function's environment key, a bucket's access logging, the query log of
the zone, …) and expects one violation per resource that lost it, naming that resource, and
nothing from the untouched ones. A case also asserts that the stack has something to take
away, so none of them passes by finding nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from policy import controls as c
from policy.controls import CONTROLS_BY_NAME, Res, evaluate
from tests.policy.graph import context_of, resources_of

STACKS = ("prod-global", "prod-eu", "prod-us", "dev-global", "dev-eu", "dev-us")
GLOBAL = ("prod-global", "dev-global")
REGIONAL = ("prod-eu", "prod-us", "dev-eu", "dev-us")

# (removed resources, URNs expected in violations) from a stack's resources.
Mutation = Callable[[list[Res]], tuple[list[Res], set[str]]]


def _without_prop(typ: str, prop: str) -> Mutation:
    def mutate(resources: list[Res]) -> tuple[list[Res], set[str]]:
        hit = {r.urn for r in resources if r.type == typ and prop in r.props}
        changed = [
            replace(r, props={k: v for k, v in r.props.items() if k != prop}) if r.urn in hit else r
            for r in resources
        ]
        return changed, hit

    return mutate


def _dropping(
    doomed: Callable[[Res], bool], blamed: Callable[[list[Res], list[Res]], set[str]]
) -> Mutation:
    """Remove the resources ``doomed`` selects; ``blamed(all, removed)`` names who loses."""

    def mutate(resources: list[Res]) -> tuple[list[Res], set[str]]:
        removed = [r for r in resources if doomed(r)]
        return [r for r in resources if not doomed(r)], blamed(resources, removed)

    return mutate


def _of_type(typ: str) -> Callable[[list[Res], list[Res]], set[str]]:
    return lambda resources, removed: (
        {r.urn for r in resources if r.type == typ} if removed else set()
    )


def _unlogged(resources: list[Res]) -> tuple[list[Res], set[str]]:
    """Remove buckets' logging configurations, keeping one per log bucket of this stack (a log
    bucket stays exempt only while some bucket logs into it)."""
    buckets = [r for r in resources if r.type == c.BUCKET]
    kept: dict[str, Res] = {}
    removed = []
    for logging in (r for r in resources if r.type == c.BUCKET_LOGGING):
        target = next((b for b in buckets if c.references(logging, "targetBucket", b)), None)
        if target is not None and target.urn not in kept:
            kept[target.urn] = logging
        else:
            removed.append(logging)
    blamed = {b.urn for b in buckets if any(c.references(lg, "bucket", b) for lg in removed)}
    return [r for r in resources if r not in removed], blamed


def _no_abort(resources: list[Res]) -> tuple[list[Res], set[str]]:
    def strip(rule: dict) -> dict:
        return {k: v for k, v in rule.items() if k != "abortIncompleteMultipartUpload"}

    changed = [
        replace(r, props={**r.props, "rules": [strip(rule) for rule in r.props["rules"]]})
        if r.type == c.BUCKET_LIFECYCLE
        else r
        for r in resources
    ]
    return changed, {r.urn for r in resources if r.type == c.BUCKET}


def _rate_by_connecting_address(resources: list[Res]) -> tuple[list[Res], set[str]]:
    def connecting(rule: dict) -> dict:
        statement = rule.get("statement", {})
        if "rateBasedStatement" not in statement:
            return rule
        rate = {**statement["rateBasedStatement"], "aggregateKeyType": "IP"}
        rate.pop("forwardedIpConfig", None)
        return {**rule, "statement": {**statement, "rateBasedStatement": rate}}

    regional = {r.urn for r in resources if r.type == c.WEB_ACL and r.props["scope"] == "REGIONAL"}
    changed = [
        replace(r, props={**r.props, "rules": [connecting(rule) for rule in r.props["rules"]]})
        if r.urn in regional
        else r
        for r in resources
    ]
    return changed, regional


def _warn_in_prod(resources: list[Res]) -> tuple[list[Res], set[str]]:
    configs = {r.urn for r in resources if r.type == c.CODE_SIGNING_CONFIG}
    changed = [
        replace(r, props={**r.props, "policies": {"untrustedArtifactOnDeployment": "Warn"}})
        if r.urn in configs
        else r
        for r in resources
    ]
    return changed, configs


def _alarm_on(metric: str) -> Callable[[Res], bool]:
    def watches(res: Res) -> bool:
        if res.type != c.METRIC_ALARM:
            return False
        queried = [q.get("metric") or {} for q in res.props.get("metricQueries") or []]
        return metric in {res.props.get("metricName"), *(m.get("metricName") for m in queried)}

    return watches


def _rotation_rule(res: Res) -> bool:
    return res.type == c.EVENT_RULE and "RotationFailed" in json.dumps(res.props)


CASES: dict[str, tuple[str, Mutation, Sequence[str]]] = {
    "environment key": (
        "lambda-environment-cmk",
        _without_prop(c.FUNCTION, "kmsKeyArn"),
        STACKS,
    ),
    "code signing config reference": (
        "lambda-code-signing",
        _without_prop(c.FUNCTION, "codeSigningConfigArn"),
        STACKS,
    ),
    # Warn is allowed in development: only production stacks fail with it.
    "code signing warns only": ("lambda-code-signing", _warn_in_prod, STACKS[:3]),
    "query logging": (
        "route53-query-logging",
        _dropping(lambda r: r.type == c.QUERY_LOG, _of_type(c.ZONE)),
        GLOBAL,
    ),
    "dnssec signing": (
        "route53-dnssec",
        _dropping(lambda r: r.type == c.ZONE_DNSSEC, _of_type(c.ZONE)),
        GLOBAL,
    ),
    "server access logging": ("s3-access-logging", _unlogged, STACKS),
    "abort incomplete uploads": ("s3-abort-incomplete-multipart", _no_abort, STACKS),
    "enhanced monitoring": (
        "aurora-enhanced-monitoring",
        _without_prop(c.CLUSTER_INSTANCE, "monitoringInterval"),
        REGIONAL,
    ),
    "viewer-keyed rate rule": (
        "waf-viewer-rate-limit",
        _rate_by_connecting_address,
        REGIONAL,
    ),
    "function throttles alarms": (
        "function-alarms",
        _dropping(_alarm_on("Throttles"), _of_type(c.FUNCTION)),
        STACKS,
    ),
    "function errors alarms": (
        "function-alarms",
        _dropping(_alarm_on("Errors"), _of_type(c.FUNCTION)),
        STACKS,
    ),
    "cloudfront 5xx alarm": (
        "edge-alarms",
        _dropping(_alarm_on("5xxErrorRate"), _of_type(c.DISTRIBUTION)),
        GLOBAL,
    ),
    "web acl blocks alarms": (
        "edge-alarms",
        _dropping(_alarm_on("BlockedRequests"), _of_type(c.WEB_ACL)),
        STACKS,
    ),
    "health check alarms": (
        "edge-alarms",
        _dropping(_alarm_on("HealthCheckStatus"), _of_type(c.HEALTH_CHECK)),
        REGIONAL,
    ),
    "rotation failure rule": (
        "secret-rotation-failure-alert",
        _dropping(_rotation_rule, _of_type(c.SECRET_ROTATION)),
        ("prod-global", "prod-eu", "dev-global", "dev-eu"),
    ),
}


@pytest.mark.parametrize(
    ("case", "stack"),
    [(case, stack) for case, (_, _, stacks) in CASES.items() for stack in stacks],
)
def test_removing_the_control_fails_the_pack(all_synths, dev_synths, case, stack):
    control, mutate, _ = CASES[case]
    synth = {**all_synths, **dev_synths}[stack]
    resources = resources_of(synth)
    context = context_of(synth)
    rule = [CONTROLS_BY_NAME[control]]
    assert evaluate(resources, context, rule) == [], f"{stack} violates {control} already"
    mutated, expected = mutate(resources)
    assert expected, f"{stack} has nothing {case!r} applies to"
    found = evaluate(mutated, context, rule)
    assert sorted({v.urn for v in found}) == sorted(expected), "\n".join(v.message for v in found)
    # Every message names its resource.
    by_urn = {r.urn: r for r in resources}
    for violation in found:
        assert str(by_urn[violation.urn]) in violation.message, violation.message


def test_every_new_control_has_a_removal_case():
    new = {
        "lambda-environment-cmk",
        "lambda-code-signing",
        "route53-query-logging",
        "route53-dnssec",
        "s3-access-logging",
        "s3-abort-incomplete-multipart",
        "aurora-enhanced-monitoring",
        "waf-viewer-rate-limit",
        "function-alarms",
        "edge-alarms",
        "secret-rotation-failure-alert",
    }
    assert new <= set(CONTROLS_BY_NAME)
    assert {control for control, _, _ in CASES.values()} == new
