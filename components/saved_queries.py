"""Saved CloudWatch Logs Insights queries of a region (R-OPS-3).

Five questions an operator asks during an incident, saved next to the logs they read: the
slowest routes, errors by route and status, one request followed from API Gateway into the
Lambda function by its request id, and the subscriber's failures, and the messages that failed
often enough to reach the dead-letter queue. Every query names the fields it shows: none
selects ``@message`` or ``sourceIp`` (the caller's IP is personal data), and the functions' log
lines carry ids and outcomes, never bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from contract import names

# Placeholder the operator replaces with the request id (API Gateway's ``x-amzn-RequestId``,
# the ``requestId`` of the access log and the api function's ``correlation_id``).
REQUEST_ID_PLACEHOLDER = "REQUEST_ID"


def slowest_requests() -> str:
    return (
        "fields resourcePath, httpMethod, responseLatency, integrationLatency\n"
        "| stats count(*) as requests, pct(responseLatency, 50) as p50, "
        "pct(responseLatency, 99) as p99, max(responseLatency) as slowest "
        "by httpMethod, resourcePath\n"
        "| sort p99 desc\n"
        "| limit 20"
    )


def errors_by_route() -> str:
    return (
        "fields resourcePath, httpMethod, status, errorType\n"
        "| filter status >= 400\n"
        "| stats count(*) as errors by httpMethod, resourcePath, status, errorType\n"
        "| sort errors desc"
    )


def request_trace() -> str:
    # The access log's requestId is what Powertools puts in the api function's
    # correlation_id (correlation_paths.API_GATEWAY_REST): one filter spans both groups.
    return (
        "fields @timestamp, @log, status, resourcePath, responseLatency, errorType, "
        "level, message, service, xray_trace_id, xrayTraceId\n"
        f'| filter requestId = "{REQUEST_ID_PLACEHOLDER}" '
        f'or correlation_id = "{REQUEST_ID_PLACEHOLDER}"\n'
        "| sort @timestamp asc"
    )


def subscriber_failures() -> str:
    return (
        'filter message = "message failed"\n'
        "| stats count(*) as failures by bin(5m), error\n"
        "| sort failures desc"
    )


def dlq_arrivals(max_receive_count: int) -> str:
    # SQS moves a message to the DLQ after max_receive_count failed receives; the subscriber
    # logs each failure with the SQS message id, so a message failed that many times is one
    # that arrived in the DLQ (the SNS delivery DLQ has no log: its alarm watches it).
    return (
        'filter message = "message failed"\n'
        "| stats count(*) as failures, latest(error) as last_error, "
        "max(@timestamp) as last_failure by sqs_message_id\n"
        f"| filter failures >= {max_receive_count}\n"
        "| sort last_failure desc"
    )


@dataclass(frozen=True)
class SavedQueriesArgs:
    environment: str
    access_log_group_name: pulumi.Input[str]
    api_log_group_name: pulumi.Input[str]
    subscriber_log_group_name: pulumi.Input[str]
    max_receive_count: int


class SavedQueries(pulumi.ComponentResource):
    """Creates five ``aws.cloudwatch.QueryDefinition`` s in folder ``query_folder(env)``, each
    scoped to the log groups it reads.

    Attributes: ``definitions`` (short name → QueryDefinition).
    """

    def __init__(
        self, name: str, args: SavedQueriesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:observability:SavedQueries", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        queries: Mapping[str, tuple[str, list[pulumi.Input[str]]]] = {
            "slowest-requests": (slowest_requests(), [args.access_log_group_name]),
            "errors-by-route": (errors_by_route(), [args.access_log_group_name]),
            "request-trace": (
                request_trace(),
                [args.access_log_group_name, args.api_log_group_name],
            ),
            "subscriber-failures": (subscriber_failures(), [args.subscriber_log_group_name]),
            "dlq-arrivals": (
                dlq_arrivals(args.max_receive_count),
                [args.subscriber_log_group_name],
            ),
        }
        folder = names.query_folder(args.environment)
        self.definitions = {
            key: aws.cloudwatch.QueryDefinition(
                f"{name}-{key}",
                name=f"{folder}/{key}",
                query_string=query,
                log_group_names=groups,
                opts=child,
            )
            for key, (query, groups) in queries.items()
        }
        self.register_outputs({})
