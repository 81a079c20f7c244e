"""Database credentials from Secrets Manager, cached per container.

The cache is deliberately simple: a value is reused until a connection attempt fails, then it
is fetched again once (`force=True`). A rotation changes the password underneath running
containers and a password failure carries no SQLSTATE, so "any connect failure" is the only
reliable trigger for a refetch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from backend import aws

CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class DbCredentials:
    username: str | None
    password: str


class SecretCache:
    def __init__(self, secret_arn: str, region: str) -> None:
        self.secret_arn = secret_arn
        self.region = region
        self._value: DbCredentials | None = None
        self._fetched_at = 0.0
        self.fetches = 0

    def get(self, force: bool = False) -> DbCredentials:
        fresh = time.monotonic() - self._fetched_at < CACHE_SECONDS
        if self._value is not None and fresh and not force:
            return self._value
        response = aws.client("secretsmanager", self.region).get_secret_value(
            SecretId=self.secret_arn
        )
        data = json.loads(response["SecretString"])
        self._value = DbCredentials(username=data.get("username"), password=data["password"])
        self._fetched_at = time.monotonic()
        self.fetches += 1
        return self._value
