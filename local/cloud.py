"""The AWS side of the local backend: moto in server mode, seeded like a deployed region.

``LocalCloud.start()`` runs moto on loopback and creates what a regional stack would: the
events topic with a raw-delivery subscription to the queue, the queue's dead-letter queue
(redrive after ``max_receive_count`` receives), the assets bucket, the database secret, and
a Cognito user pool with a web client and a confirmed demo user.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

REGION = "eu-west-1"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105 - published local demo credential
ACCOUNT = "123456789012"  # moto's default account
USER_POOL_NAME = "mobile-backend-local-users"  # components.logic.user_pool_name("local")


@dataclass
class Seeded:
    endpoint: str
    region: str
    topic_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    bucket: str
    db_secret_arn: str
    user_pool_id: str
    client_id: str
    # The deployed authorizer trusts this account's pools by this deterministic name.
    user_pool_name: str
    demo_email: str = DEMO_EMAIL
    demo_password: str = DEMO_PASSWORD

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"


def client(service: str, endpoint: str, region: str = REGION) -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )


@dataclass
class LocalCloud:
    region: str = REGION
    # Short visibility so a failed record is retried within seconds locally; the deployed
    # queue uses ≥ 6x the subscriber timeout. 60 receives x 2 s keeps writes queued through a
    # two-minute PostgreSQL outage (the R-DR-3 drill in docs/dr.md) before the DLQ.
    visibility_timeout: int = 2
    max_receive_count: int = 60
    _server: ThreadedMotoServer | None = field(default=None, init=False, repr=False)

    def start(self) -> str:
        # moto's werkzeug server logs every request; the local backend has its own log.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def seed(self, endpoint: str, db: dict[str, Any]) -> Seeded:
        """Create the regional resources; ``db`` is the secret's JSON (host, port, ...)."""
        sqs = client("sqs", endpoint, self.region)
        sns = client("sns", endpoint, self.region)
        dlq_url = sqs.create_queue(QueueName="mobile-backend-local-events-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="mobile-backend-local-events",
            Attributes={
                "VisibilityTimeout": str(self.visibility_timeout),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": self.max_receive_count}
                ),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        topic_arn = sns.create_topic(Name="mobile-backend-local-events")["TopicArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

        bucket = "mobile-backend-local-assets"
        s3 = client("s3", endpoint, self.region)
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
        )
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedMethods": ["PUT", "GET"],
                        "AllowedOrigins": ["*"],
                        "AllowedHeaders": ["*"],
                        "MaxAgeSeconds": 300,
                    }
                ]
            },
        )

        secret_arn = client("secretsmanager", endpoint, self.region).create_secret(
            Name="mobile-backend/local/db", SecretString=json.dumps(db)
        )["ARN"]

        cognito = client("cognito-idp", endpoint, self.region)
        pool_id = cognito.create_user_pool(
            PoolName=USER_POOL_NAME,
            UsernameAttributes=["email"],
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
        )["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="web",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=DEMO_EMAIL,
            UserAttributes=[
                {"Name": "email", "Value": DEMO_EMAIL},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=DEMO_EMAIL, Password=DEMO_PASSWORD, Permanent=True
        )
        return Seeded(
            endpoint=endpoint,
            region=self.region,
            topic_arn=topic_arn,
            queue_url=queue_url,
            queue_arn=queue_arn,
            dlq_url=dlq_url,
            bucket=bucket,
            db_secret_arn=secret_arn,
            user_pool_id=pool_id,
            client_id=client_id,
            user_pool_name=USER_POOL_NAME,
        )


def sign_in(seeded: Seeded, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> str:
    """An ID token for ``email`` from the local pool (what a mobile client would send)."""
    result = client("cognito-idp", seeded.endpoint, seeded.region).initiate_auth(
        ClientId=seeded.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return result["AuthenticationResult"]["IdToken"]
