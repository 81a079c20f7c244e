"""Every Lambda function the stacks deploy, with what both halves need to know of it.

The build stages one directory per function (``scripts/build_lambda.py``), the stacks declare
each with this spec (``components/function.py`` and the tier that owns it), the handler's
environment schema is ``contract.environment.SCHEMAS[name]``, and the alarms key on the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stack = Literal["regional", "global"]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    # Handler limits: Cognito waits at most 5 s for a trigger, API Gateway 29 s at most.
    timeout_seconds: int
    memory_mb: int
    # In the private subnets, holding one RDS Proxy connection per container (R-DATA-5).
    in_vpc: bool
    # Needs the third-party dependency layer (the authorizer uses the runtime's boto3 only).
    uses_layer: bool
    stack: Stack = "regional"
    # Reserved and provisioned concurrency come from stack config (settings.py) for the app
    # functions; the operational ones have fixed reservations.
    configurable_concurrency: bool = True
    fixed_reserved_concurrency: int = 0

    @property
    def handler(self) -> str:
        return f"handlers.{self.name}.main.handler"

    @property
    def service(self) -> str:
        """POWERTOOLS_SERVICE_NAME and the ``service`` metric dimension; also the alarm key
        and runbook anchor (hyphens: ``user-migration``)."""
        return self.name.replace("_", "-")


_SPECS = (
    FunctionSpec(
        "api",
        "REST API handler (API Gateway proxy integration)",
        timeout_seconds=10,
        memory_mb=1024,
        in_vpc=True,
        uses_layer=True,
    ),
    FunctionSpec(
        "subscriber",
        "Applies queued writes to Aurora idempotently (SQS batch)",
        timeout_seconds=30,
        memory_mb=512,
        in_vpc=True,
        uses_layer=True,
    ),
    FunctionSpec(
        "user_directory",
        "Finds and authenticates a migrating user in the Aurora user directory",
        # Runs inside the trigger's 5 s; scrypt is CPU-bound and CPU grows with memory.
        timeout_seconds=3,
        memory_mb=512,
        in_vpc=True,
        uses_layer=True,
    ),
    FunctionSpec(
        "user_migration",
        "Cognito user-migration trigger (peer-region pool, directory, legacy)",
        timeout_seconds=5,
        memory_mb=256,
        in_vpc=False,
        uses_layer=True,
    ),
    FunctionSpec(
        "authorizer",
        "API Gateway token authorizer for every region's user pool",
        timeout_seconds=5,
        memory_mb=256,
        in_vpc=False,
        uses_layer=False,
    ),
    FunctionSpec(
        "push_relay",
        "Makes the api's SNS endpoint calls in another serving region (outside the VPC)",
        # Inside the api's 10 s, once per device of a send.
        timeout_seconds=5,
        memory_mb=256,
        in_vpc=False,
        uses_layer=False,
    ),
    FunctionSpec(
        "migrations",
        "Applies backend/migrations/*.sql to the writer (pulumi up)",
        timeout_seconds=300,
        memory_mb=512,
        in_vpc=True,
        uses_layer=True,
        configurable_concurrency=False,
        # One runner at a time; the runner also takes an advisory lock.
        fixed_reserved_concurrency=1,
    ),
    FunctionSpec(
        "db_rotation",
        "Rotates the Aurora master and app passwords (Secrets Manager)",
        timeout_seconds=60,
        memory_mb=512,
        in_vpc=True,
        uses_layer=True,
        configurable_concurrency=False,
        fixed_reserved_concurrency=2,
    ),
    FunctionSpec(
        "dr_probe",
        "Region switch steps: the writer commits a write; the app path writes (ARC)",
        # The plan's step retries it every minute; a probe must fail fast and try again.
        timeout_seconds=30,
        memory_mb=256,
        in_vpc=True,
        uses_layer=True,
        configurable_concurrency=False,
        # ARC's plan evaluation refuses a function it could not invoke (concurrency 0).
        fixed_reserved_concurrency=2,
    ),
    FunctionSpec(
        "origin_verify_rotation",
        "Rotates the X-Origin-Verify value across CloudFront and the WAFs",
        timeout_seconds=900,
        memory_mb=256,
        in_vpc=False,
        uses_layer=False,
        stack="global",
        configurable_concurrency=False,
        # Steps of two rotations must never interleave.
        fixed_reserved_concurrency=1,
    ),
)

SPECS: dict[str, FunctionSpec] = {spec.name: spec for spec in _SPECS}
FUNCTIONS: tuple[str, ...] = tuple(SPECS)
# The app functions whose concurrency each regional stack configures (settings.py).
APP_FUNCTIONS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.configurable_concurrency)
# In-VPC app functions: each container holds one proxy connection.
DATABASE_FUNCTIONS: tuple[str, ...] = tuple(
    s.name for s in _SPECS if s.in_vpc and s.configurable_concurrency
)


def spec(name: str) -> FunctionSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown function {name!r}; known: {', '.join(FUNCTIONS)}") from None
