"""The AWS side of the local backend: moto in server mode, in the orchestrator's process.

``LocalCloud.start()`` runs moto on loopback with Cognito's pool rules enforced
(``local.enforcement.install_cognito_rules``) and bucket policies evaluated with their
conditions (``BucketPolicyConditions``); what it holds comes from the synthesized stacks
(``local.region``), never from here. It also keeps the queues' clock: ``advance(seconds)``
moves SQS's notion of time forward, so a drill can let a 181 s visibility timeout (six times
the subscriber's timeout, as synthesized) elapse in an instant instead of editing it.
``sign_in`` gets an ID token for a user of the local pool, as a mobile client would.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local.synthesis import ACCOUNT

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105 - published local demo credential


def client(service: str, endpoint: str, region: str) -> Any:
    """An unrestricted client of the local cloud: the orchestrator acts as an operator."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )


@dataclass(frozen=True)
class DemoUser:
    """Where and as whom to sign in (``local.json`` carries these keys)."""

    endpoint: str
    region: str
    client_id: str
    email: str = DEMO_EMAIL
    password: str = DEMO_PASSWORD

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> DemoUser:
        return cls(
            endpoint=details["endpoint"],
            region=details["region"],
            client_id=details["client_id"],
            email=details.get("demo_email", DEMO_EMAIL),
            password=details.get("demo_password", DEMO_PASSWORD),
        )


def sign_in(user: DemoUser, email: str | None = None, password: str | None = None) -> str:
    """An ID token from the local pool (USER_PASSWORD_AUTH, as the app client allows)."""
    result = client("cognito-idp", user.endpoint, user.region).initiate_auth(
        ClientId=user.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email or user.email, "PASSWORD": password or user.password},
    )
    return result["AuthenticationResult"]["IdToken"]


class BucketPolicyConditions:
    """moto evaluates a bucket policy without its conditions, so the stacks' TLS-only Deny
    (``aws:SecureTransport`` false) would refuse every object request. Here a bucket policy's
    Deny statements are evaluated by ``local.iam`` with the request counting as TLS (every SDK
    reaches S3 over HTTPS; the emulator's plain HTTP is an artefact of this machine), and its
    Allow statements (for AWS service principals: CloudFront, log delivery) grant nothing to
    the functions' requests, as on AWS."""

    def __init__(self) -> None:
        from moto.iam.access_control import PermissionResult
        from moto.s3.models import FakeBucket

        from local.iam import PolicyEvaluator, Reason

        self._bucket = FakeBucket
        self._original = FakeBucket.get_permission

        def get_permission(bucket: Any, action: str, resource: str) -> Any:
            if bucket.policy is None:
                return PermissionResult.NEUTRAL
            document = json.loads(bucket.policy)
            statements = document.get("Statement") or []
            statements = statements if isinstance(statements, list) else [statements]
            denies = [
                {k: v for k, v in st.items() if k != "Principal"}
                for st in statements
                if st.get("Effect") == "Deny"
            ]
            decision = PolicyEvaluator(denies).decide(
                action, [resource], {"aws:SecureTransport": "true"}
            )
            if decision.reason is Reason.EXPLICIT_DENY:
                return PermissionResult.DENIED
            return PermissionResult.NEUTRAL

        FakeBucket.get_permission = get_permission

    def uninstall(self) -> None:
        self._bucket.get_permission = self._original


class QueueClock:
    """An offset on moto's SQS clock (visibility, delays, retention), process-wide."""

    def __init__(self) -> None:
        from moto.sqs import models

        self._models = models
        self._originals = (models.unix_time, models.unix_time_millis)
        self.offset = 0.0
        original_time, original_millis = self._originals
        models.unix_time = lambda *args: original_time(*args) + self.offset
        models.unix_time_millis = lambda *args: original_millis(*args) + self.offset * 1000

    def uninstall(self) -> None:
        self._models.unix_time, self._models.unix_time_millis = self._originals


class _Patches:
    """What the local cloud patches into moto, shared by every LocalCloud of the process
    (moto's backends are process-wide): installed by the first start, removed by the last stop."""

    users = 0
    rules: Any = None
    clock: QueueClock | None = None
    bucket_policies: BucketPolicyConditions | None = None
    lock = threading.Lock()

    @classmethod
    def acquire(cls) -> QueueClock:
        from local.enforcement import install_cognito_rules

        with cls.lock:
            if cls.users == 0:
                cls.rules = install_cognito_rules()
                cls.clock = QueueClock()
                cls.bucket_policies = BucketPolicyConditions()
            cls.users += 1
            assert cls.clock is not None
            return cls.clock

    @classmethod
    def release(cls) -> None:
        with cls.lock:
            cls.users -= 1
            if cls.users == 0:
                for patch in (cls.rules, cls.clock, cls.bucket_policies):
                    if patch is not None:
                        patch.uninstall()
                cls.rules = cls.clock = cls.bucket_policies = None


@dataclass
class LocalCloud:
    _server: ThreadedMotoServer | None = field(default=None, init=False, repr=False)
    _clock: QueueClock | None = field(default=None, init=False, repr=False)

    def start(self) -> str:
        from moto.core.models import DEFAULT_ACCOUNT_ID

        # ARNs in the synthesized policies carry the mocks' account; moto answers with its own.
        if DEFAULT_ACCOUNT_ID != ACCOUNT:
            raise RuntimeError(
                f"moto's account {DEFAULT_ACCOUNT_ID} is not the mocks' {ACCOUNT}: unset "
                "MOTO_ACCOUNT_ID for make dev"
            )
        # moto's werkzeug server logs every request; the local backend has its own log.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._clock = _Patches.acquire()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for the queues (visibility timeouts, delays, retention)."""
        assert self._clock is not None, "the local cloud is not running"
        self._clock.offset += seconds

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._clock is not None:
            self._clock = None
            _Patches.release()
