"""R-MSG-1/R-MSG-2: events topic → queue → subscriber with dead letters, and mobile push."""

from __future__ import annotations

import json

import pytest

from components import messaging
from components.messaging import (
    Messaging,
    MessagingArgs,
    PushPlatforms,
    PushPlatformsArgs,
    visibility_timeout,
)
from policy.controls import least_privilege_problems
from settings import ApnsCredentials, FcmCredentials
from stacks import contract
from stacks.providers import account_id, aws_provider, in_region
from tests.infra.harness import ACCOUNT, synthesize

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
PLATFORM_APP = "aws:sns/platformApplication:PlatformApplication"
SUBSCRIBER_ALIAS = (
    "arn:aws:lambda:eu-west-1:123456789012:function:mobile-backend-prod-subscriber:live"
)
APNS_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg\n"
    "-----END PRIVATE KEY-----"
)
FCM_JSON = json.dumps(
    {
        "type": "service_account",
        "project_id": "examplehealth-mobile",
        "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
        "client_email": "sns@examplehealth-mobile.iam.gserviceaccount.com",
    }
)
APNS = ApnsCredentials(APNS_KEY, "ABCDE12345", "TEAM123456", "eu.examplehealth.app", False)
FCM = FcmCredentials(FCM_JSON)


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _secret(value):
    """The plaintext of an input recorded as a Pulumi secret; fails if it was not secret."""
    assert isinstance(value, dict) and SECRET_SIG in value, f"not a secret: {value!r}"
    return value["value"]


def _messaging_program(subscriber=None, **overrides):
    """A component test: the real prod-eu settings, one Messaging with realistic inputs."""

    def program(settings):
        regional = settings.regional
        provider = aws_provider(settings, regional.region)
        args = {
            "account_id": account_id(provider),
            "region": regional.region,
            "environment": settings.environment,
            "messaging_key_arn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/messaging",
            "subscriber_timeout_seconds": 30,
            "batch_size": 25,
            "batch_window_seconds": 2,
            "max_receive_count": 7,
            **overrides,
        }
        component = Messaging("messaging", MessagingArgs(**args), opts=in_region(provider))
        if subscriber is not None:
            component.connect_subscriber(*subscriber)
        return {"queue_url": component.queue_url, "topic_arn": component.topic_arn}

    return program


@pytest.fixture(scope="module")
def standalone():
    return synthesize(
        "prod-eu",
        program_fn=_messaging_program(subscriber=(SUBSCRIBER_ALIAS, 20)),
    )


def _queues(synth):
    return {q.inputs["name"]: q for q in synth.of_type(QUEUE)}


def _policy_for(synth, queue_resource):
    policy = synth.one(QUEUE_POLICY, lambda p: p.inputs["queueUrl"] == f"{queue_resource.name}-id")
    return json.loads(policy.inputs["policy"])


def test_topic_and_queues_are_encrypted_with_the_regions_messaging_key(regional_synths):
    for stack, synth in regional_synths.items():
        topic = synth.one("aws:sns/topic:Topic", lambda r: r.name == "messaging-topic")
        assert topic.inputs["kmsMasterKeyId"].endswith(":keys-messaging"), stack
        assert topic.inputs["name"] == "mobile-backend-prod-events"
        queues = _queues(synth)
        assert set(queues) == {
            "mobile-backend-prod-events",
            "mobile-backend-prod-events-dlq",
            "mobile-backend-prod-events-delivery-dlq",
        }, stack
        for name, queue in queues.items():
            assert queue.inputs["kmsMasterKeyId"].endswith(":keys-messaging"), f"{stack}: {name}"
            assert queue.inputs["receiveWaitTimeSeconds"] == 20, f"{stack}: {name} long polling"


def test_every_queue_has_a_dead_letter_queue(regional_synths):
    for stack, synth in regional_synths.items():
        queues = _queues(synth)
        dlq = queues["mobile-backend-prod-events-dlq"]
        redrive = json.loads(queues["mobile-backend-prod-events"].inputs["redrivePolicy"])
        assert redrive["maxReceiveCount"] == 10, stack
        assert redrive["deadLetterTargetArn"].endswith(f":{dlq.name}"), stack
        # The delivery DLQ is SNS's dead-letter target for the subscription itself.
        sub = synth.one(SUBSCRIPTION, lambda s: s.inputs["protocol"] == "sqs")
        assert sub.inputs["endpoint"].endswith(":messaging-queue"), stack
        assert sub.inputs["rawMessageDelivery"] is True, stack
        sub_redrive = json.loads(sub.inputs["redrivePolicy"])
        assert sub_redrive["deadLetterTargetArn"].endswith(":messaging-delivery-dlq"), stack
        # Dead letters outlive the main queue's retention (SQS ages them from first enqueue).
        for name in ("mobile-backend-prod-events-dlq", "mobile-backend-prod-events-delivery-dlq"):
            assert queues[name].inputs["messageRetentionSeconds"] == 14 * 24 * 3600, name
        assert queues["mobile-backend-prod-events"].inputs["messageRetentionSeconds"] < (
            14 * 24 * 3600
        )


