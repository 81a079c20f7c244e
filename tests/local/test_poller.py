"""The local SQS event source mapping on the synthesized queue: the queue's own visibility
timeout (181 s: six times the subscriber's, as synthesized) and redrive decide when a failed
record comes back and when it is dead-lettered; the queue clock lets that time pass at once."""

from __future__ import annotations

import json

import pytest

from local.cloud import client
from local.poller import poll_once
from local.runtime import LambdaContext


@pytest.fixture
def queue(built):
    cloud, region = built
    source = region.event_sources[0]
    sqs = client("sqs", region.endpoint, region.region)
    # What an earlier test left in flight becomes visible, then goes.
    cloud.advance(source.visibility_timeout_seconds)
    for url in (source.queue_url, source.dead_letter_queue_url):
        while messages := drain(sqs, url):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return cloud, region, source, sqs


def publish(region, body: dict) -> None:
    sns = client("sns", region.endpoint, region.region)
    topic = region.functions["api"].environment["EVENTS_TOPIC_ARN"]
    sns.publish(TopicArn=topic, Message=json.dumps(body))


def poll(region, source, sqs, handler):
    return poll_once(
        sqs,
        source.queue_url,
        source.queue_arn,
        region.region,
        handler,
        LambdaContext(region.functions[source.function]),
        batch_size=source.batch_size,
        # The batching window is not what these tests are about: no second waited per poll.
        window_seconds=0,
        wait_seconds=0,
        report_batch_item_failures=source.report_batch_item_failures,
    )


def drain(sqs, url):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )


def test_delivered_records_reach_the_handler_and_are_deleted(queue):
    _, region, source, sqs = queue
    publish(region, {"name": "Ada"})
    seen = []

    def handler(event, context):
        seen.extend(json.loads(r["body"]) for r in event["Records"])
        assert event["Records"][0]["eventSourceARN"] == source.queue_arn
        return {"batchItemFailures": []}

    result = poll(region, source, sqs, handler)
    assert (result.received, result.deleted, result.failed) == (1, 1, 0)
    assert seen == [{"name": "Ada"}]
    assert drain(sqs, source.queue_url) == []


def test_a_failed_record_waits_out_the_visibility_timeout_then_is_dead_lettered(queue):
    cloud, region, source, sqs = queue
    publish(region, {"poison": True})
    publish(region, {"name": "Grace"})
    applied = []

    def handler(event, context):
        failures = []
        for record in event["Records"]:
            body = json.loads(record["body"])
            if body.get("poison"):
                failures.append({"itemIdentifier": record["messageId"]})
            else:
                applied.append(body["name"])
        return {"batchItemFailures": failures}

    assert poll(region, source, sqs, handler).failed == 1
    # Not back before the synthesized visibility timeout...
    cloud.advance(source.visibility_timeout_seconds - 5)
    assert poll(region, source, sqs, handler).received == 0
    # ...back after it, every time, until the queue's maxReceiveCount moves it to the DLQ.
    for _ in range(source.max_receive_count - 1):
        cloud.advance(source.visibility_timeout_seconds)
        assert poll(region, source, sqs, handler).failed == 1
    cloud.advance(source.visibility_timeout_seconds)
    assert poll(region, source, sqs, handler).received == 0
    assert applied == ["Grace"]
    dead = drain(sqs, source.dead_letter_queue_url)
    assert [json.loads(m["Body"]) for m in dead] == [{"poison": True}]


def test_a_handler_that_raises_fails_the_whole_batch(queue):
    cloud, region, source, sqs = queue
    publish(region, {"name": "One"})
    publish(region, {"name": "Two"})

    def handler(event, context):
        raise RuntimeError("database down")

    result = poll(region, source, sqs, handler)
    assert (result.received, result.deleted, result.failed) == (2, 0, 2)
    cloud.advance(source.visibility_timeout_seconds)
    assert poll(region, source, sqs, lambda e, c: {"batchItemFailures": []}).deleted == 2
