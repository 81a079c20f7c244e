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
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

import pulumi

from components.waf_rules import (
    DEFAULT_RATE_LIMIT,
    DESIGN_PEAK_REQUESTS_PER_MINUTE,
    rate_limit_floor,
)
from contract import names
from contract.functions import APP_FUNCTIONS

PROJECT = names.PROJECT
# CloudFront only accepts ACM certificates and CLOUDFRONT-scoped web ACLs from us-east-1.
EDGE_REGION = "us-east-1"
# The API Gateway token authorizer (logic tier) is configured like the other functions.
# The app functions whose concurrency a regional stack configures.
FUNCTIONS = APP_FUNCTIONS
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
DATA_CLASSIFICATIONS = ("phi", "pii", "confidential", "internal")
PERSONAL_DATA_CLASSIFICATIONS = ("phi", "pii")
# GDPR Chapter V instruments a transfer of EU personal data out of the EU can rest on.
_TRANSFER_MECHANISM = re.compile(
    r"data privacy framework|\bDPF\b|\bSCCs?\b|standard contractual clauses|"
    r"binding corporate rules|\bBCRs?\b|adequacy decision|art(icle)?\.? ?49",
    re.IGNORECASE,
)
ROLES = ("global", "regional")
# What API Gateway accepts as an API key value (at least 20 characters).
_APP_KEY = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
# CodeDeploy's predefined Lambda deployment configurations (the first is the default): all at
# once (dev), or a canary / linear shift that the function's alarms can stop and roll back.
RELEASE_CONFIGS = (
    "CodeDeployDefault.LambdaAllAtOnce",
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
)
# Lambda code signing: what a function does with code no allowed publisher signed.
CODE_SIGNING_POLICIES = ("Enforce", "Warn")
# The environment whose functions must refuse unsigned code (R-SEC-3).
PRODUCTION = "prod"
# HIPAA §164.316(b)(2): documentation (audit records included) is kept six years.
AUDIT_LOG_RETENTION_DAYS = 6 * 365

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

    # Optional: sources that know which keys are encrypted in the stack file answer
    # ``is_secret(key)``; a source without it is treated as holding no secrets.


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}\n    fix: {self.fix}"


class StackConfigError(pulumi.RunError):
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
class MessagingSettings:
    """SQS → subscriber delivery (R-MSG-1). Defaults suit a few hundred messages a minute."""

    subscriber_batch_size: int = 10
    subscriber_batch_window_seconds: int = 1
    # R-DR-3: receives x the queue's visibility timeout (6 x 30 s + 1 s) must outlast an
    # Aurora promotion with room to spare: 10 x 181 s ≈ 30 min (docs/dr.md §3).
    dlq_max_receive_count: int = 10


@dataclass(frozen=True)
class ApnsCredentials:
    """Token-based APNs (a .p8 signing key never expires, unlike certificates)."""

    signing_key: str = field(repr=False)
    key_id: str
    team_id: str
    bundle_id: str
    sandbox: bool


@dataclass(frozen=True)
class FcmCredentials:
    """FCM HTTP v1: the Firebase service account key JSON."""

    service_account_json: str = field(repr=False)


@dataclass(frozen=True)
class PushSettings:
    """SNS mobile push platforms (R-MSG-2); a platform without credentials is not created."""

    apns: ApnsCredentials | None = None
    fcm: FcmCredentials | None = None


@dataclass(frozen=True)
class DataSettings:
    """Data tier (Aurora global database, DB secret). Defaults keep other tiers' tests valid."""

    # Aurora PostgreSQL version of the global cluster (global stack; regions read it back).
    engine_version: str = "16.6"
    # Region holding the primary copy of the DB secret. Pinned, never follows a switchover:
    # a secret cannot move region without being replaced (see docs/data.md).
    secret_home_region: str = ""
    secret_rotation_days: int = 30
    # rds.global_db_rpo in every cluster's parameter group (the writer enforces it); None
    # leaves the guard off.
    rpo_seconds: int | None = None
    write_forward_consistency: str = "EVENTUAL"
    instance_count: int = 2
    # Development-account role allowed to read the DB secret (R-SEC-1), or None.
    dev_account_role_arn: str | None = None