def test_only_the_events_queue_may_redrive_into_the_dlq(eu_synth):
    allow = eu_synth.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert allow.inputs["queueUrl"] == "messaging-dlq-id"
    policy = json.loads(allow.inputs["redriveAllowPolicy"])
    assert policy["redrivePermission"] == "byQueue"
    assert [arn.rsplit(":", 1)[1] for arn in policy["sourceQueueArns"]] == ["messaging-queue"]


def test_queue_policies_admit_only_our_topic_in_our_account_over_tls(regional_synths):
    for stack, synth in regional_synths.items():
        queues = _queues(synth)
        for name in ("mobile-backend-prod-events", "mobile-backend-prod-events-delivery-dlq"):
            queue = queues[name]
            allow, deny = _policy_for(synth, queue)["Statement"]
            assert allow["Principal"] == {"Service": "sns.amazonaws.com"}, f"{stack}: {name}"
            assert allow["Action"] == "sqs:SendMessage"
            assert allow["Resource"].endswith(f":{queue.name}")
            assert allow["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":messaging-topic")
            assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
            assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
            assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        dlq_statements = _policy_for(synth, queues["mobile-backend-prod-events-dlq"])["Statement"]
        assert [s["Effect"] for s in dlq_statements] == ["Deny"], stack


def test_topic_policy_is_scoped_to_this_account_and_tls(eu_synth):
    policy = json.loads(
        eu_synth.one(
            "aws:sns/topicPolicy:TopicPolicy", lambda p: p.name == "messaging-topic-policy"
        ).inputs["policy"]
    )
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert allow["Resource"].endswith(":messaging-topic")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_visibility_timeout_is_six_times_the_subscriber_timeout_plus_the_window(
    eu_synth, standalone
):
    queue = _queues(eu_synth)["mobile-backend-prod-events"]
    # prod-eu: subscriber timeout 30 s, window 1 s.
    assert queue.inputs["visibilityTimeoutSeconds"] == 6 * 30 + 1
    queue = _queues(standalone)["mobile-backend-prod-events"]
    assert queue.inputs["visibilityTimeoutSeconds"] == 6 * 30 + 2


def test_visibility_rule_is_enforced_with_a_clear_error():
    assert visibility_timeout(10, 0) == 60
    assert visibility_timeout(10, 5, requested=300) == 300
    with pytest.raises(ValueError, match=r"shorter than 6 x the subscriber timeout \(30s\)"):
        visibility_timeout(30, 0, requested=120)
    with pytest.raises(ValueError, match="SQS maximum"):
        visibility_timeout(8000, 0)


def test_component_refuses_a_short_visibility_before_declaring_anything():
    with pytest.raises(ValueError, match="Raise the visibility timeout to >= 181s"):
        synthesize(
            "prod-eu",
            program_fn=_messaging_program(visibility_timeout_seconds=90, batch_window_seconds=1),
        )


def test_component_refuses_fewer_than_five_receives():
    with pytest.raises(ValueError, match="max_receive_count 2 < 5"):
        synthesize("prod-eu", program_fn=_messaging_program(max_receive_count=2))


def test_mapping_reports_partial_failures_with_batch_from_config(standalone):
    mapping = standalone.one(MAPPING)
    assert mapping.inputs["functionName"] == SUBSCRIBER_ALIAS
    assert mapping.inputs["eventSourceArn"].endswith(":messaging-queue")
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["batchSize"] == 25
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == 2
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 20}
    redrive = json.loads(_queues(standalone)["mobile-backend-prod-events"].inputs["redrivePolicy"])
    assert redrive["maxReceiveCount"] == 7


def test_each_region_maps_its_queue_to_its_own_subscriber_alias(regional_synths):
    for stack, synth in regional_synths.items():
        mapping = synth.one(MAPPING)
        alias = synth.named("logic-subscriber-alias")
        assert mapping.inputs["functionName"] == alias.outputs["arn"], stack
        assert alias.outputs["arn"].endswith(":function:mobile-backend-prod-subscriber:live")
        assert mapping.inputs["eventSourceArn"].endswith(":messaging-queue"), stack
        assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"], stack


