"""Publishing domain messages to the regional SNS topic."""

from __future__ import annotations

from typing import Any

from backend.models import UserCreateMessage


def publish_user_create(sns: Any, topic_arn: str, message: UserCreateMessage) -> str:
    """Publish; returns the SNS message id. The body carries PII, so the topic uses a CMK and
    nothing here logs it."""
    response = sns.publish(
        TopicArn=topic_arn,
        Message=message.model_dump_json(),
        MessageAttributes={"type": {"DataType": "String", "StringValue": message.type}},
    )
    return str(response["MessageId"])
