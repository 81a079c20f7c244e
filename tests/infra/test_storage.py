"""R-S3-1…3: access-log buckets and the assets buckets replicated both ways (global stack)."""

from __future__ import annotations

import json

import pytest

from components.bucket_policies import (
    bucket_name,
    lifecycle_rules,
    replication_role_policy,
    replication_rule,
)
from components.policy_documents import wildcard_violations
from stacks import contract
from tests.infra.harness import ACCOUNT

REGIONS = ("eu-west-1", "us-west-1")
PEER = {"eu-west-1": "us-west-1", "us-west-1": "eu-west-1"}


def _assets_bucket(synth, region):
    return synth.named(f"assets-{region}")


def _for_bucket(synth, typ, bucket):
    found = [r for r in synth.of_type(typ) if r.inputs.get("bucket") == f"{bucket.name}-id"]
    assert len(found) == 1, f"expected one {typ} for {bucket}, found {len(found)}"
    return found[0]


def _assets_key(synth, region):
    return synth.named(f"assets-{region}-keys-data")


def _mock_arn(synth, resource, service):
    """What the mocks answered as the resource's ARN."""
    assert resource.outputs["arn"].startswith(f"arn:aws:{service}:"), resource
    return resource.outputs["arn"]


@pytest.mark.parametrize("region", REGIONS)
def test_assets_bucket_lives_in_its_region_with_a_deterministic_name(global_synth, region):
    bucket = _assets_bucket(global_synth, region)
    assert global_synth.region_of(bucket) == region, bucket
    assert bucket.inputs["bucket"] == f"mobile-backend-prod-assets-{region}-{ACCOUNT}"
    assert bucket.inputs.get("forceDestroy") is False, bucket