@dataclass(frozen=True)
class FederationProvider:
    """A social identity provider for the user pool; ``client_secret`` comes from secret
    config and is wrapped in ``pulumi.Output.secret`` where it is used."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class LogicSettings:
    """Logic and identity tiers (API Gateway, WAF, Route 53 records, Cognito)."""

    # Cognito MFA: OFF, OPTIONAL (users may enrol TOTP) or ON (required).
    mfa: Literal["OFF", "OPTIONAL", "ON"] = "OPTIONAL"
    # Requests per 5 minutes per viewer address (X-Forwarded-For) at the regional WAF.
    waf_rate_limit: int = DEFAULT_RATE_LIMIT
    # Stage-wide API Gateway throttle (requests per second, burst).
    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    # Execution logging level of the stage (data trace is always off).
    api_logging_level: Literal["ERROR", "INFO"] = "ERROR"
    # Legacy identity system the user-migration trigger authenticates against (https).
    legacy_auth_url: str | None = None
    # "google" / "facebook" → client credentials.
    federation: Mapping[str, FederationProvider] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Route 53 health check of this region's API and the latency record's TTL (R-API-5).
    health_check_interval: int = 10
    health_check_failure_threshold: int = 2
    dns_ttl_seconds: int = 10


@dataclass(frozen=True)
class EdgeSettings:
    """Edge and storage tiers (global stack). Defaults keep other tiers' tests valid."""

    # Adopt an existing Route 53 public zone for `domain`; None creates one.
    hosted_zone_id: str | None = None
    # CloudFront WAF rate-based rule: requests per client IP per 5-minute window.
    rate_limit: int = 2000
    # AWS managed anonymous-IP rule group (VPNs, Tor, proxies) on the CloudFront web ACL.
    anonymous_ip_list: bool = False
    # Schedule of the origin-verify secret rotation (days between rotations).
    origin_verify_rotation_days: int = 30
    # Assets buckets: days a noncurrent object version is kept before it expires.
    noncurrent_version_days: int = 30


@dataclass(frozen=True)
class UsagePlanSettings:
    """One app's API Gateway usage plan (R-OPS-2): steady rate and burst per second, and a
    daily request quota for the whole app (all its users together)."""

    rate_limit: float = 50
    burst_limit: int = 100
    daily_quota: int = 1_000_000


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
    messaging: MessagingSettings = MessagingSettings()
    push: PushSettings = PushSettings()
    logic: LogicSettings = LogicSettings()
    # Lambda SnapStart per app function (published versions restore from a snapshot of the
    # initialized function). Exclusive with provisioned concurrency on the same function.
    snap_start: Mapping[str, bool] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(FUNCTIONS, False))
    )
    # AZs that carry an ENI of each interface VPC endpoint (billed per endpoint per AZ-hour);
    # None: every AZ of the VPC. Functions in the other AZs reach them across AZs.
    vpc_endpoint_az_count: int | None = None
    # How a new version of an app function takes the ``live`` alias (R-OPS-1): one of
    # RELEASE_CONFIGS, CodeDeploy's predefined Lambda deployment configurations.
    release_config: str = "CodeDeployDefault.LambdaAllAtOnce"
    # App client (ios, android, web) → its usage plan.
    usage_plans: Mapping[str, UsagePlanSettings] = field(
        default_factory=lambda: MappingProxyType(
            {app: UsagePlanSettings() for app in names.APP_KEY_CLIENTS}
        )
    )


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
    # Object-lock retention of the CloudTrail bucket (HIPAA keeps audit records 6 years).
    audit_log_retention_days: int = 2190
    # GDPR Chapter V mechanism for EU personal data held outside the EU (None: none declared).
    gdpr_transfer_mechanism: str | None = None
    data: DataSettings = field(default_factory=DataSettings)
    edge: EdgeSettings = EdgeSettings()
    # Lambda code signing config: Enforce (refuse unsigned code) or Warn (log it).
    code_signing_policy: Literal["Enforce", "Warn"] = "Enforce"
    # Aurora clusters refuse deletion and keep a final snapshot. Only an environment that
    # holds no personal data (dev: synthetic data) may turn it off, to be torn down at will.
    deletion_protection: bool = True
    # Region switch plans (global stack): a human approves each execution before anything
    # moves (prod); off for an environment whose game days run unattended (dev).
    region_switch_approval: bool = True
    # Monthly idle-cost budget of this stack in USD (bench/cost.py; a test holds the modelled
    # idle cost to it). None: no budget set.
    idle_cost_budget: float | None = None
    # Compute Optimizer (global stack, R-OPS-4): the account's enrollment, opt-in per
    # environment (it analyses every Lambda function of the account, so one switch decides).
    compute_optimizer: bool = False
    # App client → its API key value (global stack, R-OPS-2): one value for every region, so
    # an app keeps working whichever region latency routing sends it to. Not a secret.
    app_keys: Mapping[str, str] = field(default_factory=dict)

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

    def boolean(self, name: str, default: bool, *, fix: str) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            self.fail(name, f"{value!r} is not true or false", fix)
            return default
        return value.lower() == "true"

    def is_secret(self, name: str) -> bool:
        checker = getattr(self.source, "is_secret", None)
        return bool(checker(self.key(name))) if checker is not None else False

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
    """Parse and validate every key; raise StackConfigError listing all problems found."""
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
    transfer_mechanism = _parse_transfer_mechanism(r, regions, classification)

    retention = r.integer("logRetentionDays", 365, minimum=1, maximum=3653)
    if retention not in LOG_RETENTION_DAYS:
        r.fail(
            "logRetentionDays",
            f"{retention} is not a CloudWatch Logs retention period",
            f"use one of {', '.join(str(d) for d in sorted(LOG_RETENTION_DAYS))}",
        )

    deletion_protection = _parse_deletion_protection(r, classification)

    audit_retention = r.integer(
        "auditLogRetentionDays", AUDIT_LOG_RETENTION_DAYS, minimum=1, maximum=3653
    )
    data = _parse_data(r, primary, tuple(spec.name for spec in regions))
    edge = _parse_edge(r)
    code_signing = _parse_code_signing(r, environment)
    approval = r.boolean(
        "regionSwitchApproval",
        True,
        fix="pulumi config set regionSwitchApproval true (false only where nobody must approve)",
    )
    idle_budget = _parse_idle_cost_budget(r)

    regional = None
    if role == "regional":
        known_deploy_region = deploy_region if deploy_region in known_regions else None
        regional = _parse_regional(r, known_deploy_region, primary, regions, environment)
    app_keys = _parse_app_keys(r) if role == "global" else {}
    compute_optimizer = r.boolean(
        "computeOptimizer",
        False,
        fix="pulumi config set computeOptimizer true (false: no enrollment, docs/performance.md)",
    )

    if r.problems:
        raise StackConfigError(r.problems)
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
        gdpr_transfer_mechanism=transfer_mechanism,
        regional=regional,
        audit_log_retention_days=audit_retention,
        data=data,
        edge=edge,
        code_signing_policy=code_signing,  # type: ignore[arg-type]
        deletion_protection=deletion_protection,
        region_switch_approval=approval,
        idle_cost_budget=idle_budget,
        compute_optimizer=compute_optimizer,
        app_keys=MappingProxyType(app_keys),
    )


