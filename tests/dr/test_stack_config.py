"""The primaryRegion change: exact, both directions, every other byte preserved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dr.stack_config import (
    ConfigEditError,
    deploy_order,
    plan_config_change,
    read_project,
    set_primary_region,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = (
    "Pulumi.yaml",
    "Pulumi.prod-global.yaml",
    "Pulumi.prod-eu.yaml",
    "Pulumi.prod-us.yaml",
)


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    for name in PROJECT_FILES:
        shutil.copyfile(ROOT / name, tmp_path / name)
    return tmp_path


def changed_lines(before: str, after: str) -> list[tuple[int, str, str]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new), "the edit must not add or remove lines"
    return [(i, a, b) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


def test_eu_to_us_changes_exactly_the_primary_region_value_line():
    # GIVEN the repository's Pulumi.yaml (EU primary)
    text = (ROOT / "Pulumi.yaml").read_text()

    # WHEN the primary becomes us-west-1
    new_text, old = set_primary_region(text, "us-west-1")

    # THEN one line changed, the `value:` under `primaryRegion:`, and nothing else
    assert old == "eu-west-1"
    index = text.splitlines().index("  primaryRegion:") + 1
    assert changed_lines(text, new_text) == [
        (index, "    value: eu-west-1\n", "    value: us-west-1\n")
    ]


def test_us_to_eu_round_trip_restores_the_file_byte_for_byte():
    # GIVEN the file after a switchover to the US
    original = (ROOT / "Pulumi.yaml").read_text()
    us_text, _ = set_primary_region(original, "us-west-1")

    # WHEN switching back to the EU
    eu_text, old = set_primary_region(us_text, "eu-west-1")

    # THEN the result is the original file, byte for byte
    assert old == "us-west-1"
    assert eu_text == original


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  primaryRegion: eu-west-1\n", "  primaryRegion: us-west-1\n"),
        ('  primaryRegion: "eu-west-1"  # writer\n', '  primaryRegion: "us-west-1"  # writer\n'),
        (
            "  mobile-backend:primaryRegion: 'eu-west-1'\n",
            "  mobile-backend:primaryRegion: 'us-west-1'\n",
        ),
    ],
)
def test_inline_and_quoted_forms_keep_quotes_and_comments(line, expected):
    # GIVEN a config block with the key written inline
    text = f"# header\nconfig:\n  aws:region: eu-west-1\n{line}  other: primaryRegion\n"

    # WHEN edited
    new_text, old = set_primary_region(text, "us-west-1")

    # THEN only that line changed, quotes and comment kept
    assert old == "eu-west-1"
    assert new_text == text.replace(line, expected)


def test_crlf_line_endings_are_preserved():
    text = "config:\r\n  primaryRegion:\r\n    value: eu-west-1\r\n  domain:\r\n    value: x\r\n"
    new_text, _ = set_primary_region(text, "us-west-1")
    assert new_text == text.replace("value: eu-west-1\r\n", "value: us-west-1\r\n")


def test_a_file_without_primary_region_is_left_alone():
    text = (ROOT / "Pulumi.prod-eu.yaml").read_text()
    assert set_primary_region(text, "us-west-1") == (text, None)


def test_a_nested_key_of_the_same_name_is_not_mistaken_for_the_config_key():
    # GIVEN `primaryRegion` only appears nested below another key
    text = "config:\n  notes:\n    value:\n      primaryRegion: eu-west-1\n"
    assert set_primary_region(text, "us-west-1") == (text, None)


def test_a_form_it_cannot_edit_safely_is_refused():
    text = "config:\n  primaryRegion: {value: eu-west-1}\n"
    with pytest.raises(ConfigEditError, match="change it by hand"):
        set_primary_region(text, "us-west-1")


def test_plan_includes_stack_file_overrides(project_dir: Path):
    # GIVEN a stack file that overrides primaryRegion (allowed by Pulumi, a drift trap here)
    stack = project_dir / "Pulumi.prod-us.yaml"
    stack.write_text(stack.read_text() + "  mobile-backend:primaryRegion: eu-west-1\n")

    # WHEN planning the switch to the US
    changes = plan_config_change(read_project(project_dir), "us-west-1")

    # THEN both files are changed, each by one line
    assert [(c.path.name, c.old_value, c.new_value) for c in changes] == [
        ("Pulumi.yaml", "eu-west-1", "us-west-1"),
        ("Pulumi.prod-us.yaml", "eu-west-1", "us-west-1"),
    ]
    assert all(len(changed_lines(c.old_text, c.new_text)) == 1 for c in changes)


def test_diff_is_a_unified_diff_of_the_one_line(project_dir: Path):
    (change,) = plan_config_change(read_project(project_dir), "us-west-1")
    diff = change.diff(project_dir)
    assert diff.startswith("--- a/Pulumi.yaml\n+++ b/Pulumi.yaml\n@@ -11,7 +11,7 @@\n")
    assert [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")
    ] == [
        "-    value: eu-west-1",
        "+    value: us-west-1",
    ]


def test_apply_writes_the_file_and_the_project_reads_back_the_new_primary(project_dir: Path):
    # GIVEN the planned change
    (change,) = plan_config_change(read_project(project_dir), "us-west-1")

    # WHEN applied
    change.apply()

    # THEN the project now says us-west-1 and a second plan has nothing left to do
    project = read_project(project_dir)
    assert project.primary_region == "us-west-1"
    assert plan_config_change(project, "us-west-1") == []


def test_apply_refuses_when_the_file_changed_since_the_diff(project_dir: Path):
    (change,) = plan_config_change(read_project(project_dir), "us-west-1")
    (project_dir / "Pulumi.yaml").write_text(change.old_text + "# edited meanwhile\n")
    with pytest.raises(ConfigEditError, match="changed since the diff"):
        change.apply()


def test_unknown_region_is_refused(project_dir: Path):
    with pytest.raises(ConfigEditError, match="'eu-east-1' is not one of the serving regions"):
        plan_config_change(read_project(project_dir), "eu-east-1")


@pytest.mark.parametrize(
    ("new_primary", "expected"),
    [
        ("us-west-1", ["prod-global", "prod-us", "prod-eu"]),
        ("eu-west-1", ["prod-global", "prod-eu", "prod-us"]),
    ],
)
def test_deploy_order_is_global_then_new_primary_then_secondary(new_primary, expected):
    order = deploy_order(read_project(ROOT), new_primary, "prod")
    assert order == [f"pulumi up -s {stack}" for stack in expected]
