"""Program time: each stack synthesized under the test suite's Pulumi mocks.

Run as ``python -m bench.synth`` (a fresh interpreter: Pulumi's mock runtime is global). The
build tree is a staged fake with ``make build``'s layout, as ``tests/infra/conftest.py``'s
``lambda_build`` fixture does: mocks never read the archives. Prints one JSON object
``{"<stack>": seconds, ...}``, the regional stacks fed with the global stack's outputs.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def stage_fake_build(root: Path) -> Path:
    from stacks import artifacts

    for name in artifacts.FUNCTIONS:
        (root / "functions" / name / "handlers" / name).mkdir(parents=True, exist_ok=True)
    sql = root / "functions" / "migrations" / "backend" / "migrations"
    sql.mkdir(parents=True, exist_ok=True)
    (sql / "0001_init.sql").write_text("CREATE TABLE example (id uuid PRIMARY KEY);\n")
    for arch in artifacts.ARCHITECTURES:
        (root / "layers" / arch / "python").mkdir(parents=True, exist_ok=True)
    return root


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        os.environ["MOBILE_BACKEND_BUILD_DIR"] = str(stage_fake_build(Path(scratch)))
        started = time.perf_counter()
        from tests.infra.conftest import GLOBAL, REGIONAL, global_stack_name
        from tests.infra.harness import synthesize

        timings = {"(imports)": time.perf_counter() - started}
        started = time.perf_counter()
        global_synth = synthesize(GLOBAL)
        timings[GLOBAL] = time.perf_counter() - started
        for stack in REGIONAL:
            started = time.perf_counter()
            synthesize(stack, stack_outputs={global_stack_name(stack): global_synth.outputs})
            timings[stack] = time.perf_counter() - started
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
