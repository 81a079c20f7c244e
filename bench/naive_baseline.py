"""The naive API handler the cold-start figures are compared with (never deployed).

Everything is done at module load, the way a first Lambda often looks: boto3 and every
client the API uses created eagerly, psycopg imported, X-Ray ``patch_all`` through an
auto-patching Tracer, and the real routes imported. Only the database connection itself is
left out (the bench has no database during cold runs), so the baseline is, if anything,
cheaper than the real naive handler.
"""

from __future__ import annotations

import os

import boto3
import psycopg
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities import parameters

from handlers.api.main import app

REGION = os.environ.get("AWS_REGION", "eu-west-1")

logger = Logger()
tracer = Tracer(auto_patch=True)  # patch_all(): every supported library, traced or not
metrics = Metrics()
session = boto3.session.Session()
clients = {
    name: session.client(name, region_name=REGION)
    for name in ("sns", "s3", "secretsmanager", "rds", "cognito-idp")
}
secrets = parameters.SecretsProvider()
pq_impl = psycopg.pq.__impl__


def handler(event, context):
    return app.resolve(event, context)
