"""The local backend's child processes: started, watched, restarted, and reported.

``Supervisor.spawn`` starts a child (``python -m <module> ...``) with its environment and the
listening sockets it inherits, waits for its one-line JSON ``{"ready": ...}`` on stdout and
copies everything else it prints (the handlers' logs) to the backend log. ``watch()`` runs in
a thread: a child that exits while the backend runs is restarted (after 0.5 s, doubling up
to 10 s while it keeps dying soon after each start) and the state of every child is written
to ``status.json`` in the workdir, which the local API Gateway reads to answer ``/health``
(``local.api_server``). ``stop()`` ends every child: SIGTERM, then SIGKILL after 10 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
STATUS_FILE = "status.json"
# `python -m local.clock` drops the seconds to let pass on the queue clock here.
CLOCK_REQUEST_FILE = "advance-queue-clock"
READY_TIMEOUT_SECONDS = 60
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0
# A child that ran this long before dying gets the first, short backoff again.
STABLE_SECONDS = 30.0


class ChildFailed(RuntimeError):
    """A child process did not become ready; the message names it, the cause and the log."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    fds: tuple[int, ...] = ()
    process: subprocess.Popen[str] | None = None
    ready: dict[str, Any] = field(default_factory=dict)
    state: str = "starting"
    restarts: int = 0
    last_exit: int | None = None
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float = 0.0
    running_since: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


def read_status(workdir: Path) -> dict[str, Any]:
    try:
        return json.loads((workdir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Supervisor:
    def __init__(
        self,
        workdir: Path,
        log: IO[str],
        announce: Callable[[str], None] = print,
        advance_clock: Callable[[float], None] | None = None,
    ):
        self.workdir = workdir
        self.log = log
        self.announce = announce
        self.advance_clock = advance_clock
        self.children: dict[str, Child] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- one child -----------------------------------------------------------------------
    def _start(self, child: Child) -> threading.Event:
        child.process = subprocess.Popen(  # noqa: S603 - our own modules, fixed argv
            [sys.executable, *child.argv],
            cwd=ROOT,
            env=child.env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            pass_fds=child.fds,
        )
        child.ready = {}
        started = threading.Event()
        process = child.process

        def read_stdout() -> None:
            # After the ready line, stdout carries the handler's logs: copy them to the log
            # (else they are lost and a full pipe would block the child). O_APPEND writes of
            # one line keep the children's lines whole.
            assert process.stdout is not None
            for line in process.stdout:
                if not started.is_set() and line.startswith('{"ready"'):
                    child.ready.update(json.loads(line))
                    started.set()
                    continue
                os.write(self.log.fileno(), line.encode())
            started.set()  # the child exited: stop waiting for a ready line

        threading.Thread(target=read_stdout, daemon=True).start()
        return started

    def spawn(self, name: str, argv: list[str], env: dict[str, str], fds: Iterable[int] = ()):
        """Start ``name`` and return its handle once it is ready (``ChildFailed`` if not)."""
        child = Child(name, argv, env, tuple(fds))
        with self._lock:
            self.children[name] = child
        return child, self._start(child)

    def await_ready(self, child: Child, started: threading.Event) -> Child:
        started.wait(READY_TIMEOUT_SECONDS)
        if "ready" not in child.ready:
            code = child.process.poll() if child.process else None
            cause = (
                f"exited with status {code}"
                if code is not None
                else f"not ready after {READY_TIMEOUT_SECONDS} s"
            )
            raise ChildFailed(
                f"{child.name} did not start ({cause}). Its last log lines "
                f"({self.log.name}):\n{tail(Path(self.log.name))}"
            )
        child.state = "running"
        child.running_since = time.monotonic()
        self.write_status()
        return child

    def run_once(self, name: str, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
        """Run a one-shot child (the migration invocation); its last stdout line is JSON."""
        result = subprocess.run(  # noqa: S603 - our own module, fixed argv
            [sys.executable, *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            check=False,
        )
        lines = result.stdout.strip().splitlines()
        for line in lines[:-1]:
            os.write(self.log.fileno(), (line + "\n").encode())
        if result.returncode != 0:
            raise ChildFailed(
                f"{name} failed (exit status {result.returncode}). Its last log lines "
                f"({self.log.name}):\n{tail(Path(self.log.name))}"
            )
        return json.loads(lines[-1]) if lines else {}

    # --- supervision ---------------------------------------------------------------------
    def write_status(self) -> None:
        with self._lock:
            status = {
                name: {
                    "state": child.state,
                    "pid": child.pid,
                    "restarts": child.restarts,
                    "last_exit": child.last_exit,
                }
                for name, child in self.children.items()
            }
        path = self.workdir / STATUS_FILE
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(status, indent=2))
        scratch.replace(path)

    def watch(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            for child in list(self.children.values()):
                self._check(child)
            self._clock_request()

    def _clock_request(self) -> None:
        request = self.workdir / CLOCK_REQUEST_FILE
        if self.advance_clock is None or not request.exists():
            return
        try:
            seconds = float(request.read_text().strip())
        except ValueError:
            seconds = 0.0
        request.unlink(missing_ok=True)
        if seconds > 0:
            self.advance_clock(seconds)
            self.announce(f"queue clock advanced by {seconds:g} s")

    def _check(self, child: Child) -> None:
        process = child.process
        if process is None or self._stopping.is_set():
            return
        now = time.monotonic()
        if child.state == "running" and process.poll() is not None:
            child.last_exit = process.returncode
            child.state = "restarting"
            if now - child.running_since > STABLE_SECONDS:
                # It ran for a while: this is a new failure, not the same one again.
                child.backoff = FIRST_BACKOFF_SECONDS
            child.restart_at = now + child.backoff
            child.backoff = min(child.backoff * 2, MAX_BACKOFF_SECONDS)
            self.write_status()
            self.announce(
                f"{child.name} exited (status {process.returncode}); restarting it in "
                f"{child.backoff:g} s. Its log: {self.log.name}"
            )
        elif child.state == "restarting" and now >= child.restart_at:
            child.restarts += 1
            started = self._start(child)
            started.wait(READY_TIMEOUT_SECONDS)
            if "ready" in child.ready:
                child.state = "running"
                child.running_since = time.monotonic()
                self.announce(f"{child.name} restarted (restart {child.restarts})")
            else:
                child.last_exit = child.process.poll() if child.process else None
                child.restart_at = time.monotonic() + child.backoff
                child.backoff = min(child.backoff * 2, MAX_BACKOFF_SECONDS)
            self.write_status()

    def stop(self) -> list[str]:
        """Stop every child; returns the names of those that had to be killed."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=READY_TIMEOUT_SECONDS)
        killed = []
        children = list(self.children.values())
        for child in children:
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        for child in children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
                killed.append(child.name)
            child.state = "stopped"
        return killed
