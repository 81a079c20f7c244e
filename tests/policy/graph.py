"""The mocked resource graph as the policy controls see it.

Maps ``tests.infra.harness`` records to ``policy.controls.Res``: the region and default tags
come from the resource's provider, and ``ids`` are the identifiers the harness mocks hand out
(``<name>-id``, ``arn:aws:<service>:<region>:<account>:<name>``, the ``name`` output), which
is what another resource's input holds when it references this one.
"""

from __future__ import annotations

from typing import Any

from policy.controls import PRODUCTION, Context, Res, Violation, evaluate
from tests.infra.harness import ACCOUNT, PROJECT, Resource, Synthesis, provider_tags

# Pulumi's marker of a secret value on the wire; the policy engine hands policies the value.
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unwrap_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if SECRET_SIG in value and "value" in value:
            return unwrap_secrets(value["value"])
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def to_res(synth: Synthesis, resource: Resource) -> Res:
    props = unwrap_secrets(resource.inputs)
    region = props.get("region") or synth.region_of(resource) or "us-east-1"
    provider = synth.provider_of(resource)
    tags = dict(provider_tags(provider)) if provider else {}
    if isinstance(props.get("tags"), dict):
        tags.update(props["tags"])
    service = resource.type.split(":")[1].split("/")[0]
    ids = {
        f"{resource.name}-id",
        f"arn:aws:{service}:{region}:{ACCOUNT}:{resource.name}",
        props.get("name") or resource.name,
        props.get("bucket"),
        resource.mock_id,
        resource.outputs.get("arn"),
        resource.outputs.get("zoneId"),
    }
    return Res(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        props=props,
        region=region,
        tags=tags,
        ids=frozenset(i for i in ids if isinstance(i, str)),
    )


def resources_of(synth: Synthesis) -> list[Res]:
    return [to_res(synth, r) for r in synth.aws_resources()]


def context_of(synth: Synthesis) -> Context:
    return Context(
        transfer_mechanism=synth.config.get(f"{PROJECT}:gdprTransferMechanism"),
        role=synth.config.get(f"{PROJECT}:role"),
        environment=synth.config.get(f"{PROJECT}:environment") or PRODUCTION,
    )


def violations_of(synth: Synthesis, context: Context | None = None) -> list[Violation]:
    return evaluate(resources_of(synth), context or context_of(synth))
