"""Typed, validated settings: the only module that reads Pulumi config.

Every key is parsed and checked here, before any resource is declared (R-STACK-4), and every
problem is reported at once with the key that caused it and the command that fixes it. The
parser works on any object with ``get(key) -> str | None`` so the rules are unit-tested
without Pulumi; ``load()`` binds it to the running stack's config.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol

import pulumi

PROJECT = "mobile-backend"
# CloudFront only accepts ACM certificates and CLOUDFRONT-scoped web ACLs from us-east-1.
EDGE_REGION = "us-east-1"
FUNCTIONS = ("api", "subscriber", "user_migration")
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
DATA_CLASSIFICATIONS = ("phi", "pii", "confidential", "internal")
ROLES = ("global", "regional")

_HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}$")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
_STACK_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _known_regions() -> frozenset[str]:
    # The provider's own enum follows AWS region launches with each pulumi-aws release.
    from pulumi_aws import Region

    return frozenset(r.value for r in Region)


class ConfigSource(Protocol):
    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}\n    fix: {self.fix}"


class SettingsError(pulumi.RunError):
    """Raised with every configuration problem found; preview fails before any resource."""

    def __init__(self, problems: list[Problem]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class RegionSpec:
    name: str
    cidr: str


@dataclass(frozen=True)
class Capacity:
    """Aurora Serverless v2 capacity range in ACUs."""

    min: float
    max: float


@dataclass(frozen=True)
class EdgeSettings:
    """Edge and storage tiers (global stack). Defaults keep other tiers' tests valid."""

    # Adopt an existing Route 53 public zone for `domain`; None creates one.
    hosted_zone_id: str | None = None
    # CloudFront WAF rate-based rule: requests per client IP per 5-minute window.
    rate_limit: int = 2000
    # Schedule of the origin-verify secret rotation (days between rotations).
    origin_verify_rotation_days: int = 30
    # Assets buckets: days a noncurrent object version is kept before it expires.
    noncurrent_version_days: int = 30


@dataclass(frozen=True)
class RegionalSettings:
    region: str
    global_stack: str
    is_primary: bool
    cidr: str
    az_count: int
    db_capacity: Capacity
    provisioned_concurrency: Mapping[str, int]
    reserved_concurrency: Mapping[str, int]


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    role: Literal["global", "regional"]
    environment: str
    domain: str
    regions: tuple[RegionSpec, ...]
    primary_region: str
    deploy_region: str
    alarm_email: str
    data_classification: str
    compliance_scope: str
    log_retention_days: int
    regional: RegionalSettings | None = None
    edge: EdgeSettings = EdgeSettings()

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return tuple(r for r in self.region_names if r != self.primary_region)

    def tags(self, region: str) -> dict[str, str]:
        """Default tags for every resource a provider in ``region`` creates (R-STACK-5)."""
        return {
            "project": self.project,
            "stack": self.stack,
            "environment": self.environment,
            "region": region,
            "data-classification": self.data_classification,
            "compliance-scope": self.compliance_scope,
            "managed-by": "pulumi",
        }


class _Reader:
    """Reads raw config values, recording problems instead of stopping at the first one."""

    def __init__(self, source: ConfigSource, project: str):
        self.source = source
        self.project = project
        self.problems: list[Problem] = []

    def key(self, name: str) -> str:
        return name if ":" in name else f"{self.project}:{name}"

    def fail(self, name: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.key(name), message, fix))

    def raw(self, name: str) -> str | None:
        value = self.source.get(self.key(name))
        return None if value is None or value == "" else value

    def text(self, name: str, *, required: bool, fix: str, default: str | None = None):
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, "is required but not set", fix)
            return default
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.fail(
                name, f"{value!r} is not an integer", f"set a whole number: {name}: {default}"
            )
            return default
        if not minimum <= number <= maximum:
            self.fail(
                name,
                f"{number} is outside {minimum}..{maximum}",
                f"pulumi config set {name} <a value between {minimum} and {maximum}>",
            )
        return number

    def obj(self, name: str, *, fix: str) -> Any:
        value = self.raw(name)
        if value is None:
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            self.fail(name, f"{value!r} is not a YAML/JSON object", fix)
            return None


