"""``api.<domain>`` for one region (R-API-1, R-API-5): certificate, custom domain, base path
mapping, a Route 53 health check of this region's API and its latency record.

The record is a latency **CNAME** to the regional API Gateway domain, not an alias: an alias
inherits API Gateway's 60 s TTL, which alone eats the RTO budget (10 s x 2 + ~6 s + 60 s = 86 s
> 60 s), whereas a CNAME's TTL is ours (10 s: 36 s). The health check probes the region's
default execute-api endpoint directly (``/api/health``, which touches the database): it must
judge this region alone, not whatever ``api.<domain>`` resolves to.

A record takes one health check, and two things may take a region out: its own failure (the
endpoint check, automatic) and an ARC Region switch plan (the checks the plan created for this
region, flipped by a plan execution). So the record heeds a **calculated** check that is
healthy only while all of its children are: the endpoint check and every plan check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ApiDomainArgs:
    # api.<domain>
    domain_name: str
    region: str
    hosted_zone_id: pulumi.Input[str]
    rest_api_id: pulumi.Input[str]
    stage_name: pulumi.Input[str]
    # CloudFront forwards /api/* unchanged, so the stage is mapped under the same path.
    base_path: str
    # The default execute-api host of this region's API, and the stage's path prefix on it.
    health_check_host: pulumi.Input[str]
    health_check_path: str
    health_check_interval: int
    health_check_failure_threshold: int
    ttl_seconds: int
    # Ids of the health checks the Region switch plans created for this region (global stack);
    # the latency record then heeds them together with the endpoint check.
    region_switch_health_check_ids: pulumi.Input[Sequence[str]] | None = None


def failover_seconds(interval: int, threshold: int, ttl: int, probe_seconds: int = 6) -> int:
    """Worst case from region failure to clients resolving away from it (FACTS: interval x
    threshold + ~6 s for the probe to connect (4 s) and answer (2 s) + the record's TTL)."""
    return interval * threshold + probe_seconds + ttl


def routing_children(endpoint_check_id: str, plan_check_ids: Sequence[str], region: str) -> list:
    """The calculated check's children: this region's endpoint check and every plan check.
    No plan check means the global stack has not reported them yet: deploying without them
    would silently leave this region out of every plan's control."""
    if not plan_check_ids:
        raise pulumi.RunError(
            f"the global stack reports no Region switch health check for {region}. Fix: "
            "deploy the global stack first (ARC creates them with the plans; re-run its "
            "`pulumi up` if the plans were just created)."
        )
    return [endpoint_check_id, *sorted(plan_check_ids)]


class ApiDomain(pulumi.ComponentResource):
    """Creates ``aws.acm.Certificate`` (DNS-validated in the global zone), its validation
    ``route53.Record`` and ``acm.CertificateValidation``, ``apigateway.DomainName`` (REGIONAL,
    TLS 1.2), ``apigateway.BasePathMapping``, ``route53.HealthCheck`` (HTTPS, SNI), with
    Region switch checks a ``CALCULATED`` ``route53.HealthCheck`` over it and them, and the
    latency ``route53.Record`` (CNAME with the calculated check, or the endpoint check).

    Attributes: ``regional_domain_name``, ``health_check_id`` (the endpoint check: this
    region's own health), ``routing_health_check_id`` (the one the record heeds),
    ``certificate_arn``.
    """

    def __init__(self, name: str, args: ApiDomainArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:logic:ApiDomain", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=args.domain_name,
            validation_method="DNS",
            key_algorithm="RSA_2048",
            opts=child,
        )
        option = certificate.domain_validation_options[0]
        # ACM uses the same validation CNAME for the same name in every region of an account,
        # so each regional stack writes (and may overwrite) the identical record.
        validation_record = aws.route53.Record(
            f"{name}-certificate-validation",
            zone_id=args.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=child,
        )
        domain = aws.apigateway.DomainName(
            f"{name}-domain",
            domain_name=args.domain_name,
            regional_certificate_arn=validation.certificate_arn,
            endpoint_configuration={"types": "REGIONAL"},
            security_policy="TLS_1_2",
            opts=child,
        )
        aws.apigateway.BasePathMapping(
            f"{name}-mapping",
            domain_name=domain.domain_name,
            rest_api=args.rest_api_id,
            stage_name=args.stage_name,
            base_path=args.base_path,
            opts=child,
        )

        health_check = aws.route53.HealthCheck(
            f"{name}-health",
            type="HTTPS",
            fqdn=args.health_check_host,
            port=443,
            resource_path=args.health_check_path,
            enable_sni=True,
            request_interval=args.health_check_interval,
            failure_threshold=args.health_check_failure_threshold,
            reference_name=f"api-{args.region}"[:28],
            tags={"Name": f"api.{args.region}"},
            opts=child,
        )
        routing_check = health_check
        if args.region_switch_health_check_ids is not None:
            plan_checks = pulumi.Output.from_input(args.region_switch_health_check_ids)
            children = pulumi.Output.all(health_check.id, plan_checks).apply(
                lambda v: routing_children(v[0], v[1], args.region)
            )
            routing_check = aws.route53.HealthCheck(
                f"{name}-routing",
                type="CALCULATED",
                child_healthchecks=children,
                # Healthy only while every child is: the region is up AND no plan took it out.
                child_health_threshold=children.apply(len),
                reference_name=f"route-{args.region}"[:28],
                tags={"Name": f"api.{args.region} routing"},
                opts=child,
            )
        aws.route53.Record(
            f"{name}-latency",
            zone_id=args.hosted_zone_id,
            name=args.domain_name,
            type="CNAME",
            ttl=args.ttl_seconds,
            records=[domain.regional_domain_name],
            set_identifier=args.region,
            latency_routing_policies=[{"region": args.region}],
            health_check_id=routing_check.id,
            opts=child,
        )

        self.regional_domain_name = domain.regional_domain_name
        self.health_check_id = health_check.id
        self.routing_health_check_id = routing_check.id
        self.certificate_arn = validation.certificate_arn
        self.register_outputs(
            {
                "regional_domain_name": self.regional_domain_name,
                "health_check_id": self.health_check_id,
            }
        )
