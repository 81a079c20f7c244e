"""The regional WAF web ACL on the API stage (R-API-4).

Only CloudFront may reach the API: it adds ``X-Origin-Verify`` with the value held in the
replicated secret ``mobile-backend/<env>/origin-verify`` (owned by the global stack). The rule
``origin-verify`` accepts the current value, the previous one and, while a rotation runs, the
pending one (a deploy in the middle of a rotation keeps what CloudFront may be sending); the
edge tier's rotation Lambda rewrites that rule in every region by its deterministic names
(web ACL ``mobile-backend-<env>-api-<region>``, rule ``origin-verify``). Everything else is
blocked by default, except ``GET /api/health``: Route 53 HTTPS health checks cannot send
custom headers, so that one read-only route is allowed without the header (it returns region,
role and database reachability, never data).
Logs redact ``Authorization`` and ``X-Origin-Verify``.

The rate-based rule counts the viewer's address from ``X-Forwarded-For``: every request here
comes from a CloudFront edge server, so counting the connecting address would add up every
viewer of a busy edge location and block them together (``components.waf_rules``). Requests
without the header (the health checkers) are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.log_group import LogStorage, encrypted_log_group
from components.waf_rules import managed_rule_group, ordered, rate_limit_rule, visibility

ORIGIN_VERIFY_HEADER = "x-origin-verify"
ORIGIN_VERIFY_RULE = "origin-verify"
HEALTH_RULE = "health-check"
RATE_RULE = "rate-limit"
REDACTED_HEADERS = ("authorization", ORIGIN_VERIFY_HEADER)
# Evaluated in this order, each blocking what it matches (no count-only overrides).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)


def _stage_or_current(versions: list[Any] | None, stage: str) -> str:
    for version in versions or []:
        stages = getattr(version, "version_stages", None)
        if stages is None and isinstance(version, dict):
            stages = version.get("version_stages") or version.get("versionStages")
        if stage in (stages or []):
            return stage
    return "AWSCURRENT"


def previous_stage(versions: list[Any] | None) -> str:
    """AWSPREVIOUS exists only after a first rotation; until then the current value is the
    only one accepted (the rule branches carry it twice)."""
    return _stage_or_current(versions, "AWSPREVIOUS")


def pending_stage(versions: list[Any] | None) -> str:
    """AWSPENDING exists while a rotation runs: from its setSecret step CloudFront may already
    send it, so a deploy in that window must keep accepting it (else the API is blocked until
    finishSecret). Outside a rotation the branch carries the current value."""
    return _stage_or_current(versions, "AWSPENDING")


def _exactly(field: dict[str, Any], value: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "byte_match_statement": {
            "field_to_match": field,
            "positional_constraint": "EXACTLY",
            "search_string": value,
            "text_transformations": [{"priority": 0, "type": "NONE"}],
        }
    }


def rules(
    *,
    rate_limit: int,
    health_path: str,
    current: pulumi.Input[str],
    previous: pulumi.Input[str],
    pending: pulumi.Input[str] | None = None,
) -> list[dict[str, Any]]:
    """The ordered rules of the web ACL (default action: block)."""
    return ordered(
        [
            rate_limit_rule(RATE_RULE, rate_limit, key="FORWARDED_IP"),
            *(managed_rule_group(group) for group in MANAGED_RULE_GROUPS),
            {
                "name": HEALTH_RULE,
                "action": {"allow": {}},
                "statement": {
                    "and_statement": {
                        "statements": [
                            _exactly({"method": {}}, "GET"),
                            _exactly({"uri_path": {}}, health_path),
                        ]
                    }
                },
            },
            {
                "name": ORIGIN_VERIFY_RULE,
                "action": {"allow": {}},
                "statement": {
                    "or_statement": {
                        "statements": [
                            _exactly({"single_header": {"name": ORIGIN_VERIFY_HEADER}}, value)
                            for value in (current, previous, pending)
                            if value is not None
                        ]
                    }
                },
            },
        ],
        metric_name=lambda rule: rule,
    )


@dataclass(frozen=True)
class RegionalWafArgs:
    environment: str
    region: str
    stage_arn: pulumi.Input[str]
    rate_limit: int
    # The path GET requests for the health check arrive with (stage path included).
    health_path: str
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    # Shared with the global stack's origin-verify rotation, which finds this web ACL by name
    # and rewrites its origin-verify rule (stacks/contract.py holds the conventions).
    web_acl_name: str
    origin_verify_secret_name: str


class RegionalWaf(pulumi.ComponentResource):
    """Creates ``aws.wafv2.WebAcl`` (REGIONAL, default block; rules: rate limit, AWS managed
    groups, health check, origin verify), ``WebAclAssociation`` with the API stage, the
    ``aws-waf-logs-*`` ``LogGroup`` (KMS, retention) and ``WebAclLoggingConfiguration``
    with the sensitive headers redacted. Reads the origin-verify secret's current, previous and
    pending values (kept secret in state).

    Attributes: ``web_acl_arn``, ``web_acl_name``, ``log_group_name``.
    """

    def __init__(
        self, name: str, args: RegionalWafArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mobile-backend:logic:RegionalWaf", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        secret_name = args.origin_verify_secret_name

        versions = aws.secretsmanager.get_secret_versions_output(secret_id=secret_name, opts=invoke)

        def value(stage: pulumi.Input[str]) -> pulumi.Output[str]:
            return pulumi.Output.secret(
                aws.secretsmanager.get_secret_version_output(
                    secret_id=secret_name, version_stage=stage, opts=invoke
                ).secret_string
            )

        acl_name = args.web_acl_name
        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=acl_name,
            description="API stage: CloudFront (origin-verify) and the health check only",
            scope="REGIONAL",
            default_action={"block": {}},
            rules=rules(
                rate_limit=args.rate_limit,
                health_path=args.health_path,
                current=value("AWSCURRENT"),
                previous=value(versions.versions.apply(previous_stage)),
                pending=value(versions.versions.apply(pending_stage)),
            ),
            visibility_config=visibility(acl_name),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-stage",
            resource_arn=args.stage_arn,
            web_acl_arn=acl.arn,
            opts=child,
        )
        # WAF only delivers to log groups named aws-waf-logs-*.
        log_group = encrypted_log_group(
            f"{name}-logs",
            log_group_name=f"aws-waf-logs-{acl_name}",
            storage=LogStorage(args.logs_key_arn, args.log_retention_days),
            opts=child,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in REDACTED_HEADERS],
            opts=child,
        )

        self.web_acl_arn = acl.arn
        self.web_acl_name = acl_name
        self.log_group_name = log_group.name
        self.register_outputs({"web_acl_arn": self.web_acl_arn})
