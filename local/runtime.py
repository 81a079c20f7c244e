"""The Lambda runtime, locally: what a function process gets besides its handler.

The orchestrator (``local.backend``) starts one process per function with
``runtime_environment``: exactly the environment the synthesized stack gives the function
(endpoints and hosts already translated by ``local.region``), plus what the Lambda runtime
itself sets (``AWS_REGION``, ``AWS_LAMBDA_FUNCTION_NAME``, credentials, ...), plus
``AWS_ENDPOINT_URL`` pointing every SDK at the local cloud and ``LOCAL_*`` for the local
machinery. Inside the process, ``start(key)`` installs the function's IAM policy
(``local.enforcement``), points the public AWS hosts the code reaches without an SDK (the
Cognito JWKS the authorizer fetches) at the local cloud, imports the handler and returns it
with a context factory shaped by the synthesized timeout and memory.
"""

from __future__ import annotations

import importlib
import json
import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.region import LocalFunction, LocalRegion

ROOT = Path(__file__).resolve().parents[1]
REGION_FILE = "region.json"
# The orchestrator's own environment a function process inherits: the interpreter and the OS
# basics only, never the orchestrator's AWS_* or DB_* (a function sees its stack's values).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONHASHSEED")
# moto accepts any credentials; the IAM check (local.iam) is what authorizes.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIALOCALFUNCTIONROLE",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
Handler = Callable[[dict[str, Any], Any], Any]


def load_region(workdir: Path) -> LocalRegion:
    return LocalRegion.from_description(json.loads((workdir / REGION_FILE).read_text()))


def runtime_environment(
    function: LocalFunction, region: LocalRegion, workdir: Path, extra: Mapping[str, str] = ()
) -> dict[str, str]:
    """The process environment of ``function``: the stack's variables + the runtime's."""
    env = {k: os.environ[k] for k in INHERITED if k in os.environ}
    env.update(function.environment)
    env.update(
        {
            "AWS_REGION": region.region,
            "AWS_DEFAULT_REGION": region.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
            "_HANDLER": function.handler,
            # A local emulator says so, as `sam local` does: Powertools then sends no X-Ray
            # segments (there is no daemon here).
            "AWS_SAM_LOCAL": "true",
            **LOCAL_CREDENTIALS,
            # The only endpoint the SDKs reach: the local cloud.
            "AWS_ENDPOINT_URL": region.endpoint,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "LOCAL_WORKDIR": str(workdir),
            "LOCAL_FUNCTION": function.key,
            **dict(extra),
        }
    )
    return env


class LambdaContext:
    """The attributes handlers and Powertools read from the Lambda context object."""

    def __init__(self, function: LocalFunction):
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.log_group_name = f"/aws/lambda/{function.function_name}"
        self.log_stream_name = "local"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def redirect_aws_hosts(endpoint: str) -> None:
    """Send plain HTTPS requests for ``*.amazonaws.com`` (no SDK involved: the authorizer's
    JWKS download) to the local cloud, which serves them under the same path."""
    original = urllib.request.urlopen

    def urlopen(url: Any, *args: Any, **kwargs: Any) -> Any:
        target = url.full_url if isinstance(url, urllib.request.Request) else str(url)
        parts = urlsplit(target)
        if parts.hostname and parts.hostname.endswith(".amazonaws.com"):
            local = endpoint.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
            if isinstance(url, urllib.request.Request):
                url.full_url = local
            else:
                url = local
        return original(url, *args, **kwargs)

    urllib.request.urlopen = urlopen  # type: ignore[assignment]


def start(key: str) -> tuple[Handler, Callable[[], LambdaContext], LocalFunction, LocalRegion]:
    """In a function process: enforce its IAM policy, then import its handler."""
    from local.enforcement import install_iam

    region = load_region(Path(os.environ["LOCAL_WORKDIR"]))
    function = region.functions[key]
    install_iam(function, region)
    redirect_aws_hosts(region.endpoint)
    module, _, name = function.handler.rpartition(".")
    handler = getattr(importlib.import_module(module), name)
    return handler, lambda: LambdaContext(function), function, region
