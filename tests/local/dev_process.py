"""The local backend as `make dev` runs it, for tests: started in a temp workdir on free ports,
stopped with SIGINT (Ctrl-C) like a developer would. What it prints is collected as it runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90


class DevProcess:
    """``python -m local`` and everything it printed so far (stdout and stderr)."""

    def __init__(self, workdir: Path, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", "0", "--workdir", str(workdir), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 60) -> str:
        """Ctrl-C, wait for the exit, and return everything printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        return self.output


@contextmanager
def running_local_backend(workdir: Path) -> Iterator[tuple[DevProcess, dict[str, Any]]]:
    """`python -m local --port 0 --workdir <workdir>`; yields the process and its local.json
    (URLs, ports, demo user). A test may stop the process itself; otherwise SIGINT at exit."""
    dev = DevProcess(workdir)
    try:
        details_file = workdir / "local.json"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not details_file.exists():
            if dev.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"local backend did not start:\n{dev.stop()}")
            time.sleep(0.1)
        # local.json is written before the banner is printed: wait for the banner too.
        while "Ctrl-C stops everything" not in dev.output and dev.process.poll() is None:
            time.sleep(0.05)
        yield dev, json.loads(details_file.read_text())
    finally:
        dev.stop()
