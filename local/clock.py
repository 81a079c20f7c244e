"""Let time pass for the queues of a running ``make dev``: ``python -m local.clock [SECONDS]``.

The local queue keeps the synthesized visibility timeout (181 s: six times the subscriber's
timeout), so a record that failed comes back three minutes later, as on AWS. A drill need not
wait for it: this asks the running backend (through its workdir) to move SQS's clock forward by
SECONDS, by default the event source queue's visibility timeout. Nothing else's clock moves.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from local.runtime import ROOT
from local.supervisor import CLOCK_REQUEST_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.clock", description=__doc__)
    parser.add_argument("seconds", nargs="?", type=float, help="default: the visibility timeout")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".dev", help="make dev's workdir")
    args = parser.parse_args(argv)
    region_file = args.workdir / "region.json"
    if not (args.workdir / "local.json").exists() or not region_file.exists():
        print(
            f"no running local backend in {args.workdir}. Fix: start one with `make dev` (or "
            "pass the --workdir it was started with)",
            file=sys.stderr,
        )
        return 1
    seconds = args.seconds
    if seconds is None:
        sources = json.loads(region_file.read_text())["event_sources"]
        seconds = float(sources[0]["visibility_timeout_seconds"])
    request = args.workdir / CLOCK_REQUEST_FILE
    request.write_text(f"{seconds}\n")
    deadline = time.monotonic() + 5
    while request.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if request.exists():
        request.unlink(missing_ok=True)
        print(
            f"the backend in {args.workdir} did not answer: is it still running?", file=sys.stderr
        )
        return 1
    print(f"queue clock advanced by {seconds:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
