"""The region's alarm topic: where every alarm and security event rule sends (R-OBS-1)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.policy_documents import deny_insecure_transport, document


@dataclass(frozen=True)
class AlarmTopicArgs:
    account_id: pulumi.Input[str]
    messaging_key_arn: pulumi.Input[str]
    email: str


def alarm_topic_policy(topic_arn: str, account_id: str) -> dict:
    """Only CloudWatch alarms and EventBridge rules of this account may publish."""
    return document(
        {
            "Sid": "AlarmsAndRulesOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        deny_insecure_transport("sns:Publish", topic_arn),
    )


class AlarmTopic(pulumi.ComponentResource):
    """Creates an ``aws.sns.Topic`` encrypted with the messaging key, its ``TopicPolicy`` and
    an email ``TopicSubscription`` (the recipient must confirm it once).

    Attributes: ``topic_arn``.
    """

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:observability:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=args.messaging_key_arn, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                lambda v: json.dumps(alarm_topic_policy(v[0], v[1]))
            ),
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-email", topic=topic.arn, protocol="email", endpoint=args.email, opts=child
        )
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})
