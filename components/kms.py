"""The one recipe for a customer-managed KMS key (R-SEC-1, R-SEC-3).

Every key here has a policy that starts with the account's key-administration statement (AWS's
default: without it a key can become unmanageable; it delegates to IAM) followed by the
statements of the services that use the key as themselves, an alias, and the longest deletion
window. An encryption key rotates yearly; a signing key (DNSSEC) cannot be rotated by AWS, so
it is protected from deletion instead: losing it takes the signed zone off the Internet.

``customer_managed_key`` declares the key and its alias as children of the caller, under the
names the callers always used (``<name>`` and ``<name>-alias``), so adopting it changed no URN.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import pulumi
import pulumi_aws as aws

from components.policy_documents import key_policy_document

DELETION_WINDOW_DAYS = 30
ROTATION_PERIOD_DAYS = 365

# A key policy's service statements, rendered once the account id is known.
ServiceStatements = Callable[[str], Sequence[dict[str, Any]]]


class KeyUsage(Enum):
    """What a key is for: ``(key_usage, customer_master_key_spec)`` as KMS names them."""

    ENCRYPTION = ("ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT")
    # Route 53 DNSSEC key-signing keys: asymmetric ECC P-256, sign and verify only.
    DNSSEC_SIGNING = ("SIGN_VERIFY", "ECC_NIST_P256")


def key_alias(
    name: str, alias: str, target_key_id: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.kms.Alias:
    return aws.kms.Alias(name, name=alias, target_key_id=target_key_id, opts=opts)


def customer_managed_key(
    name: str,
    *,
    description: str,
    account_id: pulumi.Input[str],
    alias: str,
    opts: pulumi.ResourceOptions,
    service_statements: ServiceStatements | None = lambda account: (),
    usage: KeyUsage = KeyUsage.ENCRYPTION,
    multi_region: bool = False,
) -> aws.kms.Key:
    """Declares ``aws.kms.Key`` ``name`` and ``aws.kms.Alias`` ``<name>-alias``.

    ``service_statements=None`` leaves the policy to a later ``aws.kms.KeyPolicy`` (for a key
    whose policy names a resource that needs the key first, like a distribution whose bucket
    the key encrypts); that policy must be rendered with ``key_policy_document``.
    """
    key_usage, spec = usage.value
    encrypts = usage is KeyUsage.ENCRYPTION
    policy = None
    if service_statements is not None:
        policy = pulumi.Output.from_input(account_id).apply(
            lambda account: json.dumps(
                key_policy_document(account, list(service_statements(account)))
            )
        )
    key = aws.kms.Key(
        name,
        description=description,
        key_usage=key_usage,
        customer_master_key_spec=spec,
        # AWS rotates symmetric encryption keys only.
        enable_key_rotation=True if encrypts else None,
        rotation_period_in_days=ROTATION_PERIOD_DAYS if encrypts else None,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        multi_region=True if multi_region else None,
        policy=policy,
        opts=opts
        if encrypts
        else pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True)),
    )
    key_alias(f"{name}-alias", alias, key.key_id, opts)
    return key
