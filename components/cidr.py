"""CIDR arithmetic for the network tier, kept pure so it is tested without Pulumi."""

from __future__ import annotations

import ipaddress

# Four extra prefix bits: a /16 VPC yields /20 subnets (4,091 usable addresses each), room
# for Lambda ENIs at high concurrency, and up to 16 subnets for future tiers.
SUBNET_EXTRA_BITS = 4


def private_subnet_cidrs(vpc_cidr: str, count: int) -> list[str]:
    """The first ``count`` equal subnets of ``vpc_cidr``, one per availability zone."""
    network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    subnets = list(network.subnets(prefixlen_diff=SUBNET_EXTRA_BITS))
    if count > len(subnets):
        raise ValueError(f"{vpc_cidr} cannot hold {count} subnets of /{subnets[0].prefixlen}")
    return [str(s) for s in subnets[:count]]
