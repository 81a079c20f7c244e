"""Importing a handler is its cold start: keep boto3 and psycopg out of module import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ["api", "subscriber", "user_migration", "migrations", "db_rotation"]


@pytest.mark.parametrize("name", HANDLERS)
def test_handler_import_defers_boto3_and_psycopg(name):
    code = (
        f"import sys, handlers.{name}.main as m; "
        "assert callable(m.handler); "
        "print(sorted(x for x in ('boto3', 'psycopg') if x in sys.modules))"
    )
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "cold-start-test",
        "POWERTOOLS_METRICS_NAMESPACE": "MobileBackend",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
