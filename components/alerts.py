"""The region's alarm topic, where every alarm and security event rule sends (R-OBS-1), and
the one recipe for an event rule that alerts it (R-OBS-5).

Some failures are events, not metrics: a failed secret rotation is a Secrets Manager service
event (CloudTrail ``RotationFailed``), not a datapoint an alarm could watch. An EventBridge rule
sends such events to the alarm topic, whose key and policy already admit EventBridge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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


# Secrets Manager service events (recorded by CloudTrail) that mean a rotation did not finish:
# it failed, or someone changed the secret by hand while it ran.
ROTATION_FAILURE_EVENTS = ("RotationFailed", "RotationAbandoned")


def rotation_failure_pattern() -> dict[str, Any]:
    """Every rotation failure of this account and region. Not narrowed to our secrets: in
    these accounts every rotated secret is ours, and a filter on a field of the event that
    AWS does not document exactly would silently never match."""
    return {
        "source": ["aws.secretsmanager"],
        "detail-type": ["AWS Service Event via CloudTrail"],
        "detail": {
            "eventSource": ["secretsmanager.amazonaws.com"],
            "eventName": list(ROTATION_FAILURE_EVENTS),
        },
    }


def alert_rule(
    name: str,
    *,
    description: str,
    pattern: pulumi.Input[str],
    topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.EventRule:
    """Declares ``aws.cloudwatch.EventRule`` ``name`` and its ``EventTarget`` ``<name>-target``
    (the alarm topic)."""
    rule = aws.cloudwatch.EventRule(name, description=description, event_pattern=pattern, opts=opts)
    aws.cloudwatch.EventTarget(f"{name}-target", rule=rule.name, arn=topic_arn, opts=opts)
    return rule


class RotationFailureAlert(pulumi.ComponentResource):
    """Secret rotation failures of the provider's region → ``topic_arn``: an ``alert_rule``
    on ``rotation_failure_pattern``. Declared where the rotated secrets' primary copies live:
    Secrets Manager rotates (and reports) only there.

    Attributes: ``rule_arn``.
    """

    def __init__(
        self,
        name: str,
        topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:observability:RotationFailureAlert", name, None, opts)
        rule = alert_rule(
            f"{name}-rule",
            description="A Secrets Manager rotation failed or was abandoned (runbook: "
            "docs/observability.md#secret-rotation-failed)",
            pattern=json.dumps(rotation_failure_pattern()),
            topic_arn=topic_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.rule_arn = rule.arn
        self.register_outputs({"rule_arn": self.rule_arn})


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
