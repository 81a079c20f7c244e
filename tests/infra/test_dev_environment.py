"""The dev environment (``Pulumi.dev-*.yaml``) is the prod program at dev size (R-STACK-3).

What may differ is configuration: capacity, concurrency, retention, deletion protection, the
domain and the data classification. What may not differ is the program: the same resources,
the same functions with the same environment variables and the same IAM statements, and no
value anywhere that assumes ``prod``.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

import settings
from contract import names

PAIRS = (("dev-global", "prod-global"), ("dev-eu", "prod-eu"), ("dev-us", "prod-us"))
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
CLUSTER = "aws:rds/cluster:Cluster"
COMPUTE_OPTIMIZER = (
    "mobile-backend:operations:ComputeOptimizer",
    "aws:computeoptimizer/enrollmentStatus:EnrollmentStatus",
)
# Types whose count follows sizing config (AZs, provisioned concurrency), not the program.
SIZED = {
    "aws:ec2/subnet:Subnet",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
}


# Only exist where provisioned concurrency does (prod's api and authorizer; none in dev).
SPILLOVER = "ProvisionedConcurrencySpilloverInvocations"
# Variables that follow optional config: dev has no legacy user system to migrate from.
OPTIONAL_VARIABLES = {"LEGACY_AUTH_URL"}


def _follows_config(resource) -> bool:
    """Resources whose existence is configuration: provisioned-concurrency spillover alarms,
    the region switch plan's approval role (regionSwitchApproval, off in dev) and the Compute
    Optimizer enrollment (computeOptimizer, off in dev)."""
    return (
        resource.inputs.get("metricName") == SPILLOVER
        or resource.name.endswith(("-approval", "-approval-policy"))
        or resource.type in COMPUTE_OPTIMIZER
    )


def _program(synth) -> Counter:
    return Counter(
        r.type for r in synth.resources if r.type not in SIZED and not _follows_config(r)
    )


@pytest.fixture(scope="module")
def pairs(all_synths, dev_synths):
    return [(dev_synths[dev], all_synths[prod]) for dev, prod in PAIRS]


def test_dev_declares_the_same_resources_as_prod(pairs):
    for dev, prod in pairs:
        assert _program(dev) == _program(prod), f"{dev.stack} vs {prod.stack}"


def test_no_dev_value_assumes_prod(dev_synths):
    for synth in dev_synths.values():
        for resource in synth.resources:
            blob = json.dumps(resource.inputs, default=str)
            assert "prod" not in blob, f"{synth.stack}: {resource} mentions prod: {blob[:300]}"


def _functions(synth):
    return {f.inputs["name"]: f for f in synth.of_type(FUNCTION)}


def _statement_ids(synth) -> dict[str, list[str]]:
    return {
        p.name: [s.get("Sid", "") for s in json.loads(p.inputs["policy"])["Statement"]]
        for p in synth.of_type(ROLE_POLICY)
        if not _follows_config(p)
    }


def test_functions_get_the_same_variables_and_grants_as_in_prod(pairs):
    for dev, prod in pairs:
        dev_fns, prod_fns = _functions(dev), _functions(prod)
        assert sorted(dev_fns) == sorted(n.replace("-prod-", "-dev-") for n in prod_fns)
        for name, function in prod_fns.items():
            twin = dev_fns[name.replace("-prod-", "-dev-")]
            variables = (function.inputs.get("environment") or {}).get("variables", {})
            twin_variables = (twin.inputs.get("environment") or {}).get("variables", {})
            assert set(twin_variables) == set(variables) - OPTIONAL_VARIABLES, name
        assert _statement_ids(dev) == _statement_ids(prod), dev.stack


def test_dev_is_small_disposable_and_short_lived(dev_synths):
    eu = dev_synths["dev-eu"]
    cluster = eu.one(CLUSTER)
    assert cluster.inputs["deletionProtection"] is False
    assert cluster.inputs["skipFinalSnapshot"] is True
    assert cluster.protect is False
    assert cluster.inputs["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 0.5,
        "maxCapacity": 2.0,
    }
    for stack in ("dev-eu", "dev-us"):
        pool = dev_synths[stack].one("aws:cognito/userPool:UserPool")
        assert pool.inputs["deletionProtection"] == "INACTIVE", stack
    global_cluster = dev_synths["dev-global"].one("aws:rds/globalCluster:GlobalCluster")
    assert global_cluster.inputs["deletionProtection"] is False
    assert global_cluster.protect is False
    assert eu.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig") == []
    retention = {
        g.inputs["retentionInDays"] for g in eu.of_type("aws:cloudwatch/logGroup:LogGroup")
    }
    assert retention == {7}
    api = _functions(eu)[names.function_name("dev", "api")]
    assert api.inputs["reservedConcurrentExecutions"] == 10


def test_prod_keeps_its_protection(all_synths):
    cluster = all_synths["prod-eu"].one(CLUSTER)
    assert (cluster.inputs["deletionProtection"], cluster.protect) == (True, True)
    assert cluster.inputs["skipFinalSnapshot"] is False
    for stack in ("prod-eu", "prod-us"):
        pool = all_synths[stack].one("aws:cognito/userPool:UserPool")
        assert pool.inputs["deletionProtection"] == "ACTIVE", stack


def test_dev_names_derive_from_the_environment(dev_synths):
    eu = dev_synths["dev-eu"]
    pool = eu.one("aws:cognito/userPool:UserPool")
    assert pool.inputs["name"] == names.user_pool_name("dev")
    topic = eu.one("aws:sns/topic:Topic", lambda r: r.inputs.get("name") is not None)
    assert topic.inputs["name"] == names.events_topic_name("dev")


class _Source(dict):
    def get(self, key, default=None):
        return super().get(key, default)


BASE = {
    "mobile-backend:role": "global",
    "mobile-backend:domain": "dev.example.com",
    "mobile-backend:regions": json.dumps({"eu-west-1": {"cidr": "10.10.0.0/16"}}),
    "mobile-backend:primaryRegion": "eu-west-1",
    "mobile-backend:alarmEmail": "ops@example.com",
    "mobile-backend:appKeys": json.dumps(
        {app: f"{app}-key-of-twenty-chars" for app in names.APP_KEY_CLIENTS}
    ),
    "aws:region": "us-east-1",
}


def _parse(**config: str):
    source = _Source(BASE | {f"mobile-backend:{k}": v for k, v in config.items()})
    return settings.parse(source, project="mobile-backend", stack="dev-global")


def test_deletion_protection_may_be_off_only_without_personal_data():
    assert (
        _parse(deletionProtection="false", dataClassification="internal").deletion_protection
        is False
    )
    assert _parse().deletion_protection is True
    with pytest.raises(settings.StackConfigError) as refused:
        _parse(deletionProtection="false", dataClassification="phi")
    (problem,) = refused.value.problems
    assert problem.key == "mobile-backend:deletionProtection"
    assert "dataClassification is 'phi'" in problem.message
    assert "dataClassification: internal" in problem.fix


def test_deletion_protection_must_be_a_boolean():
    with pytest.raises(settings.StackConfigError) as refused:
        _parse(deletionProtection="maybe")
    (problem,) = refused.value.problems
    assert problem.key == "mobile-backend:deletionProtection"
    assert "pulumi config set deletionProtection true" in problem.fix