def parse(source: ConfigSource, *, project: str, stack: str) -> Settings:
    """Parse and validate every key; raise SettingsError listing all problems found."""
    r = _Reader(source, project)
    known_regions = _known_regions()

    role = r.text("role", required=True, fix="pulumi config set role global|regional")
    if role is not None and role not in ROLES:
        r.fail("role", f"{role!r} is not a role", "pulumi config set role global|regional")

    environment = r.text("environment", required=False, fix="", default="prod")
    if not _ENVIRONMENT.match(environment):
        r.fail(
            "environment",
            f"{environment!r} must be lowercase letters, digits or '-', 2-16 chars",
            "pulumi config set environment prod (or dev, staging, ...)",
        )

    domain = r.text("domain", required=True, fix="set domain: example.com in Pulumi.yaml")
    if domain is not None and not _HOSTNAME.match(domain):
        r.fail("domain", f"{domain!r} is not a lowercase DNS name", "use e.g. mobile.example.com")

    regions = _parse_regions(r, known_regions)
    names = tuple(spec.name for spec in regions)

    primary = r.text(
        "primaryRegion", required=True, fix="set primaryRegion: eu-west-1 in Pulumi.yaml"
    )
    if primary is not None and names and primary not in names:
        r.fail(
            "primaryRegion",
            f"{primary!r} is not one of the serving regions ({', '.join(names)})",
            f"set primaryRegion to one of {', '.join(names)} or add {primary} to regions",
        )

    deploy_region = r.text("aws:region", required=True, fix="pulumi config set aws:region <region>")
    if deploy_region is not None and deploy_region not in known_regions:
        r.fail(
            "aws:region",
            f"{deploy_region!r} is not an AWS region",
            "pulumi config set aws:region eu-west-1 (see `aws ec2 describe-regions`)",
        )

    alarm_email = r.text("alarmEmail", required=True, fix="pulumi config set alarmEmail ops@...")
    if alarm_email is not None and not _EMAIL.match(alarm_email):
        r.fail("alarmEmail", f"{alarm_email!r} is not an email address", "use e.g. ops@example.com")

    classification = r.text("dataClassification", required=False, fix="", default="phi")
    if classification not in DATA_CLASSIFICATIONS:
        r.fail(
            "dataClassification",
            f"{classification!r} is not a known classification",
            f"use one of {', '.join(DATA_CLASSIFICATIONS)}",
        )
    scope = r.text("complianceScope", required=False, fix="", default="hipaa-gdpr")

    retention = r.integer("logRetentionDays", 365, minimum=1, maximum=3653)
    if retention not in LOG_RETENTION_DAYS:
        r.fail(
            "logRetentionDays",
            f"{retention} is not a CloudWatch Logs retention period",
            f"use one of {', '.join(str(d) for d in sorted(LOG_RETENTION_DAYS))}",
        )

    edge = _parse_edge(r)

    regional = None
    if role == "regional":
        known_deploy_region = deploy_region if deploy_region in known_regions else None
        regional = _parse_regional(r, known_deploy_region, primary, regions)

    if r.problems:
        raise SettingsError(r.problems)
    assert role is not None and domain is not None and primary is not None
    assert deploy_region is not None and alarm_email is not None
    return Settings(
        project=project,
        stack=stack,
        role=role,  # type: ignore[arg-type]
        environment=environment,
        domain=domain,
        regions=regions,
        primary_region=primary,
        deploy_region=deploy_region,
        alarm_email=alarm_email,
        data_classification=classification,
        compliance_scope=scope or "hipaa-gdpr",
        log_retention_days=retention,
        regional=regional,
        edge=edge,
    )


