"""One invocation of a function in its own process: ``python -m local.invoke migrations``.

The deploy-time ``aws.lambda_.Invocation`` of the migrations function, as ``pulumi up`` makes
it: the synthesized payload, the function's environment and IAM policy (``local.runtime``).
Prints the result as one JSON line; exits 1 (traceback in the log) when the handler raises.
"""

from __future__ import annotations

import json
import sys

from local.runtime import start


def main() -> None:
    key = sys.argv[1]
    handler, context, _, region = start(key)
    if region.migration is None or region.migration.function != key:
        raise SystemExit(f"the stack declares no deploy-time invocation of {key}")
    result = handler(region.migration.payload, context())
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
