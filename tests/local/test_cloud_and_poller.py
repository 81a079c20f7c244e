"""The seeded local cloud (moto server) and the local SQS event source mapping."""

from __future__ import annotations

import json

import pytest

from local.cloud import LocalCloud, client, sign_in
from local.gateway import LambdaContext
from local.poller import poll_once


@pytest.fixture(scope="module")
def cloud():
    local = LocalCloud(visibility_timeout=1, max_receive_count=2)
    endpoint = local.start()
    seeded = local.seed(endpoint, {"host": "127.0.0.1", "port": 5432, "username": "app"})
    yield seeded
    local.stop()


def publish(seeded, body: dict) -> str:
    return client("sns", seeded.endpoint).publish(
        TopicArn=seeded.topic_arn, Message=json.dumps(body)
    )["MessageId"]


def drain(sqs, url):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )


def test_topic_delivers_raw_messages_to_the_queue(cloud):
    sqs = client("sqs", cloud.endpoint)
    publish(cloud, {"name": "Ada"})
    seen = []

    def handler(event, context):
        seen.extend(json.loads(r["body"]) for r in event["Records"])
        assert event["Records"][0]["eventSourceARN"] == cloud.queue_arn
        return {"batchItemFailures": []}

    result = poll_once(sqs, cloud.queue_url, cloud.queue_arn, "eu-west-1", handler, LambdaContext())
    assert (result.received, result.deleted, result.failed) == (1, 1, 0)
    assert seen == [{"name": "Ada"}]
    assert drain(sqs, cloud.queue_url) == []


def test_reported_failures_are_redelivered_then_dead_lettered(cloud):
    sqs = client("sqs", cloud.endpoint)
    publish(cloud, {"poison": True})
    publish(cloud, {"name": "Grace"})
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

    for _ in range(6):
        poll_once(
            sqs,
            cloud.queue_url,
            cloud.queue_arn,
            "eu-west-1",
            handler,
            LambdaContext(),
            wait_seconds=2,
        )
    assert applied == ["Grace"]
    dead = drain(sqs, cloud.dlq_url)
    assert [json.loads(m["Body"]) for m in dead] == [{"poison": True}]


def test_demo_user_signs_in_with_the_published_credentials(cloud):
    token = sign_in(cloud)
    claims = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["iss"] == cloud.issuer
    assert claims["aud"] == cloud.client_id
    assert claims["token_use"] == "id"


def test_db_secret_holds_the_connection_details(cloud):
    secret = client("secretsmanager", cloud.endpoint).get_secret_value(SecretId=cloud.db_secret_arn)
    assert json.loads(secret["SecretString"])["username"] == "app"
