"""An SQS → Lambda event source mapping, locally: same batches, same partial-failure rules.

Configured by the synthesized mapping and queue (``local.region.EventSource``): up to
``batch_size`` records gathered for at most ``window_seconds`` per invocation. Like the managed
mapping with ``ReportBatchItemFailures``, records the handler reports as failed (or the whole
batch if the handler raises, or every record without that setting) are not deleted: they
reappear after the queue's visibility timeout, untouched (the managed mapping does not change
it either), and past the queue's ``maxReceiveCount`` SQS moves them to the dead-letter queue.
Records that succeeded are deleted. The SQS calls are made with the function's own
permissions, as the managed mapping uses the function's execution role.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any] | None]
# Long-poll slices: short enough that Ctrl-C stops the worker at once.
POLL_SECONDS = 1


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


def _receive(sqs: Any, queue_url: str, count: int, wait: int) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=min(count, 10),
        WaitTimeSeconds=wait,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def poll_once(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    region: str,
    handler: Handler,
    context: Any,
    *,
    batch_size: int = 10,
    window_seconds: float = 0,
    wait_seconds: int = POLL_SECONDS,
    report_batch_item_failures: bool = True,
) -> PollResult:
    messages = _receive(sqs, queue_url, batch_size, wait_seconds)
    if not messages:
        return PollResult(0, 0, 0)
    deadline = time.monotonic() + window_seconds
    while len(messages) < batch_size and time.monotonic() < deadline:
        more = _receive(sqs, queue_url, batch_size - len(messages), 0)
        if not more:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        messages.extend(more)
    try:
        response = handler(to_event(messages, queue_arn, region), context) or {}
        if report_batch_item_failures:
            failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        else:
            failed_ids = set()
    except Exception:  # the managed mapping retries the whole batch when the function fails
        failed_ids = {m["MessageId"] for m in messages}
    done = [m for m in messages if m["MessageId"] not in failed_ids]
    for start in range(0, len(done), 10):
        chunk = done[start : start + 10]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ],
        )
    return PollResult(len(messages), len(done), len(failed_ids))


def run(
    sqs: Any,
    source: Any,
    region: str,
    handler: Handler,
    context_factory: Callable[[], Any],
    stop: threading.Event,
) -> None:
    """Poll ``source`` (a ``local.region.EventSource``) until ``stop`` is set."""
    while not stop.is_set():
        try:
            poll_once(
                sqs,
                source.queue_url,
                source.queue_arn,
                region,
                handler,
                context_factory(),
                batch_size=source.batch_size,
                window_seconds=source.window_seconds,
                report_batch_item_failures=source.report_batch_item_failures,
            )
        except Exception as error:  # the managed mapping keeps polling through errors
            print(f"event source mapping: {type(error).__name__}: {error}", flush=True)
            stop.wait(1)
