"""R-PERF-2: SnapStart runtime hooks (handlers/snapstart.py) and their use by every app entry.

``snapshot_restore_py`` exists only in Lambda's Python runtime, so these tests stand in a fake
module that records what the entry points register, then play Lambda's part: run the
before-snapshot hooks, take a "snapshot" (the interpreter state), and restore it twice.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from backend import aws
from contract import environment as env
from contract import telemetry
from contract.functions import APP_FUNCTIONS
from handlers import common, snapstart

ROOT = Path(__file__).resolve().parents[2]


class FakeRuntime(types.ModuleType):
    """What the Lambda runtime's ``snapshot_restore_py`` offers: two registries."""

    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.before: list = []
        self.after: list = []

    def register_before_snapshot(self, hook):
        self.before.append(hook)
        return hook

    def register_after_restore(self, hook):
        self.after.append(hook)
        return hook


@pytest.fixture
def runtime(monkeypatch):
    fake = FakeRuntime()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    return fake


def test_without_the_lambda_runtime_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import raises ImportError
    assert snapstart.install(reset=lambda: None, preload_modules=("json",)) is False


def test_before_snapshot_imports_what_the_first_request_would(runtime, monkeypatch):
    monkeypatch.delitem(sys.modules, "xml.dom.minidom", raising=False)
    assert snapstart.install(reset=lambda: None, preload_modules=("xml.dom.minidom",))
    assert (len(runtime.before), len(runtime.after)) == (1, 1)
    assert "xml.dom.minidom" not in sys.modules, "nothing is imported until Lambda snapshots"
    runtime.before[0]()
    assert "xml.dom.minidom" in sys.modules


def test_restored_environments_draw_different_random_numbers(runtime):
    resets: list[int] = []
    snapstart.install(reset=lambda: resets.append(1))
    saved = random.getstate()
    try:
        random.seed(1234)
        snapshot = random.getstate()
        # Without the hook, two environments restored from one snapshot agree (the problem).
        random.setstate(snapshot)
        first = random.getrandbits(64)
        random.setstate(snapshot)
        assert random.getrandbits(64) == first
        # With it, each reseeds from its own entropy and resets its per-container objects.
        draws = []
        for _ in range(2):
            random.setstate(snapshot)
            runtime.after[0]()
            draws.append(random.getrandbits(64))
        assert draws[0] != draws[1] and first not in draws
        assert resets == [1, 1]
    finally:
        random.setstate(saved)


class FakeConnection:
    closed = False
    broken = False

    def close(self) -> None:
        self.closed = True


def test_after_restore_drops_the_connection_and_the_clients_made_before(runtime, monkeypatch):
    # The api's reset: the database connection (and its secret cache) and every boto3 client
    # go, so the first request reconnects with the restored environment's credentials.
    for variable, value in {
        env.AWS_REGION: "eu-west-1",
        env.DB_HOST: "proxy.example",
        env.DB_NAME: "app",
        env.DB_USER: "app_user",
        env.DB_AUTH: "iam",
        env.APP_ROLE_HINT: "primary",
    }.items():
        monkeypatch.setenv(variable.name, value)
    common.reset()
    try:
        snapstart.install(reset=common.reset)
        connection = FakeConnection()
        common.database()._conn = connection
        aws.client("sns", "eu-west-1")
        assert common.database.cache_info().currsize == 1
        assert aws.client.cache_info().currsize == 1
        runtime.after[0]()
        assert connection.closed
        assert common.database.cache_info().currsize == 0
        assert aws.client.cache_info().currsize == 0
    finally:
        common.reset()


FAKE_RUNTIME = """
before, after = [], []
def register_before_snapshot(hook):
    before.append(hook)
    return hook
def register_after_restore(hook):
    after.append(hook)
    return hook
"""

PROBE = """
import importlib, secrets, sys, uuid

def refuse(name):
    def call(*args, **kwargs):
        raise AssertionError(f"{name} called before the snapshot")
    return call

# A unique value made during init would be shared by every restored environment.
for module, names in ((uuid, ("uuid1", "uuid4")), (secrets, ("token_bytes", "token_hex"))):
    for name in names:
        setattr(module, name, refuse(f"{module.__name__}.{name}"))

import snapshot_restore_py as runtime
from backend import aws
from handlers import common

for name in FUNCTIONS:
    before = (len(runtime.before), len(runtime.after))
    importlib.import_module(f"handlers.{name}.main")
    assert (len(runtime.before), len(runtime.after)) == (before[0] + 1, before[1] + 1), name
    # Lazy: no connection, no client, no settings exist in what would be snapshotted.
    assert common.database.cache_info().currsize == 0, name
    assert aws.client.cache_info().currsize == 0, name
    assert common.db_settings.cache_info().currsize == 0, name
assert "psycopg" not in sys.modules and "boto3" not in sys.modules
for hook in runtime.before:
    hook()
assert "psycopg" in sys.modules and "boto3" in sys.modules
for hook in runtime.after:
    hook()
print("ok", len(runtime.after))
"""


def test_every_app_entry_point_registers_hooks_and_makes_nothing_unique_at_init(tmp_path):
    # A fresh interpreter, as Lambda's init is: handler singletons are process-wide.
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_RUNTIME)
    code = f"FUNCTIONS = {list(APP_FUNCTIONS)!r}\n" + textwrap.dedent(PROBE)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "AWS_LAMBDA_FUNCTION_NAME": "snapstart-test",
        "POWERTOOLS_METRICS_NAMESPACE": telemetry.METRICS_NAMESPACE,
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", str(len(APP_FUNCTIONS))]