@pytest.mark.parametrize("region", REGIONS)
def test_assets_bucket_is_private_versioned_and_acl_free(global_synth, region):
    bucket = _assets_bucket(global_synth, region)
    block = _for_bucket(
        global_synth, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket
    )
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block.inputs[flag] is True, f"{bucket}: {flag}"
    ownership = _for_bucket(
        global_synth, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket
    )
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced", bucket
    versioning = _for_bucket(global_synth, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled", bucket
    assert global_synth.region_of(versioning) == region


@pytest.mark.parametrize("region", REGIONS)
def test_assets_bucket_uses_its_regional_kms_key_with_bucket_keys(global_synth, region):
    bucket = _assets_bucket(global_synth, region)
    key = _assets_key(global_synth, region)
    assert global_synth.region_of(key) == region, key
    assert key.inputs["enableKeyRotation"] is True, key
    sse = _for_bucket(
        global_synth,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        bucket,
    )
    (rule,) = sse.inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms", bucket
    assert default["kmsMasterKeyId"] == _mock_arn(global_synth, key, "kms"), bucket
    assert rule["bucketKeyEnabled"] is True, bucket
    alias = global_synth.named(f"assets-{region}-keys-data-alias")
    assert alias.inputs["name"] == "alias/mobile-backend/prod/assets/data"


@pytest.mark.parametrize("region", REGIONS)
def test_assets_bucket_policy_denies_plain_http(global_synth, region):
    bucket = _assets_bucket(global_synth, region)
    policy = json.loads(
        _for_bucket(global_synth, "aws:s3/bucketPolicy:BucketPolicy", bucket).inputs["policy"]
    )
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, bucket
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    name = bucket.inputs["bucket"]
    assert set(deny["Resource"]) == {f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"}


@pytest.mark.parametrize("region", REGIONS)
def test_assets_bucket_access_logs_go_to_the_same_regions_log_bucket(global_synth, region):
    bucket = _assets_bucket(global_synth, region)
    logging = _for_bucket(global_synth, "aws:s3/bucketLogging:BucketLogging", bucket)
    log_bucket = global_synth.named(f"access-logs-{region}")
    assert global_synth.region_of(log_bucket) == region
    assert logging.inputs["targetBucket"] == log_bucket.inputs["bucket"], bucket
    assert logging.inputs["targetPrefix"].endswith("/"), bucket


@pytest.mark.parametrize("region", REGIONS)
def test_access_log_bucket_admits_only_s3_logging_of_this_account_and_expires_logs(
    global_synth, region
):
    log_bucket = global_synth.named(f"access-logs-{region}")
    policy = json.loads(
        _for_bucket(global_synth, "aws:s3/bucketPolicy:BucketPolicy", log_bucket).inputs["policy"]
    )
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}, log_bucket
    assert allow["Action"] == "s3:PutObject"
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    ownership = _for_bucket(
        global_synth, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", log_bucket
    )
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    lifecycle = _for_bucket(
        global_synth, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", log_bucket
    )
    assert lifecycle.inputs["rules"][0]["expiration"]["days"] == 365, log_bucket
    sse = _for_bucket(
        global_synth,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        log_bucket,
    )
    (rule,) = sse.inputs["rules"]
    key = global_synth.named(f"access-logs-{region}-key")
    assert global_synth.region_of(key) == region
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": _mock_arn(global_synth, key, "kms"),
    }, log_bucket
    assert rule["bucketKeyEnabled"] is True
    key_policy = json.loads(key.inputs["policy"])
    (service,) = [s for s in key_policy["Statement"] if "Service" in s["Principal"]]
    assert service["Principal"] == {"Service": "logging.s3.amazonaws.com"}, key
    assert service["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert "kms:GenerateDataKey*" in service["Action"]


@pytest.mark.parametrize("region", REGIONS)
def test_lifecycle_transitions_exactly_30_90_180_and_expires_noncurrent_versions(
    global_synth, region
):
    bucket = _assets_bucket(global_synth, region)
    lifecycle = _for_bucket(
        global_synth, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket
    )
    tiering = next(r for r in lifecycle.inputs["rules"] if r["id"] == "tiering-by-age")
    assert tiering["status"] == "Enabled"
    transitions = [(int(t["days"]), t["storageClass"]) for t in tiering["transitions"]]
    assert transitions == [(30, "STANDARD_IA"), (90, "GLACIER_IR"), (180, "DEEP_ARCHIVE")]
    assert int(tiering["noncurrentVersionExpiration"]["noncurrentDays"]) == 30, bucket
    markers = next(
        r for r in lifecycle.inputs["rules"] if r["id"] == "remove-expired-delete-markers"
    )
    assert markers["expiration"]["expiredObjectDeleteMarker"] is True


def test_noncurrent_version_days_come_from_config():
    rule = lifecycle_rules(7)[0]
    assert rule["noncurrent_version_expiration"] == {"noncurrent_days": 7}


@pytest.mark.parametrize("source", REGIONS)
def test_replication_points_at_the_peer_bucket_with_the_peers_key(global_synth, source):
    peer = PEER[source]
    config = global_synth.named(f"assets-{source}-replication")
    assert global_synth.region_of(config) == source, config
    assert config.inputs["bucket"] == f"assets-{source}-id", config
    role = global_synth.named(f"assets-{source}-replication-role")
    assert config.inputs["role"] == _mock_arn(global_synth, role, "iam"), config
    (rule,) = config.inputs["rules"]
    peer_bucket = _assets_bucket(global_synth, peer)
    destination = rule["destination"]
    assert destination["bucket"] == _mock_arn(global_synth, peer_bucket, "s3"), config
    assert destination["encryptionConfiguration"]["replicaKmsKeyId"] == _mock_arn(
        global_synth, _assets_key(global_synth, peer), "kms"
    ), config
    assert rule["status"] == "Enabled" and rule["filter"] == {}


@pytest.mark.parametrize("source", REGIONS)
def test_replication_syncs_modifications_delete_markers_kms_objects_with_rtc(global_synth, source):
    (rule,) = global_synth.named(f"assets-{source}-replication").inputs["rules"]
    assert rule["deleteMarkerReplication"]["status"] == "Enabled"
    criteria = rule["sourceSelectionCriteria"]
    assert criteria["replicaModifications"]["status"] == "Enabled"
    assert criteria["sseKmsEncryptedObjects"]["status"] == "Enabled"
    destination = rule["destination"]
    assert destination["replicationTime"]["status"] == "Enabled"
    assert int(destination["replicationTime"]["time"]["minutes"]) == 15
    assert destination["metrics"]["status"] == "Enabled"
    assert int(destination["metrics"]["eventThreshold"]["minutes"]) == 15


def test_both_directions_are_declared_in_the_global_stack_only(global_synth, regional_synths):
    configs = global_synth.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert sorted(global_synth.region_of(c) for c in configs) == sorted(REGIONS)
    for stack, synth in regional_synths.items():
        assert not synth.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"), stack


@pytest.mark.parametrize("source", REGIONS)
def test_replication_role_is_least_privilege_for_its_direction(global_synth, source):
    peer = PEER[source]
    role = global_synth.named(f"assets-{source}-replication-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = json.loads(global_synth.named(f"assets-{source}-replication-policy").inputs["policy"])
    assert wildcard_violations(policy) == []
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    source_name = _assets_bucket(global_synth, source).inputs["bucket"]
    peer_name = _assets_bucket(global_synth, peer).inputs["bucket"]
    assert by_sid["ReadSourceReplicationConfiguration"]["Resource"] == f"arn:aws:s3:::{source_name}"
    assert by_sid["WriteReplicas"]["Resource"] == [f"arn:aws:s3:::{peer_name}/*"]
    decrypt = by_sid["DecryptSourceObjects"]
    assert decrypt["Resource"] == _mock_arn(global_synth, _assets_key(global_synth, source), "kms")
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{source}.amazonaws.com"}
    (encrypt,) = [s for s in policy["Statement"] if s["Sid"].startswith("EncryptReplicasIn")]
    assert encrypt["Resource"] == _mock_arn(global_synth, _assets_key(global_synth, peer), "kms")
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{peer}.amazonaws.com"}
    assert (
        f"arn:aws:s3:::{peer_name}/*"
        in (encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"])
    )


def test_replication_role_policy_and_rule_are_pure_functions_of_their_peers():
    policy = replication_role_policy(
        "eu-west-1", "src", "arn:key:src", [("us-west-1", "dst", "arn:key:dst")]
    )
    assert wildcard_violations(policy) == []
    rule = replication_rule("us-west-1", "arn:aws:s3:::dst", "arn:key:dst", priority=1)
    assert rule["id"] == "to-us-west-1"
    assert rule["destination"]["encryption_configuration"] == {"replica_kms_key_id": "arn:key:dst"}


def test_bucket_names_fit_s3_limits():
    assert bucket_name("prod", "assets", "eu-west-1", ACCOUNT) == (
        f"mobile-backend-prod-assets-eu-west-1-{ACCOUNT}"
    )
    long = bucket_name("staging-feature1", "access-logs", "ap-southeast-3", ACCOUNT)
    assert long.startswith("mb-staging-feature1-") and len(long) <= 63
    with pytest.raises(ValueError, match="longer than 63"):
        bucket_name("x" * 40, "access-logs", "ap-southeast-3", ACCOUNT)


def test_contract_exports_assets_buckets_and_keys_per_region(global_synth):
    buckets = global_synth.outputs[contract.ASSETS_BUCKETS]
    keys = global_synth.outputs[contract.ASSETS_KEY_ARNS]
    assert set(buckets) == set(keys) == set(REGIONS)
    for region in REGIONS:
        bucket = _assets_bucket(global_synth, region)
        assert buckets[region] == {
            "name": bucket.inputs["bucket"],
            "arn": _mock_arn(global_synth, bucket, "s3"),
        }
        assert keys[region] == _mock_arn(global_synth, _assets_key(global_synth, region), "kms")


def test_log_buckets_expire_objects_after_the_log_retention(global_synth):
    # Access logs (per region) and CloudFront standard logs: retention as for log groups.
    lifecycles = {
        r.name: r
        for r in global_synth.of_type(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        if r.name.endswith("-retention")
    }
    assert sorted(lifecycles) == [
        "access-logs-eu-west-1-retention",
        "access-logs-us-west-1-retention",
        "edge-cdn-logs-retention",
    ]
    for name, lifecycle in lifecycles.items():
        (rule,) = lifecycle.inputs["rules"]
        assert (rule["status"], rule["expiration"]) == ("Enabled", {"days": 365}), name
