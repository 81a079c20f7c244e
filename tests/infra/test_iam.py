"""R-SEC-1: every identity policy of every stack passes the least-privilege checks."""

from __future__ import annotations

import pytest

from tests.infra.iam_checks import identity_policies, is_write, violations


def test_every_identity_policy_is_least_privilege(all_synths):
    checked = 0
    for stack, synth in all_synths.items():
        for name, policy in identity_policies(synth):
            assert violations(policy) == [], f"{stack}: {name}"
            checked += 1
    assert checked >= 8, "the check saw too few policies to mean anything"


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Action": "*", "Resource": "arn:aws:s3:::b"}, "every action"),
        ({"Action": ["s3:*"], "Resource": ["arn:aws:s3:::b"]}, "every action (s3:*)"),
        ({"Action": "s3:PutObject", "Resource": "*"}, "write s3:PutObject on '*'"),
        ({"Action": ["sns:Publish"], "Resource": ["*"]}, "write sns:Publish"),
        ({"NotAction": "iam:*", "Resource": "*"}, "NotAction"),
    ],
)
def test_checker_flags_wildcards_and_unscoped_writes(statement, problem):
    found = violations({"Statement": [{"Effect": "Allow", **statement}]})
    assert any(problem in p for p in found), found


@pytest.mark.parametrize(
    "statement",
    [
        {"Action": ["xray:PutTraceSegments"], "Resource": "*"},
        {"Action": ["cognito-idp:ListUserPools", "logs:DescribeLogGroups"], "Resource": "*"},
        {"Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::b/uploads/*"]},
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    ],
)
def test_checker_accepts_reads_documented_exceptions_and_denies(statement):
    assert violations({"Statement": [{"Effect": "Allow", **statement}]}) == []


def test_write_classification():
    assert is_write("s3:PutObject") and is_write("cognito-idp:AdminInitiateAuth")
    assert not is_write("s3:GetObject") and not is_write("ec2:DescribeSubnets")
