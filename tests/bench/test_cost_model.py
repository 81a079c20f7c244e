"""R-PERF-3: the cost model reads the synthesized stacks, prices every resource type they
declare, and holds the dev environment to the idle budgets its stack files set."""

from __future__ import annotations

import pytest

from bench import cost
from bench.model import models, route_costs
from bench.prices import HOURS_PER_MONTH, PRICES, SECONDS_PER_MONTH, price

DEV = ("dev-global", "dev-eu", "dev-us")


@pytest.fixture(scope="module")
def stacks(all_synths, dev_synths):
    return {**all_synths, **dev_synths}


@pytest.fixture(scope="module")
def idle(stacks):
    return {name: cost.idle_cost(synth) for name, synth in stacks.items()}


def _lines(stack_cost, kind):
    return [line for line in stack_cost.lines if line.kind == kind]


def test_every_resource_type_is_priced_or_has_a_reason_to_cost_nothing_idle(idle):
    unpriced = {name: c.unpriced for name, c in idle.items() if c.unpriced}
    assert not unpriced, (
        f"resource types without an idle-cost rule: {unpriced}. Fix: price them in "
        "bench/cost.py IDLE_RULES (with a dated source in bench/prices.py) or list them in "
        "NO_IDLE_CHARGE with the reason"
    )
    assert not set(cost.IDLE_RULES) & set(cost.NO_IDLE_CHARGE)
    assert {line.price_key for c in idle.values() for line in c.lines} <= set(PRICES)


def test_dev_idle_cost_stays_within_the_budgets_in_its_stack_files(idle):
    for stack in DEV:
        found = idle[stack]
        assert found.budget is not None, f"{stack}: set mobile-backend:idleCostBudget"
        assert found.total <= found.budget, (
            f"{stack}: modelled idle cost {found.total:.2f} USD/month exceeds its budget "
            f"{found.budget:.2f} ({found.by_kind()})"
        )


def test_dev_costs_less_idle_than_prod_in_every_region(idle):
    assert idle["dev-eu"].total < idle["prod-eu"].total
    assert idle["dev-us"].total < idle["prod-us"].total


def test_interface_endpoints_are_billed_per_az_they_sit_in(stacks, idle):
    for name in ("prod-eu", "dev-eu"):
        endpoints = [
            e
            for e in stacks[name].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
            if e.inputs["vpcEndpointType"] == "Interface"
        ]
        attachments = sum(len(e.inputs["subnetIds"]) for e in endpoints)
        expected = attachments * HOURS_PER_MONTH * price("vpc_interface_endpoint_hour")
        billed = sum(line.usd for line in _lines(idle[name], "VPC interface endpoints"))
        assert billed == pytest.approx(expected)
    # prod-eu: 3 AZs, dev-eu: vpcEndpointAzCount 1.
    prod = sum(line.usd for line in _lines(idle["prod-eu"], "VPC interface endpoints"))
    dev = sum(line.usd for line in _lines(idle["dev-eu"], "VPC interface endpoints"))
    assert prod == pytest.approx(3 * dev)


def test_serverless_instances_at_minimum_capacity_and_the_proxy_minimum(stacks, idle):
    synth = stacks["prod-eu"]
    (cluster,) = synth.of_type("aws:rds/cluster:Cluster")
    minimum = cluster.inputs["serverlessv2ScalingConfiguration"]["minCapacity"]
    instances = synth.of_type("aws:rds/clusterInstance:ClusterInstance")
    aurora = sum(line.usd for line in _lines(idle["prod-eu"], "Aurora Serverless v2"))
    assert aurora == pytest.approx(
        len(instances) * minimum * HOURS_PER_MONTH * price("aurora_serverless_acu_hour")
    )
    proxy = sum(line.usd for line in _lines(idle["prod-eu"], "RDS Proxy"))
    # 2 x 0.5 ACU is below the 8-ACU minimum the proxy is billed for.
    assert proxy == pytest.approx(8 * HOURS_PER_MONTH * price("rds_proxy_acu_hour"))


def test_provisioned_concurrency_is_billed_by_memory_and_dev_has_none(stacks, idle):
    synth = stacks["prod-eu"]
    memory = {f.inputs["name"]: f.inputs["memorySize"] for f in synth.of_type(cost.FUNCTION)}
    expected = sum(
        c.inputs["provisionedConcurrentExecutions"]
        * memory[c.inputs["functionName"]]
        / 1024
        * SECONDS_PER_MONTH
        * price("lambda_arm_provisioned_gb_second")
        for c in synth.of_type(
            "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
        )
    )
    assert expected > 0
    billed = sum(line.usd for line in _lines(idle["prod-eu"], "Lambda provisioned concurrency"))
    assert billed == pytest.approx(expected)
    for stack in DEV:
        assert not _lines(idle[stack], "Lambda provisioned concurrency"), stack


def test_snap_start_is_billed_for_its_cache_where_a_function_uses_it(stacks, idle):
    for name, synth in stacks.items():
        snapped = [
            f
            for f in synth.of_type(cost.FUNCTION)
            if (f.inputs.get("snapStart") or {}).get("applyOn") == "PublishedVersions"
        ]
        cached = _lines(idle[name], "Lambda SnapStart cache")
        assert len(cached) == len(snapped), name
        for function, line in zip(snapped, cached, strict=True):
            expected = (
                function.inputs["memorySize"]
                / 1024
                * SECONDS_PER_MONTH
                * price("snapstart_cache_gb_second")
            )
            assert line.usd == pytest.approx(expected)


def test_alarm_and_health_check_billing_units():
    assert cost.alarm_metrics({"metricName": "Errors"}) == 1
    math_alarm = {"metricQueries": [{"metric": {}}, {"metric": {}}, {"expression": "a/b"}]}
    assert cost.alarm_metrics(math_alarm) == 2
    band = {"thresholdMetricId": "ad1", "metricQueries": [{"metric": {}}, {"expression": "AD"}]}
    assert cost.alarm_metrics(band) == 3
    assert cost.health_check_features({"type": "HTTPS", "requestInterval": 10}) == [
        "HTTPS",
        "10 s interval",
    ]
    assert cost.health_check_features({"type": "HTTP", "requestInterval": 30}) == []


def test_a_forwarded_write_costs_its_round_trip_in_billed_lambda_duration(stacks):
    found = [m for m in models(stacks) if m.facts.environment == "prod"]
    by_stack = {
        (c.stack, c.route): c
        for c in route_costs(stacks, found)
        if c.route in ("PUT /me/preferences", "GET /me")
    }
    put_eu, put_us = (
        by_stack[("prod-eu", "PUT /me/preferences")],
        by_stack[("prod-us", "PUT /me/preferences")],
    )
    assert put_us.per_million > put_eu.per_million
    # Reads are answered in region: no difference beyond rounding of the billed millisecond.
    me_eu, me_us = by_stack[("prod-eu", "GET /me")], by_stack[("prod-us", "GET /me")]
    assert me_us.per_million == pytest.approx(me_eu.per_million, abs=0.03)
    assert put_us.per_million - put_eu.per_million > 1.5  # ~153 ms x 1 GB per request