def _parse_regions(r: _Reader, known: frozenset[str]) -> tuple[RegionSpec, ...]:
    fix = "set regions: {eu-west-1: {cidr: 10.10.0.0/16}, us-west-1: {cidr: 10.20.0.0/16}}"
    raw = r.obj("regions", fix=fix)
    if raw is None:
        if not r.problems or r.problems[-1].key != r.key("regions"):
            r.fail("regions", "is required but not set", fix)
        return ()
    if not isinstance(raw, dict) or not raw:
        r.fail("regions", "must be a non-empty map of region name to {cidr: ...}", fix)
        return ()
    specs: list[RegionSpec] = []
    networks: list[tuple[str, ipaddress.IPv4Network]] = []
    for name, body in raw.items():
        if name not in known:
            r.fail("regions", f"{name!r} is not an AWS region", "use e.g. eu-west-1, us-west-1")
            continue
        cidr = body.get("cidr") if isinstance(body, dict) else None
        network = _parse_cidr(r, f"regions.{name}.cidr", cidr)
        if network is None:
            continue
        for other_name, other in networks:
            if network.overlaps(other):
                r.fail(
                    f"regions.{name}.cidr",
                    f"{network} overlaps {other_name}'s {other}",
                    "give every region a disjoint CIDR (e.g. 10.10.0.0/16, 10.20.0.0/16)",
                )
        networks.append((name, network))
        specs.append(RegionSpec(name=name, cidr=str(network)))
    return tuple(specs)


def _parse_cidr(r: _Reader, key: str, value: Any) -> ipaddress.IPv4Network | None:
    fix = f"set {key} to a private IPv4 block between /16 and /24, e.g. 10.10.0.0/16"
    if not isinstance(value, str):
        r.fail(key, "is required but not set", fix)
        return None
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        r.fail(key, f"{value!r} is not a valid CIDR ({exc})", fix)
        return None
    if not 16 <= network.prefixlen <= 24:
        r.fail(key, f"{value} has prefix /{network.prefixlen}; a VPC needs /16 to /24", fix)
        return None
    if not network.is_private:
        r.fail(key, f"{value} is not a private (RFC 1918) range", fix)
        return None
    return network


def _parse_regional(
    r: _Reader, region: str | None, primary: str | None, regions: tuple[RegionSpec, ...]
) -> RegionalSettings | None:
    by_name = {spec.name: spec for spec in regions}
    if region is not None and regions and region not in by_name:
        r.fail(
            "aws:region",
            f"regional stack region {region!r} is not in regions ({', '.join(by_name)})",
            f"add {region} to regions in Pulumi.yaml (with a CIDR), or fix aws:region",
        )
    global_stack = r.text(
        "globalStack",
        required=True,
        fix="pulumi config set globalStack <org>/mobile-backend/<env>-global",
    )
    if global_stack is not None and not _STACK_REF.match(global_stack):
        r.fail(
            "globalStack",
            f"{global_stack!r} is not a fully qualified stack name",
            "use <org>/<project>/<stack>, e.g. examplehealth/mobile-backend/prod-global",
        )
    az_count = r.integer("azCount", 2, minimum=2, maximum=6)
    capacity = _parse_capacity(r)
    reserved = _parse_concurrency(r, "reservedConcurrency", default=10)
    provisioned = _parse_concurrency(r, "provisionedConcurrency", default=0)
    for fn, count in provisioned.items():
        if count > reserved.get(fn, 0):
            r.fail(
                f"provisionedConcurrency.{fn}",
                f"{count} exceeds reservedConcurrency.{fn} ({reserved.get(fn, 0)})",
                f"lower provisionedConcurrency.{fn} or raise reservedConcurrency.{fn}",
            )
    if region is None or region not in by_name or global_stack is None:
        return None
    return RegionalSettings(
        region=region,
        global_stack=global_stack,
        is_primary=region == primary,
        cidr=by_name[region].cidr,
        az_count=az_count,
        db_capacity=capacity,
        provisioned_concurrency=MappingProxyType(provisioned),
        reserved_concurrency=MappingProxyType(reserved),
    )


