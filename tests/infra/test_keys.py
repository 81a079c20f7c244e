"""Customer-managed keys: one per purpose, rotating, with policies scoped to the account."""

from __future__ import annotations

import json

import pytest

from components.policy_documents import KEY_PURPOSES, account_root, key_policy
from policy.controls import least_privilege_problems
from tests.infra.harness import ACCOUNT


def test_every_key_in_every_stack_rotates_and_waits_30_days(all_synths):
    for stack, synth in all_synths.items():
        keys = synth.of_type("aws:kms/key:Key")
        assert keys, stack
        for key in keys:
            assert key.inputs["deletionWindowInDays"] == 30, f"{stack}: {key}"
            if key.name == "edge-dnssec-key":
                continue
            assert key.inputs["enableKeyRotation"] is True, f"{stack}: {key}"
            assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT", f"{stack}: {key}"


def test_the_only_signing_key_is_dnssec_and_cannot_be_destroyed(all_synths):
    signing = [
        (stack, key)
        for stack, synth in all_synths.items()
        for key in synth.of_type("aws:kms/key:Key")
        if key.inputs["keyUsage"] != "ENCRYPT_DECRYPT"
    ]
    assert [(stack, key.name) for stack, key in signing] == [("prod-global", "edge-dnssec-key")]
    key = signing[0][1]
    # AWS cannot rotate an asymmetric key; losing it takes the signed zone off the Internet.
    assert (key.inputs["keyUsage"], key.inputs["customerMasterKeySpec"]) == (
        "SIGN_VERIFY",
        "ECC_NIST_P256",
    )
    assert "enableKeyRotation" not in key.inputs and key.protect is True


def test_regional_stacks_have_one_key_per_purpose_with_alias(regional_synths):
    for stack, synth in regional_synths.items():
        # The us-east-1 key of the health-check alarm topic is tested with the alarms.
        in_region = [r for r in synth.resources if not r.name.startswith("health-")]
        names = sorted(k.name for k in in_region if k.type == "aws:kms/key:Key")
        assert names == sorted(f"keys-{p}" for p in KEY_PURPOSES), stack
        aliases = sorted(a.inputs["name"] for a in in_region if a.type == "aws:kms/alias:Alias")
        assert aliases == sorted(f"alias/mobile-backend/prod/{p}" for p in KEY_PURPOSES), stack


def test_global_aliases_do_not_collide_with_regional_ones(global_synth, regional_synths):
    global_aliases = {a.inputs["name"] for a in global_synth.of_type("aws:kms/alias:Alias")}
    for synth in regional_synths.values():
        regional_aliases = {a.inputs["name"] for a in synth.of_type("aws:kms/alias:Alias")}
        assert not global_aliases & regional_aliases


def test_logs_key_admits_only_cloudwatch_logs_of_this_account_and_region(eu_synth):
    policy = json.loads(eu_synth.named("keys-logs").inputs["policy"])
    service = next(s for s in policy["Statement"] if "Service" in s["Principal"])
    assert service["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert service["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:*"
    )


def test_data_and_secrets_keys_have_no_service_principals(eu_synth):
    for purpose in ("data", "secrets"):
        policy = json.loads(eu_synth.named(f"keys-{purpose}").inputs["policy"])
        assert [s["Principal"] for s in policy["Statement"]] == [{"AWS": account_root(ACCOUNT)}]


def test_messaging_key_admits_publishing_services_for_this_account_only():
    policy = key_policy("messaging", ACCOUNT, "eu-west-1")
    service = policy["Statement"][1]
    assert set(service["Principal"]["Service"]) == {
        "sns.amazonaws.com",
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    }
    assert service["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert "kms:*" not in service["Action"]


def test_unknown_purpose_is_refused():
    with pytest.raises(ValueError, match="unknown key purpose"):
        key_policy("everything", ACCOUNT, "eu-west-1")


def test_no_role_policy_in_any_stack_allows_everything(all_synths):
    for stack, synth in all_synths.items():
        for policy in synth.of_type("aws:iam/rolePolicy:RolePolicy"):
            assert least_privilege_problems(json.loads(policy.inputs["policy"])) == [], (
                f"{stack}: {policy}"
            )


def test_replicated_secrets_key_is_multi_region_with_a_replica_per_serving_region(global_synth):
    primary = global_synth.one("aws:kms/key:Key", lambda r: r.name.startswith("replicated"))
    assert primary.inputs["multiRegion"] is True
    assert primary.inputs["enableKeyRotation"] is True
    assert global_synth.region_of(primary) == "eu-west-1"
    replicas = global_synth.of_type("aws:kms/replicaKey:ReplicaKey")
    assert [global_synth.region_of(r) for r in replicas] == ["us-west-1"]
    assert replicas[0].inputs["primaryKeyArn"].endswith(f":{primary.name}")
    arns = global_synth.outputs["replicatedSecretsKeyArns"]
    assert set(arns) == {"eu-west-1", "us-west-1"}
    assert arns["us-west-1"].startswith("arn:aws:kms:us-west-1:")
