"""R-OBS-3: the multi-region CloudTrail (validation, KMS, CloudWatch Logs, immutable bucket)
and the security-group change alerts."""

from __future__ import annotations

import json

import pytest

from components.audit import (
    AuditTrail,
    AuditTrailArgs,
    SecurityGroupWatch,
    SecurityGroupWatchArgs,
    data_event_selectors,
    database_network_change_pattern,
    lifecycle_plan,
    security_group_change_pattern,
    trail_delivery_statements,
    trail_key_statements,
)
from components.policy_documents import key_policy_document
from policy.controls import least_privilege_problems
from stacks.providers import account_id, aws_provider, in_region
from tests.infra.harness import ACCOUNT, synthesize

TRAIL = "aws:cloudtrail/trail:Trail"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/mobile-backend-prod-audit"
ASSETS = [
    "arn:aws:s3:::mobile-backend-prod-assets-eu-west-1",
    "arn:aws:s3:::mobile-backend-prod-assets-us-west-1",
]


@pytest.fixture(scope="module")
def with_assets():
    """The trail as the lead will wire it once the edge tier's assets buckets exist."""

    def program(settings):
        edge = aws_provider(settings, "us-east-1")
        AuditTrail(
            "audit",
            AuditTrailArgs(
                account_id=account_id(edge),
                region="us-east-1",
                environment=settings.environment,
                logs_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs",
                log_retention_days=365,
                retention_days=settings.audit_log_retention_days,
                access_log_bucket="access-logs-us-east-1",
                data_event_bucket_arns=ASSETS,
            ),
            opts=in_region(edge),
        )
        return {}

    return synthesize("prod-global", program_fn=program)


def test_one_multi_region_trail_with_validation_and_kms(global_synth):
    trail = global_synth.one(TRAIL)
    assert global_synth.region_of(trail) == "us-east-1"
    assert trail.inputs["name"] == "mobile-backend-prod-audit"
    assert trail.inputs["isMultiRegionTrail"] is True
    assert trail.inputs["includeGlobalServiceEvents"] is True
    assert trail.inputs["enableLogFileValidation"] is True
    assert trail.inputs["kmsKeyId"].endswith(":audit-key")
    assert trail.inputs["s3BucketName"] == "audit-bucket-id"
    assert trail.inputs["cloudWatchLogsGroupArn"].endswith(":audit-logs:*")
    assert trail.inputs["cloudWatchLogsRoleArn"].endswith(":audit-delivery-role")


def test_trail_key_admits_cloudtrail_only_for_this_trail(global_synth):
    key = global_synth.named("audit-key")
    assert key.inputs["enableKeyRotation"] is True
    policy = json.loads(key.inputs["policy"])
    assert policy == key_policy_document(ACCOUNT, trail_key_statements(ACCOUNT, TRAIL_ARN))
    encrypt = next(s for s in policy["Statement"] if s["Sid"] == "CloudTrailEncryptsThisTrailsLogs")
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Condition"]["StringEquals"] == {"aws:SourceArn": TRAIL_ARN}
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    }


