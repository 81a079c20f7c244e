"""``python -m dr``: the runbook CLI."""

from dr.cli import main

raise SystemExit(main())
