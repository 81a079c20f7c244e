"""The one place Powertools observability objects are created (shared by every function).

Service name, log level and metrics namespace come from POWERTOOLS_SERVICE_NAME, LOG_LEVEL and
POWERTOOLS_METRICS_NAMESPACE. The tracer patches nothing globally (`patch_all` costs ~300 ms of
cold start); Powertools traces the handler and boto3 calls are traced by X-Ray Active tracing
at the Lambda level.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer(auto_patch=False)
metrics = Metrics()
