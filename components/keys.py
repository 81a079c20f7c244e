"""Customer-managed KMS keys, one per purpose, for one region.

Separate keys per purpose (data, logs, messaging, secrets) keep blast radius and key policies
small: the logs key admits CloudWatch Logs, the messaging key admits SNS/CloudWatch/EventBridge,
and the data and secrets keys are usable only through IAM (services act with the caller's
permissions). Every key rotates yearly and waits the maximum 30 days before deletion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class ReplicatedKeyArgs:
    account_id: pulumi.Input[str]
    purpose: str
    environment: str
    home_region: str
    alias_prefix: str
    # Extra key-policy statements per region, ``(account_id, region) -> statements`` (e.g. a
    # development-account role decrypting one secret through Secrets Manager).
    extra_statements: Callable[[str, str], Sequence[dict[str, Any]]] | None = None


def _policy_with(base: dict[str, Any], extra: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {**base, "Statement": [*base["Statement"], *extra]}


class ReplicatedKey(pulumi.ComponentResource):
    """A multi-region KMS key: the primary in ``home_region`` and a ``ReplicaKey`` in every
    other region, for data the global stack replicates across regions (secret replicas,
    which need a key in each replica region before the regional stacks exist).

    ``providers`` maps region → provider; the home region must be among them.
    Attributes: ``arns`` (region → key ARN; same key id everywhere, as AWS defines MRKs).
    """

    def __init__(
        self,
        name: str,
        args: ReplicatedKeyArgs,
        providers: dict[str, pulumi.ProviderResource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:security:ReplicatedKey", name, None, opts)
        home = args.home_region
        policy_for = {
            region: pulumi.Output.from_input(args.account_id).apply(
                lambda account, region=region: json.dumps(
                    _policy_with(
                        key_policy(args.purpose, account, region),
                        args.extra_statements(account, region) if args.extra_statements else (),
                    )
                )
            )
            for region in providers
        }
        primary = aws.kms.Key(
            f"{name}-{home}",
            description=f"mobile-backend {args.environment} {args.purpose} multi-region key",
            multi_region=True,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=policy_for[home],
            opts=pulumi.ResourceOptions(parent=self, provider=providers[home]),
        )
        self.arns: dict[str, pulumi.Output[str]] = {home: primary.arn}
        for region, provider in providers.items():
            in_region = pulumi.ResourceOptions(parent=self, provider=provider)
            key_id = primary.key_id
            if region != home:
                replica = aws.kms.ReplicaKey(
                    f"{name}-{region}",
                    description=f"mobile-backend {args.environment} {args.purpose} replica",
                    primary_key_arn=primary.arn,
                    deletion_window_in_days=DELETION_WINDOW_DAYS,
                    policy=policy_for[region],
                    opts=in_region,
                )
                self.arns[region] = replica.arn
                key_id = replica.key_id
            aws.kms.Alias(
                f"{name}-{region}-alias",
                name=f"alias/{args.alias_prefix}/{args.purpose}",
                target_key_id=key_id,
                opts=in_region,
            )
        self.register_outputs({"arns": self.arns})
