"""API Gateway REST entry point: `handlers.api.main.handler`."""

from __future__ import annotations

import gc

# Cold start: the cyclic GC would run dozens of passes over the objects the imports below
# create (Powertools, pydantic), none of them garbage (~9 % of init CPU, docs/performance.md).
# Paused for the imports; the survivors are then frozen out of later collections, which also
# keeps full collections off the warm path, and the GC runs as before.
_gc_was_enabled = gc.isenabled()
gc.disable()
# ruff: noqa: E402 - the imports must follow gc.disable()

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths

from backend import json_body
from backend.errors import DomainError
from handlers import common, snapstart
from handlers.api import errors, routes
from handlers.observability import logger, tracer

# CloudFront sends `/api/*` to the API's custom domain, whose base path mapping keeps `/api`
# in the proxy event's `path`; routes are declared without it. Bodies are read as I-JSON
# within the API's limits; what the parser refuses maps to 400/413 like any DomainError.
app = APIGatewayRestResolver(
    enable_validation=True, strip_prefixes=["/api"], json_body_deserializer=json_body.loads
)
app.include_router(routes.router)
errors.register(app)


def no_store(response: dict[str, Any]) -> dict[str, Any]:
    """Every answer is per-user or live state (health): no shared cache may keep it, and
    error responses in particular must never be cached at the edge."""
    headers = response.setdefault("multiValueHeaders", {})
    headers["Cache-Control"] = ["no-store"]
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        errors.check_media_type(event)
    except DomainError as refused:
        return no_store(errors.rejected_before_routing(refused))
    return no_store(app.resolve(event, context))


# SnapStart: the first request's lazy imports go into the snapshot; a restored environment
# drops whatever holds a connection or credentials (handlers/snapstart.py).
snapstart.install(reset=common.reset, preload_modules=("psycopg", "boto3"))

gc.freeze()
if _gc_was_enabled:
    gc.enable()
