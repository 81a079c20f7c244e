"""R-FN-1 / R-SEC-1: the shared Lambda function component."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.function import AsyncInvocation, Function, FunctionArgs, VpcPlacement
from contract import environment as env
from contract.functions import spec as function_spec
from policy.controls import least_privilege_problems
from stacks.providers import aws_provider
from tests.infra.harness import ACCOUNT, synthesize
from tests.infra.security import function_security

AUTHORIZER_ENV = {
    env.USER_POOL_NAME: "mobile-backend-prod-users",
    env.USER_POOL_REGIONS: '["eu-west-1"]',
    env.TOKEN_USE: "id",
    env.APP_CLIENT_NAMES: '["web"]',
}


def build(vpc: bool, provisioned: int, async_: bool, environment=None, snap_start=False):
    def program(settings):
        provider = aws_provider(settings, "eu-west-1")
        fn = Function(
            "orders",
            FunctionArgs(
                spec=function_spec("authorizer"),
                function_name="mobile-backend-prod-orders",
                code=pulumi.AssetArchive({"handlers/__init__.py": pulumi.StringAsset("")}),
                account_id=ACCOUNT,
                region="eu-west-1",
                logs_key_arn="arn:aws:kms:eu-west-1:123456789012:key/logs",
                log_retention_days=365,
                reserved_concurrency=7,
                security=function_security("eu-west-1", provider),
                statements=[
                    {
                        "Effect": "Allow",
                        "Action": ["sns:Publish"],
                        "Resource": ["arn:aws:sns:eu-west-1:123456789012:events"],
                    }
                ],
                environment=AUTHORIZER_ENV if environment is None else environment,
                provisioned_concurrency=provisioned,
                snap_start=snap_start,
                vpc=VpcPlacement(["subnet-a", "subnet-b"], ["sg-1"]) if vpc else None,
                async_invocation=AsyncInvocation("arn:aws:sqs:eu-west-1:123456789012:dlq")
                if async_
                else None,
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        return {"alias": fn.alias_arn}

    return synthesize("prod-eu", program_fn=program)


@pytest.fixture(scope="module")
def full():
    return build(vpc=True, provisioned=3, async_=True)


@pytest.fixture(scope="module")
def minimal():
    return build(vpc=False, provisioned=0, async_=False)


def test_function_runtime_tracing_concurrency_and_logging(full):
    fn = full.one("aws:lambda/function:Function")
    assert fn.inputs["runtime"] == "python3.12"
    assert fn.inputs["architectures"] == ["arm64"]
    assert fn.inputs["handler"] == "handlers.authorizer.main.handler"
    assert (fn.inputs["timeout"], fn.inputs["memorySize"]) == (5, 256), "from the spec"
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    assert fn.inputs["reservedConcurrentExecutions"] == 7
    assert fn.inputs["publish"] is True
    assert fn.inputs["loggingConfig"]["logGroup"] == "/aws/lambda/mobile-backend-prod-orders"
    assert fn.inputs["vpcConfig"] == {
        "subnetIds": ["subnet-a", "subnet-b"],
        "securityGroupIds": ["sg-1"],
    }
    assert fn.inputs["environment"]["variables"] == {
        variable.name: value for variable, value in AUTHORIZER_ENV.items()
    }


def test_log_group_is_explicit_encrypted_and_retained(full):
    group = full.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/aws/lambda/mobile-backend-prod-orders"
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"].endswith("key/logs")


def test_role_trusts_lambda_in_this_account_and_holds_only_its_statements(full):
    role = full.one("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = json.loads(full.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert "sns:Publish" in actions and "logs:PutLogEvents" in actions
    assert "ec2:CreateNetworkInterface" in actions
    assert least_privilege_problems(policy) == []
    logs = next(s for s in policy["Statement"] if s["Sid"] == "WriteOwnLogGroup")
    # The mock ARN of the "orders-logs" group: the statement names that group only.
    assert logs["Resource"] == [f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:orders-logs:*"]


def test_functions_outside_the_vpc_get_no_eni_permissions(minimal):
    policy = json.loads(minimal.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert not any(a.startswith("ec2:") for a in actions)
    assert "vpcConfig" not in minimal.one("aws:lambda/function:Function").inputs


def test_alias_carries_provisioned_concurrency(full, minimal):
    alias = full.one("aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live"
    pc = full.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert pc.inputs["qualifier"] == "live"
    assert pc.inputs["provisionedConcurrentExecutions"] == 3
    assert (
        minimal.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
        == []
    )


def test_snap_start_applies_to_the_published_version_the_alias_serves(full):
    snapped = build(vpc=False, provisioned=0, async_=False, snap_start=True)
    fn = snapped.one("aws:lambda/function:Function")
    assert fn.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    assert fn.inputs["publish"] is True
    # The alias serves the version publishing just created (the mocks answer version "1"),
    # never $LATEST, which SnapStart does not cover.
    alias = snapped.one("aws:lambda/alias:Alias")
    assert alias.inputs["functionVersion"] == "1"
    assert "snapStart" not in full.one("aws:lambda/function:Function").inputs


def test_snap_start_with_provisioned_concurrency_fails_synthesis():
    with pytest.raises(Exception, match="SnapStart and provisioned concurrency"):
        build(vpc=False, provisioned=1, async_=False, snap_start=True)


def test_async_invocations_retry_then_go_to_the_failure_destination(full, minimal):
    config = full.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert config.inputs["maximumRetryAttempts"] == 2
    assert config.inputs["destinationConfig"]["onFailure"]["destination"].endswith(":dlq")
    assert config.inputs["qualifier"] == "live"
    assert minimal.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig") == []


# --- The environment against the handler's schema (contract/environment.py) ---------------


@pytest.mark.parametrize("missing", sorted(AUTHORIZER_ENV, key=lambda v: v.name))
def test_a_missing_required_variable_fails_synthesis_naming_function_and_variable(missing):
    environment = {k: v for k, v in AUTHORIZER_ENV.items() if k != missing}
    with pytest.raises(pulumi.RunError) as failure:
        build(vpc=False, provisioned=0, async_=False, environment=environment)
    message = str(failure.value)
    assert f"function authorizer: {missing.name} is not set" in message
    assert "mobile-backend-prod-orders" in message


def test_a_variable_the_handler_never_reads_fails_synthesis():
    typo = env.Variable("USER_POOL_NAMES")
    with pytest.raises(pulumi.RunError, match="USER_POOL_NAMES is not read by the authorizer"):
        build(vpc=False, provisioned=0, async_=False, environment={**AUTHORIZER_ENV, typo: "x"})


def test_a_variable_the_lambda_runtime_owns_fails_synthesis():
    with pytest.raises(pulumi.RunError, match="AWS_REGION is set by the Lambda runtime"):
        build(
            vpc=False,
            provisioned=0,
            async_=False,
            environment={**AUTHORIZER_ENV, env.AWS_REGION: "eu-west-1"},
        )


def test_a_value_the_handler_would_refuse_fails_synthesis():
    # The handler's own parser runs on the resolved values: an empty region list would make
    # the authorizer refuse every token, so the deploy fails instead.
    with pytest.raises(pulumi.RunError) as failure:
        build(
            vpc=False,
            provisioned=0,
            async_=False,
            environment={**AUTHORIZER_ENV, env.USER_POOL_REGIONS: "[]"},
        )
    assert "function authorizer (mobile-backend-prod-orders): USER_POOL_REGIONS" in str(
        failure.value
    )
