"""Secrets Manager rotation entry point: `handlers.db_rotation.main.handler`.

Event: `{"SecretId", "ClientRequestToken", "Step"}`. Connects directly to the cluster named in
the secret (not through RDS Proxy), with TLS unless `DB_SSLMODE` says otherwise (local tests).
"""

from __future__ import annotations

from typing import Any

from backend import aws
from backend.rotation import rotate
from contract.environment import DbRotationSettings
from handlers.observability import logger

CONNECT_TIMEOUT = 5


def settings() -> DbRotationSettings:
    # Parsed at each connect (a rotation connects a few times a month): no stale copy.
    return DbRotationSettings.from_env()


def connect(secret: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        host=secret["host"],
        port=int(secret.get("port") or 5432),
        dbname=secret.get("dbname") or "postgres",
        user=secret["username"],
        password=secret["password"],
        sslmode=settings().sslmode,
        connect_timeout=CONNECT_TIMEOUT,
        autocommit=True,
        prepare_threshold=None,
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> None:
    step, arn, token = event["Step"], event["SecretId"], event["ClientRequestToken"]
    logger.info("rotation step", extra={"step": step})
    region = arn.split(":")[3] if arn.startswith("arn:") else None
    rotate(step, arn, token, sm=aws.client("secretsmanager", region), connect=connect)
