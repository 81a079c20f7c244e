"""docs/compliance.md carries exactly the controls the pack enforces, with their mappings."""

from __future__ import annotations

from policy.controls import CONTROLS
from tests.infra.harness import ROOT

DOC = ROOT / "docs" / "compliance.md"


def _row(control) -> str:
    cells = [
        f"`{control.name}`",
        control.scope,
        control.description,
        "; ".join(control.hipaa) or "—",
        "; ".join(control.gdpr),
        "; ".join(control.aws) or "—",
    ]
    return "| " + " | ".join(cells) + " |"


def test_control_matrix_matches_the_policy_pack():
    text = DOC.read_text()
    table = text.split("<!-- control-matrix:", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [_row(control) for control in CONTROLS]


def test_doc_names_the_transfer_mechanism_configured_for_the_stacks():
    text = DOC.read_text()
    configured = (ROOT / "Pulumi.yaml").read_text()
    mechanism = "EU-US Data Privacy Framework (adequacy decision 2023/1795) + SCCs (2021/914)"
    assert mechanism in configured
    assert f"> {mechanism}" in text
