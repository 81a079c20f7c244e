"""Print an ID token for the demo user of the running local backend (``make dev``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from local.backend import ROOT
from local.cloud import Seeded, sign_in


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local.token")
    parser.add_argument("--local", type=Path, default=ROOT / ".dev" / "local.json")
    parser.add_argument("--email")
    parser.add_argument("--password")
    args = parser.parse_args()
    details = json.loads(args.local.read_text())
    fields = {k: details[k] for k in Seeded.__dataclass_fields__ if k in details}
    seeded = Seeded(**fields)
    print(sign_in(seeded, args.email or seeded.demo_email, args.password or seeded.demo_password))


if __name__ == "__main__":
    main()
