"""Pure pieces of the logic and identity tiers, and the identity component with a bucket."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pulumi
import pytest

from components.app_functions import api_statements, user_migration_statements
from components.identity import IDENTITY_PREFIX, Identity, IdentityArgs, own_prefix_policy
from components.regional_waf import pending_stage, previous_stage, rules
from stacks.providers import aws_provider
from tests.infra.harness import ACCOUNT, synthesize
from tests.infra.iam_checks import violations

BUCKET = "arn:aws:s3:::mobile-backend-prod-assets-eu-west-1"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/data"


def test_identity_credentials_reach_only_the_callers_own_prefix():
    policy = own_prefix_policy(BUCKET, KEY, "eu-west-1")
    objects, listing, kms = policy["Statement"]
    assert objects["Resource"] == [f"{BUCKET}/private/${{cognito-identity.amazonaws.com:sub}}/*"]
    assert set(objects["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert listing["Resource"] == [BUCKET]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        IDENTITY_PREFIX,
        f"{IDENTITY_PREFIX}*",
    ]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert violations(policy) == []


def test_api_statements_scope_presigned_uploads_to_the_uploads_prefix():
    statements = api_statements("eu-west-1", assets_bucket_name="assets", assets_key_arn=KEY)
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["PresignUploadsAndDownloads"]["Resource"] == ["arn:aws:s3:::assets/uploads/*"]
    assert "SeeUploadsPrefix" not in by_sid, "ListBucket would let the role list every upload"
    assert by_sid["EncryptUploadsWithTheBucketKey"]["Resource"] == [KEY]
    assert by_sid["EncryptUploadsWithTheBucketKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }
    assert violations({"Statement": statements}) == []


def test_migration_trigger_without_peers_gets_no_peer_grant():
    assert [s["Sid"] for s in user_migration_statements(ACCOUNT, [])] == ["FindUserPoolsByName"]


@pytest.mark.parametrize(
    ("versions", "stage"),
    [
        (None, "AWSCURRENT"),
        ([SimpleNamespace(version_stages=["AWSCURRENT"])], "AWSCURRENT"),
        (
            [
                SimpleNamespace(version_stages=["AWSCURRENT"]),
                SimpleNamespace(version_stages=["AWSPREVIOUS"]),
            ],
            "AWSPREVIOUS",
        ),
        ([{"version_stages": ["AWSPREVIOUS"]}], "AWSPREVIOUS"),
    ],
)
def test_previous_origin_verify_value_falls_back_to_current_before_a_first_rotation(
    versions, stage
):
    assert previous_stage(versions) == stage


def test_waf_rules_have_unique_priorities_and_visibility():
    ordered = rules(rate_limit=500, health_path="/api/health", current="c", previous="p")
    assert [r["priority"] for r in ordered] == list(range(len(ordered)))
    assert len({r["name"] for r in ordered}) == len(ordered)
    assert all(r["visibility_config"]["metric_name"] == r["name"] for r in ordered)
    assert all(("action" in r) != ("override_action" in r) for r in ordered)


@pytest.fixture(scope="module")
def identity_with_bucket():
    def program(settings):
        identity = Identity(
            "identity",
            IdentityArgs(
                environment="prod",
                region="eu-west-1",
                account_id=ACCOUNT,
                mfa="OFF",
                migration_function_name="mobile-backend-prod-user-migration",
                migration_alias_arn="arn:aws:lambda:eu-west-1:123456789012:function:m:live",
                migration_qualifier="live",
                web_callback_urls=[],
                mobile_callback_urls=[],
                assets_bucket_arn=BUCKET,
                assets_key_arn=KEY,
            ),
            opts=pulumi.ResourceOptions(provider=aws_provider(settings, "eu-west-1")),
        )
        return {"role": identity.authenticated_role_arn}

    return synthesize("prod-eu", program_fn=program)


def test_identity_component_grants_the_bucket_prefix_and_mfa_off(identity_with_bucket):
    synth = identity_with_bucket
    policy = synth.one("aws:iam/rolePolicy:RolePolicy")
    assert policy.inputs["role"] == "identity-authenticated-id"
    assert json.loads(policy.inputs["policy"]) == own_prefix_policy(BUCKET, KEY, "eu-west-1")
    pool = synth.one("aws:cognito/userPool:UserPool")
    assert pool.inputs["mfaConfiguration"] == "OFF"
    assert "softwareTokenMfaConfiguration" not in pool.inputs


def test_regional_waf_checks_the_header_and_rule_the_rotation_rewrites():
    from components import regional_waf
    from stacks import contract

    # WAF matches header names in lower case; CloudFront sends the contract's spelling.
    assert contract.ORIGIN_VERIFY_HEADER.lower() == regional_waf.ORIGIN_VERIFY_HEADER
    assert regional_waf.ORIGIN_VERIFY_RULE == contract.ORIGIN_VERIFY_RULE_NAME


@pytest.mark.parametrize(
    ("stages", "stage"),
    [
        ([], "AWSCURRENT"),
        (["AWSCURRENT", "AWSPREVIOUS"], "AWSCURRENT"),
        (["AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"], "AWSPENDING"),
    ],
)
def test_pending_origin_verify_value_is_read_only_while_a_rotation_runs(stages, stage):
    versions = [SimpleNamespace(version_stages=[s]) for s in stages]
    assert pending_stage(versions) == stage
