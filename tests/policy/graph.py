"""The mocked resource graph as the policy controls see it.

Maps ``tests.infra.harness`` records to ``policy.controls.Res``: the region and default tags
come from the resource's provider, and ``ids`` are the identifiers the harness mocks hand out
(``<name>-id``, ``arn:aws:<service>:<region>:<account>:<name>``, the ``name`` output), which
is what another resource's input holds when it references this one.
"""

from __future__ import annotations

from policy.controls import Context, Res, Violation, evaluate
from tests.infra.harness import ACCOUNT, PROJECT, Resource, Synthesis, provider_tags


def to_res(synth: Synthesis, resource: Resource) -> Res:
    props = resource.inputs
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
        resource.mock_id,
        resource.outputs.get("arn"),
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
    )


def violations_of(synth: Synthesis, context: Context | None = None) -> list[Violation]:
    return evaluate(resources_of(synth), context or context_of(synth))
