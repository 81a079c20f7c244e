"""Domain events and mobile push for one region (R-MSG-1, R-MSG-2).

``POST /users`` publishes to an SNS topic; an SQS queue subscribed with raw delivery buffers
the messages for the subscriber Lambda, which reports partial batch failures so only failed
records are retried, and a record that keeps failing lands in a dead-letter queue. A second
DLQ catches what SNS itself cannot deliver to the queue (e.g. a broken key grant), so no
accepted write disappears silently. Everything is encrypted with the region's messaging key
and every resource policy admits only this account's topic over TLS.

Physical names are deterministic (``mobile-backend-<env>-events`` …) so the functions'
least-privilege statements can be written before the queue exists: the subscriber's role is
needed to build the subscriber, whose alias ARN this component then needs for the mapping.
The helpers below take plain strings or Outputs and return IAM statements as dicts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.policy_documents import (
    PARTITION,
    account_root,
    deny_insecure_transport,
    document,
)
from contract import names
from settings import ApnsCredentials, FcmCredentials

# Lambda keeps polling SQS with a long poll of its own; 20 s is also the SQS maximum and
# minimises empty receives for any other consumer (the local dev poller).
LONG_POLL_SECONDS = 20
# AWS guidance for Lambda consumers: visibility >= 6 x function timeout + batching window, so a
# batch retried after throttling is not received twice while the first attempt still runs.
VISIBILITY_FACTOR = 6
MAX_VISIBILITY_SECONDS = 12 * 60 * 60
# Main queue keeps messages 4 days (long enough to ride out a writer-region outage, R-DR-3);
# dead letters keep the 14-day maximum, since SQS ages a dead letter from its first enqueue.
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# SNS platform names per settings key; "GCM" is SNS's name for FCM (HTTP v1 with a JSON key).
PUSH_PLATFORMS = {"apns": "APNS", "apns_sandbox": "APNS_SANDBOX", "fcm": "GCM"}


def resource_names(environment: str) -> dict[str, str]:
    return {
        "topic": names.events_topic_name(environment),
        "queue": names.events_queue_name(environment),
        "dlq": names.events_dlq_name(environment),
        "delivery_dlq": names.events_delivery_dlq_name(environment),
        "apns": names.push_application_name(environment, "apns"),
        "fcm": names.push_application_name(environment, "fcm"),
    }


def _join(*parts: pulumi.Input[str]) -> pulumi.Input[str]:
    """Concatenate; stays a plain str when every part is one (so helpers test without mocks)."""
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)  # type: ignore[arg-type]
    return pulumi.Output.concat(*parts)


def sns_arn(region: str, account_id: pulumi.Input[str], resource: str) -> pulumi.Input[str]:
    return _join(f"arn:{PARTITION}:sns:{region}:", account_id, f":{resource}")


def sqs_arn(region: str, account_id: pulumi.Input[str], name: str) -> pulumi.Input[str]:
    return _join(f"arn:{PARTITION}:sqs:{region}:", account_id, f":{name}")


def visibility_timeout(
    subscriber_timeout_seconds: int, batch_window_seconds: int, requested: int | None = None
) -> int:
    """The queue's visibility timeout; refuses one shorter than the consumer needs."""
    minimum = VISIBILITY_FACTOR * subscriber_timeout_seconds + batch_window_seconds
    value = minimum if requested is None else requested
    if value < minimum:
        raise ValueError(
            f"queue visibility timeout {value}s is shorter than {VISIBILITY_FACTOR} x the "
            f"subscriber timeout ({subscriber_timeout_seconds}s) + the batching window "
            f"({batch_window_seconds}s) = {minimum}s: messages would be received again while "
            f"still being processed. Raise the visibility timeout to >= {minimum}s or lower "
            "the subscriber's timeout."
        )
    if value > MAX_VISIBILITY_SECONDS:
        raise ValueError(
            f"queue visibility timeout {value}s exceeds the SQS maximum of "
            f"{MAX_VISIBILITY_SECONDS}s; lower the subscriber's timeout"
        )
    return value


def events_topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    """Only principals of this account (through their IAM policies) use the topic, over TLS."""
    return document(
        {
            "Sid": "ThisAccountPublishesAndSubscribes",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id)},
            "Action": [
                "sns:Publish",
                "sns:Subscribe",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
            ],
            "Resource": topic_arn,
        },
        deny_insecure_transport("sns:Publish", topic_arn),
    )