def test_audit_bucket_is_locked_versioned_encrypted_private_and_tls_only(global_synth):
    bucket = global_synth.named("audit-bucket")
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.inputs["bucket"] == f"mobile-backend-prod-audit-{ACCOUNT}"
    lock = global_synth.named("audit-object-lock")
    retention = lock.inputs["rule"]["defaultRetention"]
    assert retention == {"mode": "COMPLIANCE", "days": 2190}
    versioning = global_synth.named("audit-bucket-versioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = global_synth.named("audit-bucket-encryption").inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"].endswith(":audit-key")
    assert rule["bucketKeyEnabled"] is True
    block = global_synth.named("audit-bucket-public-access").inputs
    assert all(
        block[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    ownership = global_synth.named("audit-bucket-ownership").inputs["rule"]
    assert ownership["objectOwnership"] == "BucketOwnerEnforced"
    policy = json.loads(global_synth.named("audit-bucket-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["CloudTrailWritesLogs"]["Condition"]["StringEquals"]["aws:SourceArn"] == TRAIL_ARN
    assert by_sid["CloudTrailWritesLogs"]["Resource"].endswith(f"/AWSLogs/{ACCOUNT}/*")
    assert by_sid["CloudTrailChecksAcl"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN}
    }
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert least_privilege_problems(policy) == []


def test_lifecycle_ages_logs_and_expires_only_after_the_lock(global_synth):
    (rule,) = global_synth.named("audit-bucket-lifecycle").inputs["rules"]
    assert rule["status"] == "Enabled"
    assert [(t["days"], t["storageClass"]) for t in rule["transitions"]] == [
        (90, "GLACIER_IR"),
        (365, "DEEP_ARCHIVE"),
    ]
    assert rule["expiration"]["days"] == 2191
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 2191
    # A short (dev) retention drops transitions S3 would refuse.
    assert lifecycle_plan(30) == {"transitions": [], "expiration_days": 31}
    assert [t for _, t in lifecycle_plan(180)["transitions"]] == ["GLACIER_IR"]


def test_trail_delivers_to_an_encrypted_log_group_through_a_scoped_role(global_synth):
    group = global_synth.named("audit-logs")
    assert group.inputs["name"] == "/aws/cloudtrail/mobile-backend-prod-audit"
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"].endswith(":edge-keys-logs")
    trust = json.loads(global_synth.named("audit-delivery-role").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = json.loads(global_synth.named("audit-delivery-policy").inputs["policy"])
    (write,) = policy["Statement"]
    assert write["Resource"].endswith(":audit-logs:log-stream:*")
    assert sorted(write["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]


def test_the_real_trail_audits_object_access_on_every_regions_assets_bucket(global_synth):
    selectors = global_synth.one(TRAIL).inputs["advancedEventSelectors"]
    assert {
        "name": "Management events",
        "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}],
    } in selectors
    data = next(s for s in selectors if s["name"] == "Assets object-level events")
    arns = {f["field"]: f for f in data["fieldSelectors"]}["resources.ARN"]["startsWiths"]
    assets = global_synth.outputs["assetsBuckets"]
    assert sorted(arns) == sorted(f"{b['arn']}/" for b in assets.values())
    assert set(assets) == {"eu-west-1", "us-west-1"}


def test_data_events_on_every_assets_bucket(with_assets):
    selectors = with_assets.one(TRAIL).inputs["advancedEventSelectors"]
    data = next(s for s in selectors if s["name"] == "Assets object-level events")
    fields = {f["field"]: f for f in data["fieldSelectors"]}
    assert fields["eventCategory"]["equals"] == ["Data"]
    assert fields["resources.type"]["equals"] == ["AWS::S3::Object"]
    assert fields["resources.ARN"]["startsWiths"] == [f"{a}/" for a in ASSETS]
    # The audit bucket itself is not among them (it would log its own deliveries).
    assert data_event_selectors([])[-1]["name"] == "Management events"


def test_audit_bucket_policy_is_pure_and_names_the_trail():
    writes = trail_delivery_statements("arn:aws:s3:::b", ACCOUNT, TRAIL_ARN)[1]
    assert writes["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"


def test_security_group_changes_alert_the_alarm_topic():
    topic = f"arn:aws:sns:eu-west-1:{ACCOUNT}:alarms-topic"

    def program(settings):
        provider = aws_provider(settings, settings.regional.region)
        SecurityGroupWatch(
            "sg-watch",
            SecurityGroupWatchArgs(
                topic_arn=topic,
                security_group_ids=["sg-0aurora", "sg-0proxy"],
                cluster_ids=["mobile-backend-prod-eu-west-1"],
                proxy_names=["mobile-backend-prod"],
            ),
            opts=in_region(provider),
        )
        return {}

    synth = synthesize("prod-eu", program_fn=program)
    rules = {r.name: r for r in synth.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert set(rules) == {"sg-watch-security-groups", "sg-watch-database-network"}
    sg = json.loads(rules["sg-watch-security-groups"].inputs["eventPattern"])
    assert sg == security_group_change_pattern(["sg-0aurora", "sg-0proxy"])
    assert "AuthorizeSecurityGroupIngress" in sg["detail"]["eventName"]
    assert sg["detail"]["$or"][0] == {"requestParameters": {"groupId": ["sg-0aurora", "sg-0proxy"]}}
    db = json.loads(rules["sg-watch-database-network"].inputs["eventPattern"])
    assert db == database_network_change_pattern(
        ["mobile-backend-prod-eu-west-1"], ["mobile-backend-prod"]
    )
    targets = synth.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == 2
    assert all(t.inputs["arn"] == topic for t in targets)
    assert all(synth.region_of(r) == "eu-west-1" for r in [*rules.values(), *targets])


def test_security_group_watch_needs_groups():
    def program(settings):
        SecurityGroupWatch("sg-watch", SecurityGroupWatchArgs(topic_arn="t", security_group_ids=[]))
        return {}

    with pytest.raises(ValueError, match="at least one security group"):
        synthesize("prod-eu", program_fn=program)