def _parse_idle_cost_budget(r: _Reader) -> float | None:
    value = r.raw("idleCostBudget")
    if value is None:
        return None
    fix = "pulumi config set idleCostBudget <monthly USD, e.g. 450> (or remove the key)"
    try:
        budget = float(value)
    except ValueError:
        r.fail("idleCostBudget", f"{value!r} is not a number of US dollars", fix)
        return None
    if not 0 < budget <= 1_000_000:
        r.fail("idleCostBudget", f"{budget:g} is outside 0 < budget <= 1000000 USD", fix)
        return None
    return budget


def _parse_deletion_protection(r: _Reader, classification: str | None) -> bool:
    value = r.raw("deletionProtection")
    if value is None:
        return True
    if value.lower() not in ("true", "false"):
        r.fail(
            "deletionProtection",
            f"{value!r} is not true or false",
            "pulumi config set deletionProtection true (false only for disposable environments)",
        )
        return True
    protected = value.lower() == "true"
    if not protected and classification in PERSONAL_DATA_CLASSIFICATIONS:
        r.fail(
            "deletionProtection",
            f"cannot be false while dataClassification is {classification!r}: a cluster "
            "holding personal data must survive a mistaken delete (HIPAA 164.308(a)(7))",
            "set deletionProtection: true, or dataClassification: internal for an environment "
            "that holds synthetic data only (dev)",
        )
        return True
    return protected


def _parse_code_signing(r: _Reader, environment: str) -> str:
    """Enforce in production, Warn elsewhere unless the stack asks for Enforce: a development
    stack may deploy an unsigned build while a signing problem is investigated, production
    never."""
    default = "Enforce" if environment == PRODUCTION else "Warn"
    policy = r.text("codeSigningPolicy", required=False, fix="", default=default)
    if policy not in CODE_SIGNING_POLICIES:
        r.fail(
            "codeSigningPolicy",
            f"{policy!r} is not a code signing policy",
            "pulumi config set codeSigningPolicy Enforce (or Warn outside production)",
        )
        return default
    if policy == "Warn" and environment == PRODUCTION:
        r.fail(
            "codeSigningPolicy",
            f"Warn would let the {PRODUCTION} functions run unsigned code",
            "pulumi config rm codeSigningPolicy (production enforces code signing)",
        )
    return policy


