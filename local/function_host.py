"""One function as a process: ``python -m local.function_host <function>`` (api, authorizer).

Like a Lambda container: its own environment and IAM policy (``local.runtime``), one
invocation at a time, invoked over loopback HTTP by the local API Gateway (``local.api_server``)
the way API Gateway invokes Lambda. ``POST /invoke`` with the event as JSON answers the
handler's result; a handler that raises answers ``X-Amz-Function-Error: Unhandled`` with
``{"errorType", "errorMessage"}`` (as Lambda's Invoke API does) and its traceback goes to the
log. The listening socket is inherited from the orchestrator (``LOCAL_LISTEN_FD``), so a
restarted process serves on the same port and callers never see it move.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.runtime import Handler, LambdaContext, start

INVOKE_PATH = "/invoke"


def serve_function(
    handler: Handler, context: Callable[[], LambdaContext], sock: socket.socket
) -> ThreadingHTTPServer:
    one_at_a_time = threading.Lock()

    class Invoke(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            event = json.loads(self.rfile.read(length) or b"{}")
            headers = {"Content-Type": "application/json"}
            with one_at_a_time:
                try:
                    result: Any = handler(event, context())
                except Exception as error:  # Lambda reports it to the caller, then logs it
                    traceback.print_exc()
                    result = {"errorType": type(error).__name__, "errorMessage": str(error)}
                    headers["X-Amz-Function-Error"] = "Unhandled"
            body = json.dumps(result).encode()
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(sock.getsockname()[:2], Invoke, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    key = sys.argv[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    handler, context, function, _ = start(key)
    sock = socket.socket(fileno=int(os.environ["LOCAL_LISTEN_FD"]))
    server = serve_function(handler, context, sock)
    host, port = sock.getsockname()[:2]
    print(json.dumps({"ready": f"http://{host}:{port}", "function": function.function_name}))
    sys.stdout.flush()
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
