"""What the latency and cost models read from a synthesized stack (``local.synthesis``).

Everything comes from the resources the program declares under mocks (the same graph
``make dev`` and the infrastructure tests use) and the stack's validated settings: routes and
which need the authorizer from the REST API body, the authorizer's cache TTL, each function's
memory, architecture, provisioned concurrency and SnapStart, the write-forwarding consistency
mode from the cluster parameter group. Nothing is restated by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract import names
from contract.functions import FUNCTIONS

if TYPE_CHECKING:
    from local.synthesis import Resource, Synthesis

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head")
FUNCTION = "aws:lambda/function:Function"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
REST_API = "aws:apigateway/restApi:RestApi"
PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
CONSISTENCY_PARAMETER = "apg_write_forward.consistency_mode"


def unsecret(value: Any) -> Any:
    """The plain value of an input, secret markers removed at every level."""
    from local.synthesis import unwrap_secrets

    return unwrap_secrets(value)


@dataclass(frozen=True)
class FunctionFacts:
    key: str
    memory_mb: int
    architecture: str
    provisioned: int
    snap_start: bool


@dataclass(frozen=True)
class StackFacts:
    stack: str
    environment: str
    region: str
    primary_region: str
    # Every serving region, in config order (the peer of a two-region deployment).
    regions: tuple[str, ...]
    consistency: str | None
    authorizer_ttl_seconds: int
    functions: Mapping[str, FunctionFacts]
    # "GET /users/{id}" -> whether the route goes through the token authorizer.
    routes: Mapping[str, bool]

    @property
    def is_primary(self) -> bool:
        return self.region == self.primary_region


def _config(synth: Synthesis, key: str, default: str = "") -> str:
    return synth.config.get(f"{names.PROJECT}:{key}", default)


def _function_key(environment: str, physical: str) -> str | None:
    for key in FUNCTIONS:
        if names.function_name(environment, key) == physical:
            return key
    return None


def api_document(synth: Synthesis) -> dict[str, Any]:
    (api,) = synth.of_type(REST_API)
    body = unsecret(api.inputs["body"])
    return json.loads(body) if isinstance(body, str) else body


def routes(document: Mapping[str, Any]) -> dict[str, bool]:
    default = document.get("security") or []
    found = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                found[f"{method.upper()} {path}"] = bool(operation.get("security", default))
    return found


def authorizer_ttl(document: Mapping[str, Any]) -> int:
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        authorizer = scheme.get("x-amazon-apigateway-authorizer")
        if authorizer:
            return int(authorizer.get("authorizerResultTtlInSeconds", 300))
    return 0


def consistency(synth: Synthesis) -> str | None:
    for group in synth.of_type(PARAMETER_GROUP):
        for parameter in unsecret(group.inputs.get("parameters")) or []:
            if parameter.get("name") == CONSISTENCY_PARAMETER:
                return str(parameter.get("value")).upper()
    return None


def functions(synth: Synthesis, environment: str) -> dict[str, FunctionFacts]:
    provisioned: dict[str, int] = {}
    for config in synth.of_type(PROVISIONED):
        name = config.inputs["functionName"]
        provisioned[name] = provisioned.get(name, 0) + int(
            config.inputs["provisionedConcurrentExecutions"]
        )
    found = {}
    for function in synth.of_type(FUNCTION):
        name = function.inputs["name"]
        key = _function_key(environment, name)
        if key is None:
            continue
        snap = function.inputs.get("snapStart") or {}
        found[key] = FunctionFacts(
            key=key,
            memory_mb=int(function.inputs.get("memorySize") or 128),
            architecture=(function.inputs.get("architectures") or ["x86_64"])[0],
            provisioned=provisioned.get(name, 0),
            snap_start=snap.get("applyOn") == "PublishedVersions",
        )
    return found


def stack_facts(synth: Synthesis) -> StackFacts:
    """Facts of a regional stack (it declares the REST API)."""
    environment = _config(synth, "environment", "prod")
    document = api_document(synth)
    return StackFacts(
        stack=synth.stack,
        environment=environment,
        region=synth.config["aws:region"],
        primary_region=_config(synth, "primaryRegion"),
        regions=tuple(json.loads(_config(synth, "regions", "{}"))),
        consistency=consistency(synth),
        authorizer_ttl_seconds=authorizer_ttl(document),
        functions=functions(synth, environment),
        routes=routes(document),
    )


def is_regional(synth: Synthesis) -> bool:
    return bool(synth.of_type(REST_API))


def region_of(synth: Synthesis, resource: Resource) -> str:
    return synth.region_of(resource) or synth.config.get("aws:region", "us-east-1")
