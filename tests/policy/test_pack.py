"""The CrossGuard pack itself: ``policy/__main__.py`` started as the Pulumi CLI starts it (a
gRPC analyzer on a port it prints), then asked over gRPC what it enforces and to analyze
resources, with the stack config handed over in ``PULUMI_CONFIG`` as the CLI does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy import pack
from policy.controls import BUCKET, BUCKET_SSE, CONTROLS, QUEUE

ROOT = Path(__file__).resolve().parents[2]
MECHANISM = "EU-US Data Privacy Framework + SCCs (2021/914)"
US_PROVIDER = {
    "region": "us-west-1",
    "defaultTags": json.dumps({"tags": {"data-classification": "phi"}}),
}


def test_pack_wraps_every_control_as_a_mandatory_policy():
    policies = pack.build_policies()
    assert [p.name for p in policies] == [c.name for c in CONTROLS]
    for policy, control in zip(policies, CONTROLS, strict=True):
        expected = (
            ResourceValidationPolicy if control.scope == "resource" else StackValidationPolicy
        )
        assert isinstance(policy, expected), policy.name
        assert policy.enforcement_level == EnforcementLevel.MANDATORY
        assert policy.description == control.description


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], None, [])


def _policy(name: str):
    return next(p for p in pack.build_policies() if p.name == name)


def test_residency_reads_the_mechanism_from_policy_config_or_stack_config(monkeypatch):
    def validate(config, stack_config):
        monkeypatch.setattr(pack, "_stack_config", stack_config.get)
        reported: list[str] = []
        args = ResourceValidationArgs(
            QUEUE,
            unknown_checking_proxy({"kmsMasterKeyId": "arn:k"}),
            "urn:q",
            "events",
            _options(),
            PolicyProviderResource("pulumi:providers:aws", US_PROVIDER, "urn:p", "aws-us-west-1"),
            config,
        )
        _policy("gdpr-residency").validate(args, lambda message, urn=None: reported.append(message))
        return reported

    assert validate(None, {}) == [
        "Queue 'events' in us-west-1 is tagged data-classification=phi: EU personal data "
        "outside the EU is a GDPR Chapter V transfer with no declared mechanism; fix: pulumi "
        "config set mobile-backend:gdprTransferMechanism "
        "'EU-US Data Privacy Framework + SCCs (2021/914)'"
    ]
    assert validate(None, {"gdprTransferMechanism": MECHANISM}) == []
    assert validate({"transferMechanism": MECHANISM}, {}) == []


def test_stack_policy_follows_property_dependencies_while_ids_are_unknown():
    bucket = PolicyResource(BUCKET, {}, "urn:bucket", "assets", _options(), None, None, [], {})
    sse = PolicyResource(
        BUCKET_SSE,
        {
            "rules": [
                {
                    "applyServerSideEncryptionByDefault": {
                        "sseAlgorithm": "aws:kms",
                        "kmsMasterKeyId": "k",
                    }
                }
            ]
        },
        "urn:sse",
        "assets-sse",
        _options(),
        None,
        None,
        [bucket],
        {"bucket": [bucket]},
    )
    reported: list[tuple[str, str | None]] = []

    def report(message, urn=None):
        reported.append((message, urn))

    policy = _policy("s3-cmk-encryption")
    policy.validate(StackValidationArgs([bucket, sse]), report)
    assert reported == []
    policy.validate(StackValidationArgs([bucket]), report)
    assert [urn for _, urn in reported] == ["urn:bucket"]


def test_preview_unknowns_neither_abort_nor_pass_a_stack_policy():
    """During a first preview ids, ARNs and key ARNs are unknown: the policy still runs."""

    def resource(typ, name, props, deps=None):
        return PolicyResource(
            typ,
            unknown_checking_proxy(props),
            f"urn:{name}",
            name,
            _options(),
            None,
            None,
            [],
            deps or {},
        )

    buckets = [
        resource(BUCKET, name, {"arn": UNKNOWN_STRING_VALUE}) for name in ("encrypted", "plain")
    ]
    rule = {
        "applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": UNKNOWN_STRING_VALUE,
        }
    }
    sse = resource(
        BUCKET_SSE,
        "encrypted-sse",
        {"bucket": UNKNOWN_STRING_VALUE, "rules": [rule]},
        {"bucket": [buckets[0]]},
    )
    reported: list[tuple[str, str | None]] = []
    _policy("s3-cmk-encryption").validate(
        StackValidationArgs([*buckets, sse]),
        lambda message, urn=None: reported.append((message, urn)),
    )
    assert [urn for _, urn in reported] == ["urn:plain"]


# --- the pack as the CLI runs it --------------------------------------------------------------
@pytest.fixture(scope="module")
def analyzer():
    env = {
        **os.environ,
        # A global stack's config with no transfer mechanism declared.
        "PULUMI_CONFIG": json.dumps({"mobile-backend:role": "global"}),
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "policy" / "__main__.py")],
        cwd=ROOT / "policy",
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        port = int(process.stdout.readline())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(stack="prod-us", project="mobile-backend"),
            timeout=10,
        )
        yield stub
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _struct(values: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def test_running_pack_announces_every_policy_as_mandatory(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
    assert info.name == pack.PACK_NAME
    assert [p.name for p in info.policies] == [c.name for c in CONTROLS]
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}


def test_running_pack_rejects_an_unencrypted_bucket(analyzer):
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=BUCKET,
                properties=_struct({"bucket": "rogue"}),
                urn="urn:pulumi:prod-eu::mobile-backend::aws:s3/bucket:Bucket::rogue-bucket",
                name="rogue-bucket",
            )
        ]
    )
    response = analyzer.AnalyzeStack(request, timeout=10)
    # The engine prints "<policy description>\n<message>"; the bucket lacks every S3
    # control, and the stack config says global, so the missing trail is reported too.
    found = {d.policyName: d.message.split("\n", 1)[1] for d in response.diagnostics}
    assert sorted(found) == [
        "cloudtrail-present",
        "s3-abort-incomplete-multipart",
        "s3-access-logging",
        "s3-cmk-encryption",
        "s3-public-access-block",
        "s3-tls-only",
    ]
    assert found["s3-cmk-encryption"] == (
        "Bucket 'rogue-bucket' is not encrypted with a customer-managed KMS key; fix: declare "
        "aws.s3.BucketServerSideEncryptionConfiguration for it with sse_algorithm='aws:kms' "
        "and kms_master_key_id=<data key ARN>"
    )
    assert {d.enforcementLevel for d in response.diagnostics} == {analyzer_pb2.MANDATORY}


def test_running_pack_reads_stack_config_for_residency(analyzer):
    request = analyzer_pb2.AnalyzeRequest(
        type=QUEUE,
        properties=_struct({"kmsMasterKeyId": "arn:k"}),
        urn="urn:pulumi:prod-us::mobile-backend::aws:sqs/queue:Queue::events",
        name="events",
        provider=analyzer_pb2.AnalyzerProviderResource(
            type="pulumi:providers:aws",
            properties=_struct(US_PROVIDER),
            urn="urn:p",
            name="aws-us-west-1",
        ),
    )
    response = analyzer.Analyze(request, timeout=10)
    # PULUMI_CONFIG above declares no mechanism: the US queue of PHI is a violation.
    assert [
        (d.policyName, d.message.split("\n")[1].split(":")[0]) for d in response.diagnostics
    ] == [("gdpr-residency", "Queue 'events' in us-west-1 is tagged data-classification=phi")]
