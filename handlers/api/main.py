"""API Gateway REST entry point: `handlers.api.main.handler`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths

from handlers.api import errors, routes
from handlers.observability import logger, tracer

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(routes.router)
errors.register(app)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
