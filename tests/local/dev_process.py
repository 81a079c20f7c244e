"""The local backend as `make dev` runs it, for tests: started in a temp workdir on free ports,
stopped with SIGINT (Ctrl-C) like a developer would."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90


@contextmanager
def running_local_backend(workdir: Path) -> Iterator[tuple[subprocess.Popen, dict[str, Any]]]:
    """`python -m local --port 0 --workdir <workdir>`; yields the process and its local.json
    (URLs, ports, demo user). A test may stop the process itself; otherwise SIGINT at exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", "0", "--workdir", str(workdir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        details_file = workdir / "local.json"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not details_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"local backend did not start:\n{process.stdout.read()}")
            time.sleep(0.2)
        yield process, json.loads(details_file.read_text())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
