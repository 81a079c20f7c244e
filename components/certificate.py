"""The one recipe for a DNS-validated ACM certificate (R-EDGE-1, R-API-1).

A certificate is usable only once ACM has seen its validation CNAMEs in the zone, so the
recipe returns the ARN as ``CertificateValidation`` reports it: whatever consumes it (a
distribution, an API custom domain) waits for validation instead of failing on a pending
certificate. The records may be overwritten: ACM uses the same CNAME for the same name in
every region of an account, so two stacks validating the same name write the same record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

VALIDATION_RECORD_TTL = 300


@dataclass(frozen=True)
class Host:
    """A name on the certificate. ``label`` names its validation record's resource
    (``<name>-certificate-validation-<label>``); a single-name certificate needs none."""

    name: str
    label: str | None = None


def _validation_field(options: Any, domain: str, field: str) -> str:
    for option in options or []:
        if option["domain_name"] == domain:
            return option[field]
    raise pulumi.RunError(f"ACM returned no DNS validation option for {domain}")


def dns_validated_certificate(
    name: str,
    *,
    hosts: Sequence[Host],
    zone_id: pulumi.Input[str],
    key_algorithm: str,
    opts: pulumi.ResourceOptions,
) -> pulumi.Output[str]:
    """Declares ``aws.acm.Certificate`` ``<name>-certificate`` for ``hosts`` (the first is the
    domain name, the others alternative names), one validation ``route53.Record`` per host and
    the ``acm.CertificateValidation``; returns the validated certificate's ARN."""
    certificate = aws.acm.Certificate(
        f"{name}-certificate",
        domain_name=hosts[0].name,
        subject_alternative_names=[host.name for host in hosts[1:]] or None,
        validation_method="DNS",
        key_algorithm=key_algorithm,
        opts=opts,
    )
    options = certificate.domain_validation_options

    def field(host: Host, key: str) -> pulumi.Output[str]:
        return options.apply(lambda o: _validation_field(o, host.name, key))

    records = [
        aws.route53.Record(
            "-".join(part for part in (name, "certificate-validation", host.label) if part),
            zone_id=zone_id,
            name=field(host, "resource_record_name"),
            type=field(host, "resource_record_type"),
            records=[field(host, "resource_record_value")],
            ttl=VALIDATION_RECORD_TTL,
            allow_overwrite=True,
            opts=opts,
        )
        for host in hosts
    ]
    validation = aws.acm.CertificateValidation(
        f"{name}-certificate-validation",
        certificate_arn=certificate.arn,
        validation_record_fqdns=[record.fqdn for record in records],
        opts=opts,
    )
    return validation.certificate_arn
