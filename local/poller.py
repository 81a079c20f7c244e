"""An SQS → Lambda event source mapping, locally: same batches, same partial-failure rules.

Like the managed mapping with ``ReportBatchItemFailures``: records the handler reports as
failed (or the whole batch, if the handler raises) are not deleted, so they reappear after
the visibility timeout and, past the queue's ``maxReceiveCount``, SQS moves them to the
dead-letter queue. Records that succeeded are deleted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any] | None]


@dataclass
class PollResult:
    received: int
    deleted: int
    failed: int


def to_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def poll_once(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    region: str,
    handler: Handler,
    context: Any,
    *,
    batch_size: int = 10,
    wait_seconds: int = 1,
) -> PollResult:
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=batch_size,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not messages:
        return PollResult(0, 0, 0)
    try:
        response = handler(to_event(messages, queue_arn, region), context) or {}
        failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    except Exception:  # the managed mapping retries the whole batch when the function fails
        failed_ids = {m["MessageId"] for m in messages}
    done = [m for m in messages if m["MessageId"] not in failed_ids]
    if done:
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
            ],
        )
    return PollResult(len(messages), len(done), len(failed_ids))


def run(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    region: str,
    handler: Handler,
    context_factory: Callable[[], Any],
    stop: threading.Event,
) -> None:
    while not stop.is_set():
        poll_once(sqs, queue_url, queue_arn, region, handler, context_factory())