def _parse_capacity(r: _Reader) -> Capacity:
    fix = "set dbCapacity: {min: 0.5, max: 16} (ACUs in steps of 0.5, 0.5 <= min <= max <= 256)"
    raw = r.obj("dbCapacity", fix=fix) or {"min": 0.5, "max": 8}
    if not isinstance(raw, dict):
        r.fail("dbCapacity", "must be a map {min, max}", fix)
        return Capacity(0.5, 8)
    values: dict[str, float] = {}
    for bound in ("min", "max"):
        value = raw.get(bound)
        key = f"dbCapacity.{bound}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            r.fail(key, f"{value!r} is not a number", fix)
            continue
        if value < 0:
            r.fail(key, f"{value} is negative", fix)
        elif not 0.5 <= value <= 256 or (value * 2) % 1:
            r.fail(key, f"{value} is not 0.5..256 ACUs in steps of 0.5", fix)
        values[bound] = float(value)
    low, high = values.get("min", 0.5), values.get("max", 8.0)
    if low > high:
        r.fail("dbCapacity", f"min {low} is greater than max {high}", fix)
    return Capacity(low, high)


def _parse_concurrency(r: _Reader, name: str, *, default: int) -> dict[str, int]:
    fix = f"set {name}: {{api: 2, subscriber: 0}} with whole numbers >= 0"
    raw = r.obj(name, fix=fix) or {}
    if not isinstance(raw, dict):
        r.fail(name, "must be a map of function name to a whole number", fix)
        return dict.fromkeys(FUNCTIONS, default)
    result = dict.fromkeys(FUNCTIONS, default)
    for fn, value in raw.items():
        key = f"{name}.{fn}"
        if fn not in FUNCTIONS:
            r.fail(key, f"unknown function {fn!r}", f"use one of {', '.join(FUNCTIONS)}")
        elif isinstance(value, bool) or not isinstance(value, int):
            r.fail(key, f"{value!r} is not a whole number", fix)
        elif value < 0:
            r.fail(key, f"{value} is negative", fix)
        else:
            result[fn] = value
    return result


_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")


def _parse_edge(r: _Reader) -> EdgeSettings:
    defaults = EdgeSettings()
    zone = r.text("hostedZoneId", required=False, fix="")
    if zone is not None and not _HOSTED_ZONE_ID.match(zone):
        r.fail(
            "hostedZoneId",
            f"{zone!r} is not a Route 53 hosted zone id",
            "pulumi config set hostedZoneId Z0123456789ABCDEFGHIJ (or unset it to create a zone)",
        )
    # AWS WAF accepts 10..2,000,000,000 requests per evaluation window for rate-based rules.
    rate_limit = r.integer("edgeRateLimit", defaults.rate_limit, minimum=10, maximum=2_000_000_000)
    rotation_days = r.integer(
        "originVerifyRotationDays", defaults.origin_verify_rotation_days, minimum=1, maximum=365
    )
    noncurrent_days = r.integer(
        "assetsNoncurrentVersionDays", defaults.noncurrent_version_days, minimum=1, maximum=3650
    )
    return EdgeSettings(
        hosted_zone_id=zone,
        rate_limit=rate_limit,
        origin_verify_rotation_days=rotation_days,
        noncurrent_version_days=noncurrent_days,
    )


class _PulumiSource:
    """Adapts pulumi.Config (namespaced by the key's prefix) to ConfigSource."""

    def get(self, key: str) -> str | None:
        namespace, _, name = key.partition(":")
        return pulumi.Config(namespace).get(name)


def load() -> Settings:
    """Settings of the running stack, validated; raise SettingsError before any resource."""
    return parse(_PulumiSource(), project=pulumi.get_project(), stack=pulumi.get_stack())
