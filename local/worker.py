"""Child process of the local backend: a function fed by its SQS event source mapping
(``python -m local.worker subscriber``), with the function's environment and IAM policy
(``local.runtime``) applying to the handler and to the mapping's own SQS calls alike."""

from __future__ import annotations

import json
import signal
import sys
import threading

import boto3

from local.poller import run
from local.runtime import start


def main() -> None:
    key = sys.argv[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    handler, context, function, region = start(key)
    sources = [s for s in region.event_sources if s.function == key]
    if not sources:
        raise SystemExit(f"no event source mapping targets {function.function_name}")
    sqs = boto3.client("sqs", region_name=region.region)
    print(json.dumps({"ready": sources[0].queue_url, "function": function.function_name}))
    sys.stdout.flush()
    threads = [
        threading.Thread(target=run, args=(sqs, source, region.region, handler, context, stop))
        for source in sources
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
