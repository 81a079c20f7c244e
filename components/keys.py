"""Customer-managed KMS keys, one per purpose, for one region.

Separate keys per purpose (data, logs, messaging, secrets) keep blast radius and key policies
small: the logs key admits CloudWatch Logs, the messaging key admits SNS/CloudWatch/EventBridge,
and the data and secrets keys are usable only through IAM (services act with the caller's
permissions). Every key rotates yearly and waits the maximum 30 days before deletion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.policy_documents import KEY_PURPOSES, key_policy

DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class KeysArgs:
    account_id: pulumi.Input[str]
    region: str
    environment: str
    # Aliases are unique per account and region: the global stack's keys in a serving region
    # must not collide with that region's stack, so the caller names the scope.
    alias_prefix: str
    purposes: tuple[str, ...] = KEY_PURPOSES


class Keys(pulumi.ComponentResource):
    """Creates, per purpose: ``aws.kms.Key`` (rotation on, 30-day deletion window, scoped key
    policy) and ``aws.kms.Alias`` ``alias/<alias_prefix>/<purpose>``.

    Attributes: ``keys`` (purpose → Key) and ``arns`` (purpose → key ARN output).
    """

    keys: dict[str, aws.kms.Key]
    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:security:Keys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.keys = {}
        for purpose in args.purposes:
            policy = pulumi.Output.from_input(args.account_id).apply(
                lambda account, purpose=purpose: json.dumps(
                    key_policy(purpose, account, args.region)
                )
            )
            key = aws.kms.Key(
                f"{name}-{purpose}",
                description=f"mobile-backend {args.environment} {purpose} key ({args.region})",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=DELETION_WINDOW_DAYS,
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                policy=policy,
                opts=child,
            )
            aws.kms.Alias(
                f"{name}-{purpose}-alias",
                name=f"alias/{args.alias_prefix}/{purpose}",
                target_key_id=key.key_id,
                opts=child,
            )
            self.keys[purpose] = key
        self.arns = {purpose: key.arn for purpose, key in self.keys.items()}
        self.register_outputs({"arns": self.arns})