def subscribed_queue_policy(queue_arn: str, topic_arn: str, account_id: str) -> dict[str, Any]:
    """SNS may send to the queue only on behalf of our topic in our account (confused deputy)."""
    return document(
        {
            "Sid": "EventsTopicDelivers",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "ArnEquals": {"aws:SourceArn": topic_arn},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
        deny_insecure_transport("sqs:*", queue_arn),
    )


def dead_letter_queue_policy(queue_arn: str) -> dict[str, Any]:
    """The consumer DLQ receives only through SQS redrive (no service principal), over TLS."""
    return document(deny_insecure_transport("sqs:*", queue_arn))


def publisher_statements(
    topic_arn: pulumi.Input[str], messaging_key_arn: pulumi.Input[str], region: str
) -> list[dict[str, Any]]:
    """What the api function needs to publish domain events to the encrypted topic."""
    return [
        {
            "Sid": "PublishDomainEvents",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": topic_arn,
        },
        {
            # Publishing to an SSE-KMS topic needs a data key from the topic's key.
            "Sid": "EncryptDomainEvents",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": messaging_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
        },
    ]


def subscriber_statements(
    queue_arn: pulumi.Input[str], messaging_key_arn: pulumi.Input[str], region: str
) -> list[dict[str, Any]]:
    """What the subscriber (through its event source mapping) needs on the queue."""
    return [
        {
            "Sid": "ConsumeEventsQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            "Resource": queue_arn,
        },
        {
            "Sid": "DecryptEventsQueue",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": messaging_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
        },
    ]


def platform_application_arn(
    region: str, account_id: pulumi.Input[str], platform: str, name: str
) -> pulumi.Input[str]:
    return sns_arn(region, account_id, f"app/{platform}/{name}")


def platform_endpoints_arn(
    region: str, account_id: pulumi.Input[str], platform: str, name: str
) -> pulumi.Input[str]:
    return sns_arn(region, account_id, f"endpoint/{platform}/{name}/*")


def push_applications(
    region: str,
    account_id: pulumi.Input[str],
    environment: str,
    apns: ApnsCredentials | None,
    fcm: FcmCredentials | None,
) -> dict[str, tuple[str, str, pulumi.Input[str]]]:
    """settings key → (SNS platform, application name, application ARN) for configured ones."""
    names = resource_names(environment)
    found: dict[str, tuple[str, str, pulumi.Input[str]]] = {}
    if apns is not None:
        platform = PUSH_PLATFORMS["apns_sandbox" if apns.sandbox else "apns"]
        found["apns"] = (
            platform,
            names["apns"],
            platform_application_arn(region, account_id, platform, names["apns"]),
        )
    if fcm is not None:
        platform = PUSH_PLATFORMS["fcm"]
        found["fcm"] = (
            platform,
            names["fcm"],
            platform_application_arn(region, account_id, platform, names["fcm"]),
        )
    return found


def push_statements(
    region: str, account_id: pulumi.Input[str], applications: Mapping[str, tuple]
) -> list[dict[str, Any]]:
    """Register devices on the configured applications and manage/publish to their endpoints
    only; no statement when no platform is configured."""
    if not applications:
        return []
    app_arns = [arn for _, _, arn in applications.values()]
    endpoints = [
        platform_endpoints_arn(region, account_id, platform, name)
        for platform, name, _ in applications.values()
    ]
    return [
        {
            "Sid": "RegisterDeviceEndpoints",
            "Effect": "Allow",
            "Action": "sns:CreatePlatformEndpoint",
            "Resource": app_arns,
        },
        {
            "Sid": "PushToAndManageDeviceEndpoints",
            "Effect": "Allow",
            "Action": [
                "sns:Publish",
                "sns:DeleteEndpoint",
                "sns:GetEndpointAttributes",
                "sns:SetEndpointAttributes",
            ],
            "Resource": endpoints,
        },
    ]


def relay_statements(
    regions: Sequence[str], account_id: pulumi.Input[str], environment: str
) -> list[dict[str, Any]]:
    """What the push relay may do: the endpoint operations the api makes, on the endpoints of
    this deployment's platform applications (deterministic names, whichever a region
    configured) in every serving region. Never CreatePlatformEndpoint: registration happens in
    the region that serves it."""
    names = resource_names(environment)
    applications = [
        (PUSH_PLATFORMS["apns"], names["apns"]),
        (PUSH_PLATFORMS["apns_sandbox"], names["apns"]),
        (PUSH_PLATFORMS["fcm"], names["fcm"]),
    ]
    return [
        {
            "Sid": "ReachDeviceEndpointsInEveryServingRegion",
            "Effect": "Allow",
            "Action": [
                "sns:Publish",
                "sns:DeleteEndpoint",
                "sns:GetEndpointAttributes",
                "sns:SetEndpointAttributes",
            ],
            "Resource": [
                platform_endpoints_arn(region, account_id, platform, name)
                for region in regions
                for platform, name in applications
            ],
        }
    ]


def push_platform_env(application_arns: Mapping[str, str]) -> str:
    """``PUSH_PLATFORM_APPLICATIONS``: JSON ``{"apns": arn, "fcm": arn}`` (configured only)."""
    return json.dumps(dict(sorted(application_arns.items())), separators=(",", ":"))


@dataclass(frozen=True)
class MessagingArgs:
    account_id: pulumi.Input[str]
    region: str
    environment: str
    messaging_key_arn: pulumi.Input[str]
    # The subscriber function's timeout: the visibility timeout is derived from it.
    subscriber_timeout_seconds: int
    batch_size: int = 10
    batch_window_seconds: int = 1
    max_receive_count: int = 5
    visibility_timeout_seconds: int | None = None


class Messaging(pulumi.ComponentResource):
    """Creates ``aws.sns.Topic`` (events, messaging key) + ``TopicPolicy``; ``aws.sqs.Queue``
    events queue (long polling, redrive to the DLQ) + ``QueuePolicy``; the consumer DLQ +
    ``QueuePolicy`` + ``RedriveAllowPolicy`` (only the events queue may redrive into it); the
    delivery DLQ for the subscription + ``QueuePolicy``; a raw-delivery ``TopicSubscription``
    with a redrive policy. ``connect_subscriber`` adds the ``aws.lambda_.EventSourceMapping``
    once the subscriber function exists (it is built after the topic it publishes to).

    Attributes: ``topic_arn``, ``queue_arn``, ``queue_url``, ``queue_name``, ``dlq_arn``,
    ``dlq_name``, ``delivery_dlq_arn``, ``delivery_dlq_name``, ``visibility_timeout_seconds``,
    ``publisher_statements``, ``subscriber_statements`` (lists of IAM statements).
    """

    def __init__(self, name: str, args: MessagingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:messaging:Messaging", name, None, opts)
        # Validate before declaring anything: a bad timeout must stop the preview.
        visibility = visibility_timeout(
            args.subscriber_timeout_seconds,
            args.batch_window_seconds,
            args.visibility_timeout_seconds,
        )
        if args.max_receive_count < 5:
            raise ValueError(
                f"max_receive_count {args.max_receive_count} < 5: throttles alone would "
                "dead-letter healthy messages; use at least 5"
            )
        child = pulumi.ResourceOptions(parent=self)
        names = resource_names(args.environment)
        account = pulumi.Output.from_input(args.account_id)

        topic = aws.sns.Topic(
            f"{name}-topic",
            name=names["topic"],
            kms_master_key_id=args.messaging_key_arn,
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account).apply(
                lambda v: json.dumps(events_topic_policy(v[0], v[1]))
            ),
            opts=child,
        )

        def queue(suffix: str, queue_name: str, **kwargs) -> aws.sqs.Queue:
            return aws.sqs.Queue(
                f"{name}-{suffix}",
                name=queue_name,
                kms_master_key_id=args.messaging_key_arn,
                kms_data_key_reuse_period_seconds=300,
                receive_wait_time_seconds=LONG_POLL_SECONDS,
                opts=child,
                **kwargs,
            )

        dlq = queue("dlq", names["dlq"], message_retention_seconds=DLQ_RETENTION_SECONDS)
        delivery_dlq = queue(
            "delivery-dlq", names["delivery_dlq"], message_retention_seconds=DLQ_RETENTION_SECONDS
        )
        events = queue(
            "queue",
            names["queue"],
            visibility_timeout_seconds=visibility,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count}
                )
            ),
        )
        # The provider's id of a queue is its URL.
        aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=events.id,
            policy=pulumi.Output.all(events.arn, topic.arn, account).apply(
                lambda v: json.dumps(subscribed_queue_policy(v[0], v[1], v[2]))
            ),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=dlq.id,
            policy=dlq.arn.apply(lambda arn: json.dumps(dead_letter_queue_policy(arn))),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dlq.id,
            redrive_allow_policy=events.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        delivery_dlq_policy = aws.sqs.QueuePolicy(
            f"{name}-delivery-dlq-policy",
            queue_url=delivery_dlq.id,
            policy=pulumi.Output.all(delivery_dlq.arn, topic.arn, account).apply(
                lambda v: json.dumps(subscribed_queue_policy(v[0], v[1], v[2]))
            ),
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-subscription",
            topic=topic.arn,
            protocol="sqs",
            endpoint=events.arn,
            # The subscriber reads the message body as published, not an SNS envelope.
            raw_message_delivery=True,
            redrive_policy=delivery_dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn})
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery_dlq_policy]),
        )
        self.topic_arn = topic.arn
        self.queue_arn = events.arn
        self.queue_url = events.id
        self.queue_name = events.name
        self.dlq_arn = dlq.arn
        self.dlq_name = dlq.name
        self.delivery_dlq_arn = delivery_dlq.arn
        self.delivery_dlq_name = delivery_dlq.name
        self.visibility_timeout_seconds = visibility
        self._name = name
        self._args = args
        self.publisher_statements = publisher_statements(
            topic.arn, args.messaging_key_arn, args.region
        )
        self.subscriber_statements = subscriber_statements(
            events.arn, args.messaging_key_arn, args.region
        )
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "queue_arn": self.queue_arn,
                "queue_url": self.queue_url,
                "dlq_arn": self.dlq_arn,
                "delivery_dlq_arn": self.delivery_dlq_arn,
            }
        )

    def connect_subscriber(
        self, function_arn: pulumi.Input[str], max_concurrency: int | None = None
    ) -> aws.lambda_.EventSourceMapping:
        """The queue → subscriber mapping with partial batch failures. ``max_concurrency``
        caps the pollers below the subscriber's reserved concurrency (≥ 2), so a burst does
        not throttle the function and burn receive counts into the DLQ."""
        scaling = None
        if max_concurrency is not None:
            scaling = aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=max(2, max_concurrency)
            )
        return aws.lambda_.EventSourceMapping(
            f"{self._name}-subscriber-mapping",
            event_source_arn=self.queue_arn,
            function_name=function_arn,
            batch_size=self._args.batch_size,
            maximum_batching_window_in_seconds=self._args.batch_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=scaling,
            opts=pulumi.ResourceOptions(parent=self),
        )


