"""Print an ID token for the demo user of a running local backend (``make dev``).

TOKEN=$(.venv/bin/python -m local.token)                 # the default workdir, .dev
TOKEN=$(.venv/bin/python -m local.token --workdir /tmp/x) # make dev's --workdir
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from local.cloud import DemoUser, sign_in
from local.runtime import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.token", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".dev", help="make dev's workdir")
    parser.add_argument("--local", type=Path, help="a local.json (default: <workdir>/local.json)")
    parser.add_argument("--email")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    details_file = args.local or args.workdir / "local.json"
    try:
        details = json.loads(details_file.read_text())
    except FileNotFoundError:
        print(
            f"no running local backend: {details_file} does not exist. Fix: start one with "
            "`make dev` (or pass the --workdir it was started with)",
            file=sys.stderr,
        )
        return 1
    try:
        token = sign_in(DemoUser.from_details(details), args.email, args.password)
    except Exception as error:  # botocore's connection or Cognito errors, said plainly
        print(
            f"cannot sign in at {details.get('endpoint')}: {type(error).__name__}: {error}. "
            f"Fix: is the backend of {details_file} still running? (`make dev`)",
            file=sys.stderr,
        )
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