def test_publisher_and_subscriber_statements_are_exact():
    topic = "arn:aws:sns:eu-west-1:123456789012:mobile-backend-prod-events"
    queue = "arn:aws:sqs:eu-west-1:123456789012:mobile-backend-prod-events"
    key = "arn:aws:kms:eu-west-1:123456789012:key/messaging"
    publish, encrypt = messaging.publisher_statements(topic, key, "eu-west-1")
    assert (publish["Action"], publish["Resource"]) == ("sns:Publish", topic)
    assert encrypt["Resource"] == key
    assert encrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "sns.eu-west-1.amazonaws.com"}
    }
    consume, decrypt = messaging.subscriber_statements(queue, key, "eu-west-1")
    assert sorted(consume["Action"]) == [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    assert consume["Resource"] == queue
    assert (decrypt["Action"], decrypt["Resource"]) == ("kms:Decrypt", key)
    # The deterministic names let the lead write these before the queue exists.
    names = messaging.resource_names("prod")
    assert messaging.sns_arn("eu-west-1", ACCOUNT, names["topic"]) == topic
    assert messaging.sqs_arn("eu-west-1", ACCOUNT, names["queue"]) == queue


def test_push_statements_cover_only_the_configured_applications_and_their_endpoints():
    apps = messaging.push_applications("us-west-1", ACCOUNT, "prod", APNS, FCM)
    register, manage = messaging.push_statements("us-west-1", ACCOUNT, apps)
    assert (register["Action"], register["Resource"]) == (
        "sns:CreatePlatformEndpoint",
        [
            "arn:aws:sns:us-west-1:123456789012:app/APNS/mobile-backend-prod-apns",
            "arn:aws:sns:us-west-1:123456789012:app/GCM/mobile-backend-prod-fcm",
        ],
    )
    assert sorted(manage["Action"]) == [
        "sns:DeleteEndpoint",
        "sns:GetEndpointAttributes",
        "sns:Publish",
        "sns:SetEndpointAttributes",
    ]
    assert manage["Resource"] == [
        "arn:aws:sns:us-west-1:123456789012:endpoint/APNS/mobile-backend-prod-apns/*",
        "arn:aws:sns:us-west-1:123456789012:endpoint/GCM/mobile-backend-prod-fcm/*",
    ]
    assert least_privilege_problems({"Statement": [register, manage]}) == []
    sandbox = ApnsCredentials(APNS_KEY, "ABCDE12345", "TEAM123456", "eu.examplehealth.app", True)
    only_apns = messaging.push_applications("us-west-1", ACCOUNT, "prod", sandbox, None)
    assert list(only_apns) == ["apns"] and only_apns["apns"][0] == "APNS_SANDBOX"
    assert messaging.push_statements("us-west-1", ACCOUNT, {}) == []


def test_push_platform_env_is_the_json_the_api_handler_parses():
    env = messaging.push_platform_env({"fcm": "arn:aws:sns:x:1:app/GCM/b", "apns": "arn:a"})
    assert json.loads(env) == {"apns": "arn:a", "fcm": "arn:aws:sns:x:1:app/GCM/b"}
    assert messaging.push_platform_env({}) == "{}"


def test_no_push_credentials_no_platform_applications(regional_synths):
    for stack, synth in regional_synths.items():
        assert synth.of_type(PLATFORM_APP) == [], stack
        assert json.loads(synth.outputs[contract.REGIONAL_PUSH_PLATFORM_APPLICATIONS]) == {}


def test_platform_applications_from_secret_config(global_synth):
    from tests.infra.conftest import global_stack_name

    synth = synthesize(
        "prod-us",
        overrides={
            "mobile-backend:pushApns": {
                "signingKey": APNS_KEY,
                "keyId": "ABCDE12345",
                "teamId": "TEAM123456",
                "bundleId": "eu.examplehealth.app",
                "sandbox": False,
            },
            "mobile-backend:pushFcm": {"serviceAccountJson": FCM_JSON},
        },
        secret_keys=["mobile-backend:pushApns", "mobile-backend:pushFcm"],
        stack_outputs={global_stack_name("prod-us"): global_synth.outputs},
    )
    apps = {a.inputs["platform"]: a for a in synth.of_type(PLATFORM_APP)}
    assert set(apps) == {"APNS", "GCM"}
    apns = apps["APNS"]
    assert apns.inputs["name"] == "mobile-backend-prod-apns"
    assert _secret(apns.inputs["platformCredential"]) == APNS_KEY
    assert _secret(apns.inputs["platformPrincipal"]) == "ABCDE12345"
    assert apns.inputs["applePlatformTeamId"] == "TEAM123456"
    assert apns.inputs["applePlatformBundleId"] == "eu.examplehealth.app"
    assert synth.region_of(apns) == "us-west-1"
    env = json.loads(synth.outputs[contract.REGIONAL_PUSH_PLATFORM_APPLICATIONS])
    assert set(env) == {"apns", "fcm"}
    assert env["fcm"].endswith(":push-fcm")


def test_push_credentials_are_secret_inputs():
    captured = {}

    def program(settings):
        provider = aws_provider(settings, settings.regional.region)
        push = PushPlatforms(
            "push",
            PushPlatformsArgs(
                account_id=account_id(provider),
                region="eu-west-1",
                environment="prod",
                regions=["eu-west-1", "us-west-1"],
                apns=APNS,
                fcm=FCM,
            ),
            opts=in_region(provider),
        )
        captured["statements"] = push.statements
        return {"env": push.env_json}

    synth = synthesize("prod-eu", program_fn=program)
    assert {a.inputs["name"] for a in synth.of_type(PLATFORM_APP)} == {
        "mobile-backend-prod-apns",
        "mobile-backend-prod-fcm",
    }
    assert len(captured["statements"]) == 2
    fcm = synth.one(PLATFORM_APP, lambda a: a.inputs["platform"] == "GCM")
    assert json.loads(_secret(fcm.inputs["platformCredential"]))["type"] == "service_account"
    assert "BEGIN PRIVATE KEY" not in repr(APNS)
