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

from components.kms import DELETION_WINDOW_DAYS, customer_managed_key, key_alias
from components.policy_documents import KEY_PURPOSES, key_policy_document, purpose_statements


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
    """Creates, per purpose, a ``components.kms.customer_managed_key``: ``aws.kms.Key``
    (rotation on, 30-day deletion window, scoped key policy) and ``aws.kms.Alias``
    ``alias/<alias_prefix>/<purpose>``.

    Attributes: ``keys`` (purpose → Key) and ``arns`` (purpose → key ARN output).
    """

    keys: dict[str, aws.kms.Key]
    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:security:Keys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.keys = {}
        for purpose in args.purposes:
            self.keys[purpose] = customer_managed_key(
                f"{name}-{purpose}",
                description=f"mobile-backend {args.environment} {purpose} key ({args.region})",
                account_id=args.account_id,
                alias=f"alias/{args.alias_prefix}/{purpose}",
                service_statements=lambda account, purpose=purpose: purpose_statements(
                    purpose, account, args.region
                ),
                opts=child,
            )
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
        alias = f"alias/{args.alias_prefix}/{args.purpose}"

        def statements(account: str, region: str) -> list[dict[str, Any]]:
            extra = args.extra_statements(account, region) if args.extra_statements else ()
            return [*purpose_statements(args.purpose, account, region), *extra]

        primary = customer_managed_key(
            f"{name}-{home}",
            description=f"mobile-backend {args.environment} {args.purpose} multi-region key",
            account_id=args.account_id,
            alias=alias,
            service_statements=lambda account: statements(account, home),
            multi_region=True,
            opts=pulumi.ResourceOptions(parent=self, provider=providers[home]),
        )
        self.arns: dict[str, pulumi.Output[str]] = {home: primary.arn}
        for region, provider in providers.items():
            if region == home:
                continue
            in_region = pulumi.ResourceOptions(parent=self, provider=provider)
            # A replica shares the primary's key material and rotation; only its policy and
            # alias are its own.
            replica = aws.kms.ReplicaKey(
                f"{name}-{region}",
                description=f"mobile-backend {args.environment} {args.purpose} replica",
                primary_key_arn=primary.arn,
                deletion_window_in_days=DELETION_WINDOW_DAYS,
                policy=pulumi.Output.from_input(args.account_id).apply(
                    lambda account, region=region: json.dumps(
                        key_policy_document(account, statements(account, region))
                    )
                ),
                opts=in_region,
            )
            self.arns[region] = replica.arn
            key_alias(f"{name}-{region}-alias", alias, replica.key_id, in_region)
        self.register_outputs({"arns": self.arns})
