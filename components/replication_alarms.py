"""Alarms on the assets replication, declared by the stack that owns it (R-OBS-1, R-OBS-2).

The global stack creates both replication directions (``components/storage.py``), so it also
watches them: nothing else knows the rule ids, and a regional stack alarming on them would
need them exported and would depend on the peer region's bucket. S3 publishes replication
metrics in the buckets' own regions (failures at the source, latency at the destination, see
``components.alarms.replication_specs``), and a CloudWatch alarm can notify only a topic of
its own region, so every region holding one of those alarms gets an alarm topic of this stack.
The regional stacks' alarm topics cannot serve: they are created after the global stack, which
must not depend on them (deploy order global → regions). The cost is one more e-mail
subscription per region to confirm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components.alarms import Alarms, AlarmsArgs, ReplicationTarget
from components.alerts import AlarmTopic, AlarmTopicArgs
from components.keys import Keys, KeysArgs
from contract import names
from contract.names import regional_prefix


@dataclass(frozen=True)
class ReplicationAlarmsArgs:
    account_id: pulumi.Input[str]
    environment: str
    email: str
    replications: Sequence[ReplicationTarget]


class ReplicationAlarms(pulumi.ComponentResource):
    """Per region that is the source or destination of a replication: a ``Keys`` component (one
    ``messaging`` CMK, alias ``alias/mobile-backend/<env>/replication-alarms/messaging``), an
    ``AlarmTopic`` encrypted with it (e-mail subscription to ``email``) and an ``Alarms``
    component with that region's replication alarms, named like every other alarm of the region
    (``mobile-backend-<env>-<region>-<key>``), notifying the topic on ALARM and OK.

    ``providers`` maps region → provider; every region a replication touches must be in it.
    Attributes: ``topic_arns`` (region → ARN), ``alarm_names`` (region → key → name).
    """

    def __init__(
        self,
        name: str,
        args: ReplicationAlarmsArgs,
        providers: Mapping[str, pulumi.ProviderResource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:observability:ReplicationAlarms", name, None, opts)
        self.topic_arns: dict[str, pulumi.Output[str]] = {}
        self.alarm_names: dict[str, dict[str, str]] = {}
        touched = dict.fromkeys(
            region
            for pair in args.replications
            for region in (pair.source_region, pair.destination_region)
        )
        missing = sorted(set(touched) - set(providers))
        if missing:
            raise ValueError(f"replication alarms need a provider for {missing}")
        for region in touched:
            in_region = pulumi.ResourceOptions(parent=self, provider=providers[region])
            keys = Keys(
                f"{name}-{region}-keys",
                KeysArgs(
                    account_id=args.account_id,
                    region=region,
                    environment=args.environment,
                    # Aliases are per account and region: the regional stack's own messaging
                    # key already holds alias/mobile-backend/<env>/messaging there.
                    alias_prefix=f"{names.alias_prefix(args.environment)}/replication-alarms",
                    purposes=("messaging",),
                ),
                opts=in_region,
            )
            topic = AlarmTopic(
                f"{name}-{region}-topic",
                AlarmTopicArgs(
                    account_id=args.account_id,
                    messaging_key_arn=keys.arns["messaging"],
                    email=args.email,
                ),
                opts=in_region,
            )
            alarms = Alarms(
                f"{name}-{region}",
                AlarmsArgs(
                    topic_arn=topic.topic_arn,
                    name_prefix=regional_prefix(args.environment, region),
                    region=region,
                    replication=[
                        pair
                        for pair in args.replications
                        if region in (pair.source_region, pair.destination_region)
                    ],
                ),
                opts=in_region,
            )
            self.topic_arns[region] = topic.topic_arn
            self.alarm_names[region] = alarms.alarm_names
        self.register_outputs({"topic_arns": self.topic_arns})
