"""scripts/verify_code_signing.py, the deploy workflow's post-deploy check that every function
runs signed code (R-SEC-3), against Lambda's real API shapes (botocore Stubber)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from scripts import verify_code_signing as verify

CONFIG_ARN = "arn:aws:lambda:eu-west-1:123456789012:code-signing-config:csc-0123456789abcdef0"
PROFILE_VERSION = "arn:aws:signer:eu-west-1:123456789012:/signing-profiles/p/v1"
JOB = "arn:aws:signer:eu-west-1:123456789012:/signing-jobs/0123"


def _client():
    client = boto3.client(
        "lambda", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def _list(stub: Stubber, *functions: str) -> None:
    stub.add_response(
        "list_functions",
        {"Functions": [{"FunctionName": name} for name in functions]},
        {},
    )


def _function(
    stub: Stubber, name: str, *, signed: bool = True, policy: str = "Enforce", config: bool = True
) -> None:
    configuration = {"FunctionName": name}
    if signed:
        configuration |= {"SigningJobArn": JOB, "SigningProfileVersionArn": PROFILE_VERSION}
    stub.add_response(
        "get_function_configuration",
        configuration,
        {"FunctionName": name, "Qualifier": "live"},
    )
    stub.add_response(
        "get_function_code_signing_config",
        {"CodeSigningConfigArn": CONFIG_ARN if config else "", "FunctionName": name},
        {"FunctionName": name},
    )
    if not config:
        return
    stub.add_response(
        "get_code_signing_config",
        {
            "CodeSigningConfig": {
                "CodeSigningConfigId": "csc-0123456789abcdef0",
                "CodeSigningConfigArn": CONFIG_ARN,
                "AllowedPublishers": {"SigningProfileVersionArns": [PROFILE_VERSION]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
                "LastModified": "2026-12-05T00:00:00Z",
            }
        },
        {"CodeSigningConfigArn": CONFIG_ARN},
    )


def test_signed_functions_under_an_enforcing_config_pass():
    client, stub = _client()
    _list(
        stub, "mobile-backend-prod-api", "someone-elses-function", "mobile-backend-prod-subscriber"
    )
    _function(stub, "mobile-backend-prod-api")
    _function(stub, "mobile-backend-prod-subscriber")
    with stub:
        assert verify.problems(client, "prod") == []
    stub.assert_no_pending_responses()


def test_unsigned_code_a_missing_config_and_warn_are_each_reported():
    client, stub = _client()
    _list(
        stub, "mobile-backend-prod-api", "mobile-backend-prod-migrations", "mobile-backend-prod-x"
    )
    _function(stub, "mobile-backend-prod-api", signed=False)
    _function(stub, "mobile-backend-prod-migrations", config=False)
    _function(stub, "mobile-backend-prod-x", policy="Warn")
    with stub:
        assert verify.problems(client, "prod") == [
            "mobile-backend-prod-api:live runs code no signing job produced",
            "mobile-backend-prod-migrations has no code signing config",
            "mobile-backend-prod-x: its code signing config only warns about unsigned code",
        ]


def test_warn_is_accepted_for_a_development_environment_when_asked():
    client, stub = _client()
    _list(stub, "mobile-backend-dev-api")
    _function(stub, "mobile-backend-dev-api", policy="Warn")
    with stub:
        assert verify.problems(client, "dev", allow_warn=True) == []


@pytest.mark.parametrize("functions", [(), ("mobile-backend-dev-api",)])
def test_a_region_without_the_environments_functions_is_a_problem(functions):
    # Checking the wrong region or environment must not pass silently.
    client, stub = _client()
    _list(stub, *functions)
    with stub:
        assert verify.problems(client, "prod") == [
            "no function named mobile-backend-prod-* in this region"
        ]
