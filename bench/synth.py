"""Program time: each stack synthesized under the test suite's Pulumi mocks.

Run as ``python -m bench.synth`` (a fresh interpreter: Pulumi's mock runtime is global). The
build tree is a staged fake with ``make build``'s layout, staged as the tests stage it
(``tests.infra.harness.stage_build``): mocks never read the archives. Prints one JSON object
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


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        started = time.perf_counter()
        from tests.infra.harness import (
            GLOBAL_STACK,
            REGIONAL_STACKS,
            global_stack_name,
            stage_build,
            synthesize,
        )

        os.environ["MOBILE_BACKEND_BUILD_DIR"] = str(stage_build(Path(scratch)))

        timings = {"(imports)": time.perf_counter() - started}
        started = time.perf_counter()
        global_synth = synthesize(GLOBAL_STACK)
        timings[GLOBAL_STACK] = time.perf_counter() - started
        for stack in REGIONAL_STACKS:
            started = time.perf_counter()
            synthesize(stack, stack_outputs={global_stack_name(stack): global_synth.outputs})
            timings[stack] = time.perf_counter() - started
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
