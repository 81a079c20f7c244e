"""Adapters from ``pulumi_policy`` arguments to the pure controls, and the pack's policies.

``build_policies()`` wraps every control of ``controls.CONTROLS`` in a mandatory
``ResourceValidationPolicy`` or ``StackValidationPolicy``. The stack context (the GDPR
transfer mechanism, the stack's role and environment) comes from the stack's own config,
which the CLI hands to the policy pack; the residency policy's pack config
``transferMechanism`` overrides it (e.g. ``policyPackConfigs`` in CI).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

if __package__:
    from .controls import COMPUTED, CONTROLS, PRODUCTION, Context, Control, Res, evaluate
else:  # run by the Pulumi CLI from the pack directory
    from controls import COMPUTED, CONTROLS, PRODUCTION, Context, Control, Res, evaluate

PROJECT = "mobile-backend"
PACK_NAME = "mobile-backend-compliance"


def plain(value: Any) -> Any:
    """The engine's props with every unknown (preview) value replaced by ``COMPUTED``.

    ``pulumi_policy`` raises on reading an unknown, which would turn the whole policy into an
    advisory "can't run during preview" note. A computed value is one another resource
    produces (a key ARN, a bucket id): the controls treat it as set, and ``pulumi up`` checks
    the real value again once it is known.
    """
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = COMPUTED
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(COMPUTED)
        return items
    return value


def _tags_of(provider_props: Mapping[str, Any] | None, props: Mapping[str, Any]) -> dict:
    tags: dict[str, str] = {}
    default_tags = (provider_props or {}).get("defaultTags")
    if isinstance(default_tags, str):  # provider inputs reach the engine JSON-encoded
        default_tags = json.loads(default_tags)
    if isinstance(default_tags, Mapping):
        tags.update(default_tags.get("tags") or {})
    own = props.get("tags")
    if isinstance(own, Mapping):
        tags.update(own)
    return tags


def to_res(
    typ: str,
    urn: str,
    name: str,
    props: Mapping[str, Any],
    provider_props: Mapping[str, Any] | None,
    deps: Mapping[str, list[Any]] | None = None,
) -> Res:
    props = plain(props)
    provider_props = plain(provider_props) if provider_props is not None else None
    region = props.get("region") or (provider_props or {}).get("region")
    ids = frozenset(
        v
        for k in ("id", "arn", "name", "bucket", "zoneId")
        if isinstance(v := props.get(k), str) and v and v != COMPUTED
    )
    return Res(
        urn=urn,
        type=typ,
        name=name,
        props=props,
        region=region,
        tags=_tags_of(provider_props, props),
        ids=ids,
        deps={k: frozenset(d.urn for d in v) for k, v in (deps or {}).items()},
    )


def _stack_config(key: str) -> str | None:
    try:
        return pulumi.Config(PROJECT).get(key)
    except Exception:  # no stack config handed to this analyzer
        return None


def context(policy_config: Mapping[str, Any] | None = None) -> Context:
    mechanism = (policy_config or {}).get("transferMechanism") or _stack_config(
        "gdprTransferMechanism"
    )
    return Context(
        transfer_mechanism=mechanism,
        role=_stack_config("role"),
        environment=_stack_config("environment") or PRODUCTION,
    )


def _resource_validator(control: Control) -> Callable:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        provider = args.provider.props if args.provider else None
        res = to_res(args.resource_type, args.urn, args.name, args.props, provider)
        for violation in evaluate([res], context(args.get_config()), [control]):
            report_violation(violation.message, None)

    return validate


def _stack_validator(control: Control) -> Callable:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            to_res(
                r.resource_type,
                r.urn,
                r.name,
                r.props,
                r.provider.props if r.provider else None,
                r.property_dependencies,
            )
            for r in args.resources
        ]
        for violation in evaluate(resources, context(args.get_config()), [control]):
            report_violation(violation.message, violation.urn or None)

    return validate


def build_policies(controls: tuple[Control, ...] = CONTROLS) -> list:
    policies: list = []
    for control in controls:
        schema = None
        if control.name == "gdpr-residency":
            schema = PolicyConfigSchema(
                properties={"transferMechanism": {"type": "string", "minLength": 10}}
            )
        kind = ResourceValidationPolicy if control.scope == "resource" else StackValidationPolicy
        wrap = _resource_validator if control.scope == "resource" else _stack_validator
        policies.append(
            kind(
                name=control.name,
                description=control.description,
                validate=wrap(control),
                enforcement_level=EnforcementLevel.MANDATORY,
                config_schema=schema,
            )
        )
    return policies
