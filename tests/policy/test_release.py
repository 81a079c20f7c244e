"""scripts/release.py: the deploy workflow's release step, against stubbed Lambda and
CodeDeploy (botocore Stubber): what it starts, in which group, and when it stops."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from contract import names
from scripts.release import ReleaseError, release

ENV = "prod"


def clients():
    lam = boto3.client("lambda", region_name="eu-west-1")
    deploy = boto3.client("codedeploy", region_name="eu-west-1")
    return lam, deploy, Stubber(lam), Stubber(deploy)


def expect_versions(stub: Stubber, function: str, live: str, versions: list[str]) -> None:
    stub.add_response(
        "get_alias",
        {"FunctionVersion": live, "Name": names.LIVE_ALIAS},
        {"FunctionName": function, "Name": names.LIVE_ALIAS},
    )
    stub.add_response(
        "list_versions_by_function",
        {"Versions": [{"Version": v} for v in ["$LATEST", *versions]]},
        {"FunctionName": function},
    )


def test_a_function_behind_is_released_in_its_own_group_and_one_already_live_is_left_alone():
    lam, deploy, lam_stub, deploy_stub = clients()
    api, authorizer = names.function_name(ENV, "api"), names.function_name(ENV, "authorizer")
    expect_versions(lam_stub, api, "9", ["8", "9", "10"])
    # Parameters are checked on the recorded call below (the app spec is a JSON string).
    deploy_stub.add_response("create_deployment", {"deploymentId": "d-1"})
    deploy_stub.add_response("get_deployment", {"deploymentInfo": {"status": "InProgress"}})
    deploy_stub.add_response("get_deployment", {"deploymentInfo": {"status": "Succeeded"}})
    expect_versions(lam_stub, authorizer, "4", ["3", "4"])
    calls = []
    original = deploy.create_deployment

    def recording(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    deploy.create_deployment = recording
    with lam_stub, deploy_stub:
        released = release(
            lam, deploy, ENV, functions=("api", "authorizer"), sleep=lambda _: None, out=str
        )
    assert released == [api]
    (call,) = calls
    assert call["applicationName"] == names.codedeploy_application_name(ENV)
    assert call["deploymentGroupName"] == api
    spec = json.loads(call["revision"]["appSpecContent"]["content"])
    properties = spec["Resources"][0][names.LIVE_ALIAS]["Properties"]
    # Versions compare as numbers: "10" is newer than "9".
    assert properties == {
        "Name": api,
        "Alias": names.LIVE_ALIAS,
        "CurrentVersion": "9",
        "TargetVersion": "10",
    }


def test_a_rolled_back_release_stops_before_the_next_function_and_says_why():
    lam, deploy, lam_stub, deploy_stub = clients()
    api = names.function_name(ENV, "api")
    expect_versions(lam_stub, api, "1", ["1", "2"])
    deploy_stub.add_response("create_deployment", {"deploymentId": "d-2"})
    deploy_stub.add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "status": "Stopped",
                "errorInformation": {"message": "alarm api-errors fired"},
                "rollbackInfo": {"rollbackDeploymentId": "d-3"},
            }
        },
    )
    with lam_stub, deploy_stub, pytest.raises(ReleaseError) as failure:
        # authorizer is never asked for: lam_stub has no responses for it
        release(lam, deploy, ENV, functions=("api", "authorizer"), sleep=lambda _: None, out=str)
    assert (
        str(failure.value) == f"{api}: deployment d-2 Stopped (rolled back): alarm api-errors fired"
    )
