"""User-directory lookup: `handlers.user_directory.main.handler`.

The user-migration trigger runs outside the VPC (it must reach the peer region's Cognito and
the legacy endpoint, and the VPC has no NAT), so it cannot reach the RDS Proxy. It invokes this
function synchronously instead; only its role may. Input ``{"username", "password"?}`` (no
password: the forgot-password lookup); output ``{"status": "found", "attributes": {...}}``,
``{"status": "not_found"}`` or ``{"status": "wrong_password"}``. The password is verified here,
next to the data, so password hashes never leave the VPC. A database failure raises: Lambda
reports it as a function error and the trigger moves on to the next source.

Reads go through the same per-container connection as the api (app login, IAM token to the
proxy); in the secondary region they are answered by the local replica.
"""

from __future__ import annotations

from typing import Any

from backend import user_migration
from backend.directory import find_user
from handlers import common, snapstart
from handlers.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    username, password = user_migration.directory_request(event)
    database = common.database()
    source = user_migration.directory_source(lambda u: database.run(lambda c: find_user(c, u)))
    answer = user_migration.directory_answer(source, username, password)
    # The outcome only: usernames are personal data and stay out of the logs.
    logger.info(
        "directory lookup", extra={"status": answer["status"], "sign_in": password is not None}
    )
    return answer


# SnapStart: psycopg goes into the snapshot; a restored environment drops the connection.
snapstart.install(reset=common.reset, preload_modules=("psycopg",))
