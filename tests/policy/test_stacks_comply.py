"""The policy pack over the mocked resource graph of the real stacks (R-CI-2).

Every control runs over every resource ``prod-global``, ``prod-eu`` and ``prod-us`` (and the
dev environment's ``dev-global``, ``dev-eu``, ``dev-us``) declare,
exactly as ``pulumi preview --policy-pack policy`` would run them; a violation fails
``make test`` with the policy's message. The second half proves it: the real program plus one
offending resource (a real ``aws.s3.Bucket`` with no encryption configuration, a real API stage
with no WAF association) is rejected with a message that names the resource.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pulumi
import pulumi_aws as aws
import pytest

import stacks
from policy.controls import CONTROLS_BY_NAME, METRIC_ALARM, evaluate
from tests.infra.harness import global_stack_name, synthesize
from tests.policy.graph import context_of, resources_of, violations_of

STACKS = ("prod-global", "prod-eu", "prod-us")
DEV_STACKS = ("dev-global", "dev-eu", "dev-us")

# Stack-level existence checks whose resource another engineer's tier still has to declare.
# Remove an entry when that tier lands: the policy then holds the real stack to it.
AWAITING_TIER: dict[str, str] = {}


def test_awaiting_tier_names_real_policies():
    assert set(AWAITING_TIER) <= set(CONTROLS_BY_NAME)


@pytest.mark.parametrize("stack", STACKS + DEV_STACKS)
def test_real_stack_passes_every_policy(all_synths, dev_synths, stack):
    synth = {**all_synths, **dev_synths}[stack]
    found = [v for v in violations_of(synth) if v.policy not in AWAITING_TIER]
    assert found == [], "\n".join(f"[{v.policy}] {v.message}" for v in found)


def test_policies_see_what_the_stacks_declare(all_synths):
    # Guard against a vacuous pass: the graph really carries encrypted, retained log groups
    # and rotating keys, in the regions their providers name.
    eu = all_synths["prod-eu"]
    assert context_of(eu).role == "regional"
    assert context_of(all_synths["prod-global"]).role == "global"
    assert context_of(eu).transfer_mechanism.startswith("EU-US Data Privacy Framework")
    log_group = eu.one("aws:cloudwatch/logGroup:LogGroup", lambda r: r.name == "network-flow-logs")
    assert log_group.inputs["kmsKeyId"] == "arn:aws:kms:eu-west-1:123456789012:keys-logs"
    assert {k.inputs["enableKeyRotation"] for k in eu.of_type("aws:kms/key:Key")} == {True}


@pytest.mark.parametrize("stack", STACKS)
def test_alarm_action_control_sees_every_alarm_of_every_stack(all_synths, stack):
    # Not vacuous: each stack declares alarms, and silencing any one of them is caught.
    synth = all_synths[stack]
    alarms = [r for r in resources_of(synth) if r.type == METRIC_ALARM]
    assert alarms, stack
    silenced = [replace(a, props={**a.props, "alarmActions": []}) for a in alarms]
    control = CONTROLS_BY_NAME["cloudwatch-alarm-actions"]
    found = evaluate(silenced, context_of(synth), [control])
    assert sorted(v.urn for v in found) == sorted(a.urn for a in alarms), stack


def test_us_stack_without_transfer_mechanism_violates_residency(all_synths):
    us = all_synths["prod-us"]
    context = context_of(us)
    bare = type(context)(transfer_mechanism=None, role=context.role)
    found = [v for v in violations_of(us, bare) if v.policy == "gdpr-residency"]
    subjects = [v.message.split(":")[0] for v in found]
    assert "LogGroup 'network-flow-logs' in us-west-1 is tagged data-classification=phi" in subjects
    assert all(
        re.search(r" in us-(west|east)-1 is tagged data-classification=phi$", s) for s in subjects
    ), subjects
    eu = all_synths["prod-eu"]
    assert [v for v in violations_of(eu, bare) if v.policy == "gdpr-residency"] == []


# --- the real program plus one offending resource -------------------------------------------
def _declare_offenders(settings, *, compliant: bool) -> None:
    """An S3 bucket and a REST API stage, as another tier would add them to the stack."""
    provider = aws.Provider(
        "offending-provider",
        region=settings.deploy_region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags(settings.deploy_region)),
    )
    opts = pulumi.ResourceOptions(provider=provider)
    bucket = aws.s3.Bucket("rogue-bucket", opts=opts)
    aws.s3.BucketPublicAccessBlock(
        "rogue-bucket-pab",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketPolicy(
        "rogue-bucket-tls",
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        ),
        opts=opts,
    )
    api = aws.apigateway.RestApi("rogue-api", opts=opts)
    deployment = aws.apigateway.Deployment("rogue-deployment", rest_api=api.id, opts=opts)
    access_logs = aws.cloudwatch.LogGroup(
        "rogue-api-access", retention_in_days=365, kms_key_id="arn:aws:kms:logs", opts=opts
    )
    stage = aws.apigateway.Stage(
        "rogue-stage",
        rest_api=api.id,
        deployment=deployment.id,
        stage_name="v1",
        xray_tracing_enabled=True,
        access_log_settings={"destination_arn": access_logs.arn, "format": "$context.requestId"},
        opts=opts,
    )
    aws.apigateway.MethodSettings(
        "rogue-stage-all",
        rest_api=api.id,
        stage_name="v1",
        method_path="*/*",
        settings={"logging_level": "ERROR", "data_trace_enabled": False, "metrics_enabled": True},
        opts=opts,
    )
    if compliant:
        aws.s3.BucketServerSideEncryptionConfiguration(
            "rogue-bucket-sse",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": "arn:aws:kms:eu-west-1:123456789012:key/data",
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        )
        acl = aws.wafv2.WebAcl(
            "rogue-acl",
            scope="REGIONAL",
            default_action={"block": {}},
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": "rogue",
                "sampled_requests_enabled": True,
            },
            opts=opts,
        )
        aws.wafv2.WebAclAssociation(
            "rogue-stage-waf", resource_arn=stage.arn, web_acl_arn=acl.arn, opts=opts
        )


def _synthesize_with_offenders(monkeypatch, stack: str, global_outputs, *, compliant: bool):
    original = stacks.build

    def build(settings):
        outputs = original(settings)
        _declare_offenders(settings, compliant=compliant)
        return outputs

    monkeypatch.setattr(stacks, "build", build)
    outputs = {} if stack == "prod-global" else {global_stack_name(stack): global_outputs}
    return synthesize(stack, stack_outputs=outputs)


@pytest.mark.parametrize("stack", STACKS)
def test_unencrypted_bucket_and_stage_without_waf_fail_in_any_stack(
    monkeypatch, global_synth, stack
):
    synth = _synthesize_with_offenders(monkeypatch, stack, global_synth.outputs, compliant=False)
    found = [(v.policy, v.message) for v in violations_of(synth) if v.policy not in AWAITING_TIER]
    assert found == [
        (
            "s3-cmk-encryption",
            "Bucket 'rogue-bucket' is not encrypted with a customer-managed KMS key; fix: "
            "declare aws.s3.BucketServerSideEncryptionConfiguration for it with "
            "sse_algorithm='aws:kms' and kms_master_key_id=<data key ARN>",
        ),
        (
            "api-stage-waf",
            "Stage 'rogue-stage' has no WAF web ACL; fix: declare aws.wafv2.WebAclAssociation "
            "with resource_arn=<stage>.arn and the regional web ACL",
        ),
    ]


def test_same_resources_with_encryption_and_waf_pass(monkeypatch, global_synth):
    synth = _synthesize_with_offenders(monkeypatch, "prod-eu", global_synth.outputs, compliant=True)
    assert synth.named("rogue-bucket-sse").inputs["bucket"] == "rogue-bucket-id"
    assert [v for v in violations_of(synth)] == []
