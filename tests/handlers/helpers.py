"""Builders for the events Lambda receives, shared by the handler tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

ALICE = "11111111-1111-4111-8111-111111111111"
BOB = "22222222-2222-4222-8222-222222222222"


@dataclass
class LambdaContext:
    function_name: str = "test-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-fn"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def claims(sub: str, email: str | None = None, groups: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"sub": sub}
    if email:
        data["email"] = email
    if groups:
        data["cognito:groups"] = groups
    return {"claims": data}


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    authorizer: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the Lambda integration delivers it."""
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": authorizer,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:eu-west-1:123456789012:q") -> dict:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """Invoke the API function like API Gateway does; (status, decoded JSON body)."""
    from handlers.api.main import handler

    response = handler(api_event(method, path, **kwargs), LambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None
