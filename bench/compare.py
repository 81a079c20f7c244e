"""A/B of cold init between build trees: ``python -m bench.compare A B [C ...] [--runs N]``.

How docs/performance.md measures what one optimisation bought: the same modules from each
build, sampled round-robin across builds so machine noise hits every build alike.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from bench import cold
from bench.stats import fmt_ms, summarize, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("builds", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--functions", default="api,subscriber")
    args = parser.parse_args(argv)
    functions = tuple(args.functions.split(","))
    found: list[cold.Target] = []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        for index, build in enumerate(args.builds):
            for target in cold.targets(build, Path(scratch) / str(index), functions):
                if target.module and target.module.startswith("handlers."):
                    found.append(replace(target, label=f"{target.label} @ {build}"))
        sampled = cold.measure_interleaved(found, args.runs)
    rows = []
    for label, samples in sampled.items():
        imp = summarize([s.import_ms for s in samples])
        cpu = summarize([s.import_cpu_ms for s in samples])
        rows.append([label, fmt_ms(imp.p50), fmt_ms(imp.p95), fmt_ms(cpu.p50)])
    print(table(["module @ build", "init p50", "init p95", "init CPU p50"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
