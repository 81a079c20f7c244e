"""IAM and KMS policy documents as pure functions of plain values.

Components call these inside ``Output.apply`` to render JSON once account ids are known; the
functions themselves take strings and return dicts, so they are unit-tested without mocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PARTITION = "aws"

# What a service needs to use a customer-managed key for envelope encryption.
ENVELOPE_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
ENVELOPE_ACTIONS_WITH_DESCRIBE = [*ENVELOPE_ACTIONS, "kms:DescribeKey"]

KEY_PURPOSES = ("data", "logs", "messaging", "secrets")


def account_root(account_id: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:root"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def account_administers_key(account_id: str) -> dict[str, Any]:
    """The key-policy statement that delegates access control to IAM (AWS's recommended
    default: without it a key can become unmanageable). Every CMK here starts with it."""
    return {
        "Sid": "AccountAdministersKeyThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(account_id)},
        "Action": "kms:*",
        "Resource": "*",
    }


def key_policy_document(account_id: str, statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every key policy here: the account administers the key through IAM, then the
    statements of the services that use the key as themselves (``components.kms``)."""
    return document(account_administers_key(account_id), *statements)


def purpose_statements(purpose: str, account_id: str, region: str) -> list[dict[str, Any]]:
    """Service statements of one purpose-specific CMK in ``region``: only the AWS services
    that encrypt on their own behalf for this purpose, pinned to this account (the data and
    secrets keys have none: services use them with the caller's permissions)."""
    if purpose not in KEY_PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}; expected one of {KEY_PURPOSES}")
    if purpose == "logs":
        # CloudWatch Logs encrypts log groups itself; the encryption context names the group.
        return [
            {
                "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ENVELOPE_ACTIONS_WITH_DESCRIBE,
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{PARTITION}:logs:{region}:{account_id}:log-group:*"
                        )
                    }
                },
            }
        ]
    if purpose == "messaging":
        # SNS → encrypted SQS, CloudWatch alarms and EventBridge → encrypted SNS topics: these
        # services call KMS as themselves, so the key policy (not IAM) must admit them.
        return [
            {
                "Sid": "AwsServicesPublishToEncryptedTopicsAndQueues",
                "Effect": "Allow",
                "Principal": {
                    "Service": [
                        "sns.amazonaws.com",
                        "cloudwatch.amazonaws.com",
                        "events.amazonaws.com",
                    ]
                },
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ]
    return []


def key_policy(purpose: str, account_id: str, region: str) -> dict[str, Any]:
    """The whole key policy of one purpose-specific CMK in ``region``."""
    return key_policy_document(account_id, purpose_statements(purpose, account_id, region))


def deny_insecure_transport(action: str, resources: str | Sequence[str]) -> dict[str, Any]:
    """The resource-policy statement that refuses every request made without TLS (S3 buckets,
    SNS topics, SQS queues): one statement, so the policy pack recognises every copy."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resources if isinstance(resources, str) else list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def assume_role_policy(service: str, account_id: str) -> dict[str, Any]:
    """Trust policy for a service role, scoped to this account (confused-deputy guard)."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )


def flow_logs_delivery_policy(log_group_arn: str) -> dict[str, Any]:
    """What VPC Flow Logs needs to write to exactly one log group."""
    return document(
        {
            "Sid": "WriteFlowLogsToOneGroup",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            # DescribeLogGroups has no resource-level permissions; it only lists names.
            "Sid": "FlowLogsChecksGroupExists",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": "*",
        },
    )
