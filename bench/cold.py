"""Cold init: each handler module imported in a fresh interpreter, as Lambda's INIT does.

Runs from the built artifact (``build/functions/<fn>`` with its ``.pyc``, the machine's layer
``build/layers/<arch>/python``, and the packages the Lambda runtime provides, linked from this
venv) with ``-I -S`` so nothing else is on ``sys.path``. The environment is the deployed one:
``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME`` (Powertools behaves differently outside
Lambda) and the variables each handler validates. Two numbers per run: the import itself
(timed inside the child) and the whole process (what ``python -c pass`` is the floor of).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from contract.names import function_name  # noqa: E402
from contract.telemetry import METRICS_NAMESPACE  # noqa: E402
from stacks.artifacts import FUNCTIONS  # noqa: E402

# What the python3.12 Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six", "jmespath")
MACHINE_ARCH = {"x86_64": "x86_64", "AMD64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

LAMBDA_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "mobile-backend",
    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    "LOG_LEVEL": "INFO",
    "APP_ROLE_HINT": "primary",
    "DB_HOST": "proxy.example.internal",
    "DB_READER_HOST": "proxy-ro.example.internal",
    "DB_NAME": "mobile",
    "DB_USER": "app_user",
    "DB_AUTH": "iam",
    "EVENTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:events",
    "ASSETS_BUCKET": "assets",
    "PEER_USER_POOLS": "[]",
}

# The child reports the import's wall and CPU time, in ms, on its last stdout line. CPU time
# is what a dedicated Lambda vCPU would spend; on a shared machine it is the steadier figure.
PROBE = (
    "import sys, time; t = time.perf_counter(); c = time.process_time()\n"
    "sys.path[:0] = sys.argv[2:]\n"
    "import importlib; m = importlib.import_module(sys.argv[1])\n"
    "assert callable(getattr(m, 'handler', None)), sys.argv[1]\n"
    "print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)\n"
)


@dataclass(frozen=True)
class Target:
    label: str
    module: str | None  # None: the floor, `python -c pass`
    paths: tuple[str, ...]
    env: dict[str, str]


@dataclass(frozen=True)
class Sample:
    import_ms: float
    process_ms: float
    import_cpu_ms: float = 0.0


def machine_arch() -> str:
    return MACHINE_ARCH.get(platform.machine(), "x86_64")


def runtime_dir(into: Path) -> Path:
    """A directory holding only what the Lambda runtime provides, linked from this venv."""
    into.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = into / source.name
        if not link.exists():
            link.symlink_to(source)
    return into


def targets(build: Path, scratch: Path, functions: tuple[str, ...] = FUNCTIONS) -> list[Target]:
    build = build.resolve()
    layer = build / "layers" / machine_arch() / "python"
    runtime = str(runtime_dir(scratch / "runtime"))
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    found = [Target("python -c pass (floor)", None, (), {**base, **LAMBDA_ENV})]

    def env_for(function: str, task_root: Path) -> dict[str, str]:
        return {
            **base,
            **LAMBDA_ENV,
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": function_name("bench", function),
        }

    api = build / "functions" / "api"
    naive = scratch / "naive"
    naive.mkdir(parents=True, exist_ok=True)
    (naive / "naive_baseline.py").write_bytes((ROOT / "bench" / "naive_baseline.py").read_bytes())
    found.append(
        Target(
            "naive baseline (api)",
            "naive_baseline",
            (str(naive), str(api), str(layer), runtime),
            env_for("api", api),
        )
    )
    for function in functions:
        task_root = build / "functions" / function
        if (task_root / "handlers" / function / "main.py").is_file():
            found.append(
                Target(
                    function,
                    f"handlers.{function}.main",
                    (str(task_root), str(layer), runtime),
                    env_for(function, task_root),
                )
            )
    return found


def run_once(target: Target, python: str = sys.executable) -> Sample:
    if target.module is None:
        argv = [python, "-I", "-S", "-c", "pass"]
    else:
        argv = [python, "-I", "-S", "-c", PROBE, target.module, *target.paths]
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        argv, env=target.env, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir()
    )
    process_ms = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"{target.label}: import failed:\n{result.stderr[-2000:]}")
    if target.module is None:
        return Sample(0.0, process_ms)
    wall, cpu = (float(x) for x in result.stdout.strip().splitlines()[-1].split())
    return Sample(wall, process_ms, cpu)


def measure(target: Target, runs: int, python: str = sys.executable) -> list[Sample]:
    """One discarded warm-up (page cache, naive's own .pyc), then ``runs`` samples."""
    run_once(target, python)
    return [run_once(target, python) for _ in range(runs)]


def measure_interleaved(
    found: list[Target], runs: int, python: str = sys.executable
) -> dict[str, list[Sample]]:
    """``runs`` samples per target taken round-robin (after one warm-up each), so a noisy
    neighbour on a shared machine slows every module alike instead of skewing the ratios."""
    for target in found:
        run_once(target, python)
    samples: dict[str, list[Sample]] = {t.label: [] for t in found}
    for _ in range(runs):
        for target in found:
            samples[target.label].append(run_once(target, python))
    return samples