@dataclass(frozen=True)
class PushPlatformsArgs:
    account_id: pulumi.Input[str]
    region: str
    environment: str
    # Every serving region: the push relay reaches device endpoints in each of them.
    regions: Sequence[str]
    apns: ApnsCredentials | None = None
    fcm: FcmCredentials | None = None


class PushPlatforms(pulumi.ComponentResource):
    """Creates an ``aws.sns.PlatformApplication`` per configured platform: APNs (token auth:
    .p8 signing key, key id, team id, bundle id; ``APNS_SANDBOX`` when ``sandbox``) and FCM
    (HTTP v1 service account JSON). Credentials travel as Pulumi secrets.

    Attributes: ``application_arns`` (settings key → ARN), ``statements`` (what the api
    function may do with them), ``relay_statements`` (what the push relay may do with any
    region's endpoints), ``env_json`` (``PUSH_PLATFORM_APPLICATIONS``).
    """

    def __init__(
        self, name: str, args: PushPlatformsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:messaging:PushPlatforms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        planned = push_applications(
            args.region, args.account_id, args.environment, args.apns, args.fcm
        )
        self.application_arns: dict[str, pulumi.Output[str]] = {}
        if args.apns is not None:
            platform, app_name, _ = planned["apns"]
            app = aws.sns.PlatformApplication(
                f"{name}-apns",
                name=app_name,
                platform=platform,
                platform_credential=pulumi.Output.secret(args.apns.signing_key),
                platform_principal=args.apns.key_id,
                apple_platform_team_id=args.apns.team_id,
                apple_platform_bundle_id=args.apns.bundle_id,
                opts=child,
            )
            self.application_arns["apns"] = app.arn
        if args.fcm is not None:
            platform, app_name, _ = planned["fcm"]
            app = aws.sns.PlatformApplication(
                f"{name}-fcm",
                name=app_name,
                platform=platform,
                platform_credential=pulumi.Output.secret(args.fcm.service_account_json),
                opts=child,
            )
            self.application_arns["fcm"] = app.arn
        self.statements = push_statements(args.region, args.account_id, planned)
        self.relay_statements = relay_statements(args.regions, args.account_id, args.environment)
        # Output.all() of nothing resolves to a list, hence the explicit empty case.
        self.env_json: pulumi.Output[str] = (
            pulumi.Output.all(**self.application_arns).apply(push_platform_env)
            if self.application_arns
            else pulumi.Output.from_input(push_platform_env({}))
        )
        self.register_outputs({"application_arns": self.application_arns})
