"""mobile-backend:gdprTransferMechanism: validated up front, like every other key (R-STACK-4)."""

from __future__ import annotations

import json

import pytest

from settings import StackConfigError, parse
from tests.infra.harness import load_stack_config

KEY = "mobile-backend:gdprTransferMechanism"
FIX = (
    "set gdprTransferMechanism in Pulumi.yaml to the Chapter V instrument, e.g. "
    "'EU-US Data Privacy Framework + SCCs (2021/914)'"
)


class Source(dict):
    def get(self, key, default=None):
        return super().get(key, default)


def parse_with(stack: str = "prod-us", **changes):
    values = Source(load_stack_config(stack))
    for key, value in changes.items():
        full = f"mobile-backend:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value
    return parse(values, project="mobile-backend", stack=stack)


def problems(**changes) -> dict[str, tuple[str, str]]:
    with pytest.raises(StackConfigError) as raised:
        parse_with(**changes)
    return {p.key: (p.message, p.fix) for p in raised.value.problems}


@pytest.mark.parametrize("stack", ["prod-global", "prod-eu", "prod-us"])
def test_shipped_stacks_declare_the_mechanism(stack):
    assert parse_with(stack).gdpr_transfer_mechanism == (
        "EU-US Data Privacy Framework (adequacy decision 2023/1795) + SCCs (2021/914)"
    )


@pytest.mark.parametrize(
    "mechanism",
    [
        "Standard Contractual Clauses (2021/914), module 2",
        "Binding Corporate Rules approved by the CNIL",
        "EU-US DPF certification of the processor",
    ],
)
def test_recognised_mechanisms_are_accepted(mechanism):
    assert parse_with(gdprTransferMechanism=mechanism).gdpr_transfer_mechanism == mechanism


def test_required_when_personal_data_is_served_outside_the_eu():
    assert problems(gdprTransferMechanism=None) == {
        KEY: (
            "is required: phi data is replicated to us-west-1 outside the EU (a GDPR Chapter V "
            "transfer)",
            FIX,
        )
    }


def test_not_required_for_eu_only_topologies_or_non_personal_data():
    eu_only = json.dumps({"eu-west-1": {"cidr": "10.10.0.0/16"}})
    settings = parse_with("prod-eu", gdprTransferMechanism=None, regions=eu_only)
    assert settings.gdpr_transfer_mechanism is None
    internal = parse_with(gdprTransferMechanism=None, dataClassification="internal")
    assert internal.gdpr_transfer_mechanism is None


@pytest.mark.parametrize("value", ["we promise", "x" * 301])
def test_a_value_naming_no_mechanism_is_refused(value):
    assert problems(gdprTransferMechanism=value) == {
        KEY: (
            f"{value!r} names no GDPR transfer mechanism (DPF, SCCs, BCRs, adequacy, Art. 49)",
            FIX,
        )
    }
