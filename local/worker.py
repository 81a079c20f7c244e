"""Child process of the local backend: the real subscriber handler fed by the local queue,
with the batch semantics of the SQS event source mapping (see ``local.poller``)."""

from __future__ import annotations

import json
import os
import signal
import threading

from local.cloud import client
from local.gateway import LambdaContext
from local.poller import run


def main() -> None:
    from handlers.subscriber.main import handler

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    region = os.environ["AWS_REGION"]
    sqs = client("sqs", os.environ["AWS_ENDPOINT_URL"], region)
    print(json.dumps({"ready": os.environ["LOCAL_QUEUE_URL"]}), flush=True)
    run(
        sqs,
        os.environ["LOCAL_QUEUE_URL"],
        os.environ["LOCAL_QUEUE_ARN"],
        region,
        handler,
        LambdaContext,
        stop,
    )


if __name__ == "__main__":
    main()
