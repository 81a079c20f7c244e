"""Importing a handler is its cold start: keep boto3 and psycopg out of module import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from contract import telemetry

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = [
    "api",
    "subscriber",
    "user_directory",
    "user_migration",
    "migrations",
    "db_rotation",
    "dr_probe",
]


def test_handler_imports_defer_boto3_and_psycopg():
    # One fresh interpreter imports every handler and reports, per handler, which of the heavy
    # modules had been imported by then (imports are cumulative, so the check is strict).
    code = (
        "import importlib, sys\n"
        f"for name in {HANDLERS!r}:\n"
        "    module = importlib.import_module(f'handlers.{name}.main')\n"
        "    assert callable(module.handler)\n"
        "    heavy = [m for m in ('boto3', 'psycopg') if m in sys.modules]\n"
        "    print(name, heavy)\n"
    )
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "cold-start-test",
        "POWERTOOLS_METRICS_NAMESPACE": telemetry.METRICS_NAMESPACE,
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == [f"{name} []" for name in HANDLERS]