def _parse_transfer_mechanism(
    r: _Reader, regions: tuple[RegionSpec, ...], classification: str
) -> str | None:
    """The GDPR transfer mechanism: required once personal data has a non-EU serving region
    (every region holds the replicated data); the policy pack enforces it per resource too."""
    fix = (
        "set gdprTransferMechanism in Pulumi.yaml to the Chapter V instrument, e.g. "
        "'EU-US Data Privacy Framework + SCCs (2021/914)'"
    )
    value = r.text("gdprTransferMechanism", required=False, fix=fix)
    outside = [spec.name for spec in regions if not spec.name.startswith("eu-")]
    if value is None:
        if outside and classification in PERSONAL_DATA_CLASSIFICATIONS:
            r.fail(
                "gdprTransferMechanism",
                f"is required: {classification} data is replicated to {', '.join(outside)} "
                "outside the EU (a GDPR Chapter V transfer)",
                fix,
            )
        return None
    value = value.strip()
    if not 10 <= len(value) <= 300 or not _TRANSFER_MECHANISM.search(value):
        r.fail(
            "gdprTransferMechanism",
            f"{value!r} names no GDPR transfer mechanism (DPF, SCCs, BCRs, adequacy, Art. 49)",
            fix,
        )
    return value


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
    r: _Reader,
    region: str | None,
    primary: str | None,
    regions: tuple[RegionSpec, ...],
    environment: str,
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
        fix=f"pulumi config set globalStack <org>/{PROJECT}/<env>-global",
    )
    if global_stack is not None and not _STACK_REF.match(global_stack):
        r.fail(
            "globalStack",
            f"{global_stack!r} is not a fully qualified stack name",
            f"use <org>/<project>/<stack>, e.g. examplehealth/{PROJECT}/prod-global",
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
    snap_start = _parse_snap_start(r, provisioned)
    endpoint_azs = None
    if r.raw("vpcEndpointAzCount") is not None:
        endpoint_azs = r.integer("vpcEndpointAzCount", az_count, minimum=1, maximum=6)
        if endpoint_azs > az_count:
            r.fail(
                "vpcEndpointAzCount",
                f"{endpoint_azs} exceeds azCount ({az_count}): an endpoint has one ENI per AZ "
                "of the VPC at most",
                f"set vpcEndpointAzCount to 1..{az_count} (or remove it: every AZ)",
            )
    messaging = _parse_messaging(r)
    push = _parse_push(r)
    logic = _parse_logic(r, environment)
    release_config = r.text("releaseConfig", required=False, fix="", default=RELEASE_CONFIGS[0])
    usage_plans = _parse_usage_plans(r)
    if release_config not in RELEASE_CONFIGS:
        r.fail(
            "releaseConfig",
            f"{release_config!r} is not a CodeDeploy Lambda deployment configuration",
            f"use one of {', '.join(RELEASE_CONFIGS)} (docs/logic.md: releases)",
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
        messaging=messaging,
        push=push,
        logic=logic,
        snap_start=MappingProxyType(snap_start),
        vpc_endpoint_az_count=endpoint_azs,
        release_config=release_config or RELEASE_CONFIGS[0],
        usage_plans=MappingProxyType(usage_plans),
    )


def _parse_snap_start(r: _Reader, provisioned: Mapping[str, int]) -> dict[str, bool]:
    """``snapStart: {api: true}``: Lambda SnapStart per app function. Lambda refuses SnapStart
    and provisioned concurrency on the same version, so a function gets one or the other."""
    fix = "set snapStart: {api: true, subscriber: false} with true or false per function"
    raw = r.obj("snapStart", fix=fix) or {}
    result = dict.fromkeys(FUNCTIONS, False)
    if not isinstance(raw, dict):
        r.fail("snapStart", "must be a map of function name to true or false", fix)
        return result
    for fn, value in raw.items():
        key = f"snapStart.{fn}"
        if fn not in FUNCTIONS:
            r.fail(key, f"unknown function {fn!r}", f"use one of {', '.join(FUNCTIONS)}")
        elif not isinstance(value, bool):
            r.fail(key, f"{value!r} is not true or false", fix)
        elif value and provisioned.get(fn, 0) > 0:
            r.fail(
                key,
                f"SnapStart and provisionedConcurrency.{fn} ({provisioned[fn]}) cannot both be "
                "on: Lambda refuses SnapStart on a version with provisioned concurrency",
                f"set provisionedConcurrency.{fn}: 0 to use SnapStart, or snapStart.{fn}: false",
            )
        else:
            result[fn] = value
    return result


def _per_app(r: _Reader, name: str, fix: str) -> dict[str, Any] | None:
    """An object keyed by exactly the app clients (ios, android, web); None if absent or not
    that (the latter reported)."""
    raw = r.obj(name, fix=fix)
    if raw is not None and (not isinstance(raw, dict) or set(raw) != set(names.APP_KEY_CLIENTS)):
        r.fail(name, f"must name exactly {', '.join(names.APP_KEY_CLIENTS)}", fix)
        return None
    return raw


def _parse_app_keys(r: _Reader) -> dict[str, str]:
    fix = (
        "set appKeys: {ios: <key>, android: <key>, web: <key>} (20-128 letters, digits, '-' "
        "or '_'; e.g. `openssl rand -hex 20`), different per environment"
    )
    raw = _per_app(r, "appKeys", fix)
    if raw is None:
        if r.raw("appKeys") is None:
            r.fail("appKeys", "no API key value per app client", fix)
        return {}
    keys = {app: str(value) for app, value in raw.items()}
    for app, value in keys.items():
        if not _APP_KEY.match(value):
            r.fail(f"appKeys.{app}", f"{value!r} is not a valid API Gateway key value", fix)
    if len(set(keys.values())) != len(keys):
        r.fail("appKeys", "two apps share a key: a key identifies one app", fix)
    return keys


def _parse_usage_plans(r: _Reader) -> dict[str, UsagePlanSettings]:
    fix = (
        "set appUsagePlans: {ios: {rateLimit: 50, burstLimit: 100, dailyQuota: 1000000}, "
        "android: {...}, web: {...}} (rate > 0, 1 <= burst, 1 <= quota)"
    )
    raw = _per_app(r, "appUsagePlans", fix)
    if raw is None:
        return {app: UsagePlanSettings() for app in names.APP_KEY_CLIENTS}
    plans = {}
    for app, plan in raw.items():
        try:
            parsed = UsagePlanSettings(
                rate_limit=float(plan["rateLimit"]),
                burst_limit=int(plan["burstLimit"]),
                daily_quota=int(plan["dailyQuota"]),
            )
        except (TypeError, KeyError, ValueError):
            r.fail(
                f"appUsagePlans.{app}",
                f"{plan!r} is not {{rateLimit, burstLimit, dailyQuota}}",
                fix,
            )
            continue
        if parsed.rate_limit <= 0 or parsed.burst_limit < 1 or parsed.daily_quota < 1:
            r.fail(f"appUsagePlans.{app}", f"{plan!r} has a limit below its minimum", fix)
        plans[app] = parsed
    return plans


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


def _parse_messaging(r: _Reader) -> MessagingSettings:
    defaults = MessagingSettings()
    fix = "set subscriberBatch: {size: 10, windowSeconds: 1} (size 1-10000, window 0-300 s)"
    raw = r.obj("subscriberBatch", fix=fix) or {}
    size, window = defaults.subscriber_batch_size, defaults.subscriber_batch_window_seconds
    if not isinstance(raw, dict):
        r.fail("subscriberBatch", "must be a map {size, windowSeconds}", fix)
        raw = {}
    for bound, low, high in (("size", 1, 10000), ("windowSeconds", 0, 300)):
        if bound not in raw:
            continue
        value = raw[bound]
        key = f"subscriberBatch.{bound}"
        if isinstance(value, bool) or not isinstance(value, int):
            r.fail(key, f"{value!r} is not a whole number", fix)
        elif not low <= value <= high:
            r.fail(key, f"{value} is outside {low}..{high}", fix)
        elif bound == "size":
            size = value
        else:
            window = value
    # Lambda rejects an SQS mapping with more than 10 records per batch and no batching window.
    if size > 10 and window < 1:
        r.fail(
            "subscriberBatch.windowSeconds",
            f"a batch size of {size} (> 10) needs a batching window of at least 1 s",
            "set subscriberBatch.windowSeconds >= 1 or subscriberBatch.size <= 10",
        )
    # Fewer than 5 receives sends messages to the DLQ during an ordinary throttle or a short
    # database failover; AWS recommends at least 5 for Lambda consumers.
    receives = r.integer(
        "dlqMaxReceiveCount", defaults.dlq_max_receive_count, minimum=5, maximum=1000
    )
    return MessagingSettings(size, window, receives)


_APNS_ID = re.compile(r"^[A-Z0-9]{10}$")
_BUNDLE_ID = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PLAINTEXT_FIX = "pulumi config set --secret --path {key} <value> (never store it in plain text)"


def _parse_push(r: _Reader) -> PushSettings:
    return PushSettings(apns=_parse_apns(r), fcm=_parse_fcm(r))


def _require_secret(r: _Reader, name: str, field_name: str) -> bool:
    if r.is_secret(name):
        return True
    r.fail(
        f"{name}.{field_name}",
        "holds a credential but is stored in plain text",
        _PLAINTEXT_FIX.format(key=f"{name}.{field_name}"),
    )
    return False


def _parse_apns(r: _Reader) -> ApnsCredentials | None:
    fix = (
        "set pushApns: {signingKey: <secret .p8>, keyId: ABCDE12345, teamId: ABCDE12345, "
        "bundleId: com.example.app, sandbox: false}"
    )
    raw = r.obj("pushApns", fix=fix)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        r.fail("pushApns", "must be a map", fix)
        return None
    before = len(r.problems)
    signing_key = raw.get("signingKey")
    if not isinstance(signing_key, str) or "BEGIN PRIVATE KEY" not in signing_key:
        r.fail("pushApns.signingKey", "is not the PEM text of an APNs .p8 signing key", fix)
    else:
        _require_secret(r, "pushApns", "signingKey")
    for name in ("keyId", "teamId"):
        value = raw.get(name)
        if not isinstance(value, str) or not _APNS_ID.match(value):
            r.fail(f"pushApns.{name}", f"{value!r} is not a 10-character Apple identifier", fix)
    bundle_id = raw.get("bundleId")
    if not isinstance(bundle_id, str) or not _BUNDLE_ID.match(bundle_id):
        r.fail("pushApns.bundleId", f"{bundle_id!r} is not a bundle identifier", fix)
    sandbox = raw.get("sandbox", False)
    if not isinstance(sandbox, bool):
        r.fail("pushApns.sandbox", f"{sandbox!r} is not true or false", fix)
    if len(r.problems) > before:
        return None
    return ApnsCredentials(signing_key, raw["keyId"], raw["teamId"], bundle_id, sandbox)


def _parse_fcm(r: _Reader) -> FcmCredentials | None:
    fix = "set pushFcm: {serviceAccountJson: <secret: the Firebase service account key JSON>}"
    raw = r.obj("pushFcm", fix=fix)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        r.fail("pushFcm", "must be a map", fix)
        return None
    text = raw.get("serviceAccountJson")
    try:
        account = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        account = None
    needed = ("project_id", "private_key", "client_email")
    if not isinstance(account, dict) or account.get("type") != "service_account":
        r.fail("pushFcm.serviceAccountJson", "is not a service account key JSON", fix)
        return None
    missing = [name for name in needed if not account.get(name)]
    if missing:
        r.fail("pushFcm.serviceAccountJson", f"lacks {', '.join(missing)}", fix)
        return None
    if not _require_secret(r, "pushFcm", "serviceAccountJson"):
        return None
    return FcmCredentials(text)


# Aurora PostgreSQL versions with global write forwarding: 14.9+, 15.4+, every 16.x/17.x.
_ENGINE_VERSION = re.compile(r"^(1[4-7])\.(\d+)$")
_WRITE_FORWARDING_MINIMUM = {14: 9, 15: 4, 16: 0, 17: 0}
# SESSION (the engine default) is unsupported behind RDS Proxy with write forwarding; OFF
# would disable forwarding altogether.
WRITE_FORWARD_CONSISTENCY = ("EVENTUAL", "GLOBAL")
_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def _parse_data(r: _Reader, primary: str | None, region_names: tuple[str, ...]) -> DataSettings:
    defaults = DataSettings()
    version = r.text("dbEngineVersion", required=False, fix="", default=defaults.engine_version)
    match = _ENGINE_VERSION.match(version)
    if match is None or int(match[2]) < _WRITE_FORWARDING_MINIMUM[int(match[1])]:
        r.fail(
            "dbEngineVersion",
            f"{version!r} is not an Aurora PostgreSQL version with global write forwarding "
            "(14.9+, 15.4+, 16.x, 17.x)",
            "pulumi config set dbEngineVersion 16.6 (major.minor, e.g. 15.10 or 16.6)",
        )

    home = r.text("dbSecretHomeRegion", required=False, fix="", default=primary or "")
    if home and region_names and home not in region_names:
        r.fail(
            "dbSecretHomeRegion",
            f"{home!r} is not one of the serving regions ({', '.join(region_names)})",
            f"set dbSecretHomeRegion to one of {', '.join(region_names)} "
            "(the region that held the writer at the first deploy; never change it after)",
        )

    rotation_days = r.integer("dbSecretRotationDays", 30, minimum=1, maximum=30)

    rpo = None
    if r.raw("dbRpoSeconds") is not None:
        # rds.global_db_rpo accepts 20 s and more; the design's RPO target is 30 s.
        rpo = r.integer("dbRpoSeconds", 30, minimum=20, maximum=2_147_483_647)

    consistency = r.text(
        "dbWriteForwardConsistency", required=False, fix="", default="EVENTUAL"
    ).upper()
    if consistency not in WRITE_FORWARD_CONSISTENCY:
        r.fail(
            "dbWriteForwardConsistency",
            f"{consistency!r} is not usable behind RDS Proxy (SESSION is unsupported there, "
            "OFF disables write forwarding)",
            "pulumi config set dbWriteForwardConsistency EVENTUAL (or GLOBAL)",
        )

    instances = r.integer("dbInstanceCount", 2, minimum=2, maximum=16)

    dev_role = r.raw("devAccountRoleArn")
    if dev_role is not None and not _IAM_ROLE_ARN.match(dev_role):
        r.fail(
            "devAccountRoleArn",
            f"{dev_role!r} is not an IAM role ARN",
            "pulumi config set devAccountRoleArn arn:aws:iam::<dev account id>:role/<name> "
            "(or remove the key)",
        )

    return DataSettings(
        engine_version=version,
        secret_home_region=home,
        secret_rotation_days=rotation_days,
        rpo_seconds=rpo,
        write_forward_consistency=consistency,
        instance_count=instances,
        dev_account_role_arn=dev_role,
    )


FEDERATION_PROVIDERS = ("google", "facebook")
MFA_MODES = ("OFF", "OPTIONAL", "ON")


def _parse_logic(r: _Reader, environment: str) -> LogicSettings:
    defaults = LogicSettings()
    mfa = r.text("mfa", required=False, fix="", default=defaults.mfa)
    if mfa not in MFA_MODES:
        r.fail("mfa", f"{mfa!r} is not an MFA mode", "pulumi config set mfa OFF|OPTIONAL|ON")
    waf_rate = r.integer("wafRateLimit", defaults.waf_rate_limit, minimum=10, maximum=2_000_000_000)
    # Below the floor, a region's design peak arriving from one address (a carrier-grade NAT,
    # a clinic's proxy) would be blocked (components.waf_rules). The design load is
    # production's; a development environment serves its developers only.
    floor = rate_limit_floor()
    if environment == PRODUCTION and 10 <= waf_rate < floor:
        r.fail(
            "wafRateLimit",
            f"{waf_rate} per 5 minutes is below one region's design peak ({floor}: "
            f"{DESIGN_PEAK_REQUESTS_PER_MINUTE} requests a minute), so normal traffic from one "
            "address could be blocked",
            f"pulumi config set wafRateLimit {defaults.waf_rate_limit} (at least {floor})",
        )

    throttle_fix = "set apiThrottle: {rateLimit: 50, burstLimit: 100} (requests/s, burst >= 1)"
    throttle = r.obj("apiThrottle", fix=throttle_fix) or {}
    rate, burst = defaults.throttle_rate_limit, defaults.throttle_burst_limit
    if not isinstance(throttle, dict):
        r.fail("apiThrottle", "must be a map {rateLimit, burstLimit}", throttle_fix)
        throttle = {}
    raw_rate = throttle.get("rateLimit", rate)
    if isinstance(raw_rate, bool) or not isinstance(raw_rate, int | float) or raw_rate <= 0:
        r.fail("apiThrottle.rateLimit", f"{raw_rate!r} is not a positive number", throttle_fix)
    else:
        rate = float(raw_rate)
    raw_burst = throttle.get("burstLimit", burst)
    if isinstance(raw_burst, bool) or not isinstance(raw_burst, int) or raw_burst < 1:
        r.fail("apiThrottle.burstLimit", f"{raw_burst!r} is not a whole number >= 1", throttle_fix)
    else:
        burst = raw_burst

    level = r.text("apiLoggingLevel", required=False, fix="", default=defaults.api_logging_level)
    if level not in ("ERROR", "INFO"):
        r.fail(
            "apiLoggingLevel",
            f"{level!r} is not ERROR or INFO",
            "pulumi config set apiLoggingLevel ERROR (INFO only while debugging)",
        )

    legacy = r.text("legacyAuthUrl", required=False, fix="")
    if legacy is not None:
        from urllib.parse import urlparse

        parsed = urlparse(legacy)
        # Passwords travel in this request: TLS only, and a real host name.
        if parsed.scheme != "https" or not parsed.hostname:
            r.fail(
                "legacyAuthUrl",
                f"{legacy!r} is not an https URL",
                "pulumi config set legacyAuthUrl https://legacy.example.com/auth (or unset it)",
            )

    federation = _parse_federation(r)

    health_fix = "set healthCheck: {interval: 10, failureThreshold: 2} (interval 10 or 30, 1..10)"
    health = r.obj("healthCheck", fix=health_fix) or {}
    interval, threshold = defaults.health_check_interval, defaults.health_check_failure_threshold
    if not isinstance(health, dict):
        r.fail("healthCheck", "must be a map {interval, failureThreshold}", health_fix)
        health = {}
    raw_interval = health.get("interval", interval)
    if raw_interval not in (10, 30) or isinstance(raw_interval, bool):
        r.fail("healthCheck.interval", f"{raw_interval!r} is not 10 or 30 seconds", health_fix)
    else:
        interval = raw_interval
    raw_threshold = health.get("failureThreshold", threshold)
    if (
        isinstance(raw_threshold, bool)
        or not isinstance(raw_threshold, int)
        or not 1 <= raw_threshold <= 10
    ):
        r.fail("healthCheck.failureThreshold", f"{raw_threshold!r} is not 1..10", health_fix)
    else:
        threshold = raw_threshold

    ttl = r.integer("dnsTtlSeconds", defaults.dns_ttl_seconds, minimum=1, maximum=300)
    return LogicSettings(
        mfa=mfa if mfa in MFA_MODES else defaults.mfa,  # type: ignore[arg-type]
        waf_rate_limit=waf_rate,
        throttle_rate_limit=rate,
        throttle_burst_limit=burst,
        api_logging_level=level if level in ("ERROR", "INFO") else "ERROR",  # type: ignore[arg-type]
        legacy_auth_url=legacy,
        federation=MappingProxyType(federation),
        health_check_interval=interval,
        health_check_failure_threshold=threshold,
        dns_ttl_seconds=ttl,
    )


def _parse_federation(r: _Reader) -> dict[str, FederationProvider]:
    fix = (
        "set federation: {google: {clientId: ..., clientSecret: ...}} with the secret via "
        "`pulumi config set --secret --path federation.google.clientSecret ...`"
    )
    raw = r.obj("federation", fix=fix)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        r.fail("federation", "must be a map of provider name to credentials", fix)
        return {}
    providers: dict[str, FederationProvider] = {}
    for name, body in raw.items():
        key = f"federation.{name}"
        if name not in FEDERATION_PROVIDERS:
            r.fail(key, f"unknown provider {name!r}", f"use {' or '.join(FEDERATION_PROVIDERS)}")
            continue
        body = body if isinstance(body, dict) else {}
        values = {}
        for field_name in ("clientId", "clientSecret"):
            value = body.get(field_name)
            if not isinstance(value, str) or not value.strip():
                r.fail(f"{key}.{field_name}", "is required but not set", fix)
            values[field_name] = value
        if all(isinstance(v, str) and v.strip() for v in values.values()):
            providers[name] = FederationProvider(values["clientId"], values["clientSecret"])
    return providers


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
    anonymous = r.boolean(
        "edgeAnonymousIpList",
        defaults.anonymous_ip_list,
        fix="pulumi config set edgeAnonymousIpList false (docs/edge.md: the trade-off)",
    )
    rotation_days = r.integer(
        "originVerifyRotationDays", defaults.origin_verify_rotation_days, minimum=1, maximum=365
    )
    noncurrent_days = r.integer(
        "assetsNoncurrentVersionDays", defaults.noncurrent_version_days, minimum=1, maximum=3650
    )
    return EdgeSettings(
        hosted_zone_id=zone,
        rate_limit=rate_limit,
        anonymous_ip_list=anonymous,
        origin_verify_rotation_days=rotation_days,
        noncurrent_version_days=noncurrent_days,
    )


class _PulumiSource:
    """Adapts pulumi.Config (namespaced by the key's prefix) to ConfigSource."""

    def get(self, key: str) -> str | None:
        namespace, _, name = key.partition(":")
        return pulumi.Config(namespace).get(name)

    def is_secret(self, key: str) -> bool:
        # A map with one secure leaf (pulumi config set --secret --path) is secret as a whole.
        return pulumi.runtime.is_config_secret(key)


def load() -> Settings:
    """Settings of the running stack, validated; raise StackConfigError before any resource."""
    return parse(_PulumiSource(), project=pulumi.get_project(), stack=pulumi.get_stack())
