"""The regional network: an isolated VPC that in-VPC Lambda functions reach AWS through.

Only the functions that talk to Aurora live in the VPC (R-FN-1). They get no route to the
internet: no internet gateway, no NAT (cost, and an egress path PHI could leave by). Every AWS
API they call is reached through a VPC endpoint instead (R-SEC-2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cidr import private_subnet_cidrs
from components.log_group import LogStorage, encrypted_log_group
from components.policy_documents import assume_role_policy, flow_logs_delivery_policy

# AWS APIs the in-VPC functions call: secrets and IAM tokens for the database, KMS for
# envelope decryption, SNS/SQS for events, Logs/X-Ray for telemetry, RDS for the DR tooling,
# Lambda for the api's push relay (another region's device endpoints, docs/logic.md "Push").
INTERFACE_ENDPOINT_SERVICES = (
    "secretsmanager",
    "kms",
    "sns",
    "sqs",
    "logs",
    "xray",
    "sts",
    "rds",
    "lambda",
)


@dataclass(frozen=True)
class NetworkArgs:
    cidr: str
    az_count: int
    account_id: pulumi.Input[str]
    region: str
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    # AZs whose subnets carry an ENI of each interface endpoint (billed per endpoint per
    # AZ-hour); None: every AZ. Private DNS resolves to the ENIs that exist, so functions in
    # the other AZs still reach the service, across AZs.
    endpoint_az_count: int | None = None


class Network(pulumi.ComponentResource):
    """Creates ``aws.ec2.Vpc`` (DNS on, for endpoint private DNS), one private ``Subnet`` per
    AZ with a shared route table, an S3 gateway endpoint, interface endpoints for
    ``INTERFACE_ENDPOINT_SERVICES`` behind a security group open to the VPC only on 443,
    the adopted default security group with every rule removed, and VPC flow logs (ALL
    traffic) to a KMS-encrypted log group with explicit retention. Interface endpoints sit in
    the first ``endpoint_az_count`` subnets (every subnet by default).

    Attributes: ``vpc_id``, ``private_subnet_ids``, ``availability_zones``,
    ``endpoint_security_group_id``, ``flow_log_group_name``.
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # parent=self makes the invoke use this component's provider (its region); without it
        # the lookup silently runs against the default provider's region.
        zones = aws.get_availability_zones(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOptions(parent=self),
        )
        if len(zones.names) < args.az_count:
            raise pulumi.RunError(
                f"{args.region} has {len(zones.names)} usable availability zones; "
                f"azCount asks for {args.az_count}. Fix: lower mobile-backend:azCount."
            )
        self.availability_zones = list(zones.names[: args.az_count])

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        route_table = aws.ec2.RouteTable(
            f"{name}-private",
            vpc_id=vpc.id,
            tags={"Name": f"{name}-private"},
            opts=child,
        )
        subnets = []
        for zone, cidr in zip(
            self.availability_zones,
            private_subnet_cidrs(args.cidr, args.az_count),
            strict=True,
        ):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-private-{zone}", "tier": "private"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}",
                subnet_id=subnet.id,
                route_table_id=route_table.id,
                opts=child,
            )
            subnets.append(subnet)

        # Adopting the default security group and declaring no rules strips AWS's
        # allow-all-within-group default (CIS AWS 5.4).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name}-default-closed"},
            opts=child,
        )

        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            ingress=[
                {
                    "description": "HTTPS from the VPC",
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [args.cidr],
                }
            ],
            egress=[],
            tags={"Name": f"{name}-endpoints"},
            opts=child,
        )

        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[route_table.id],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )
        endpoint_subnets = subnets[: args.endpoint_az_count or len(subnets)]
        for service in INTERFACE_ENDPOINT_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in endpoint_subnets],
                security_group_ids=[endpoint_sg.id],
                tags={"Name": f"{name}-{service}"},
                opts=child,
            )

        flow_log_group = encrypted_log_group(
            f"{name}-flow-logs",
            storage=LogStorage(args.logs_key_arn, args.log_retention_days),
            opts=child,
        )
        flow_role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(
                    assume_role_policy("vpc-flow-logs.amazonaws.com", account)
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=flow_role.id,
            policy=flow_log_group.arn.apply(lambda arn: json.dumps(flow_logs_delivery_policy(arn))),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_log_group.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
            opts=child,
        )

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in subnets])
        self.endpoint_security_group_id = endpoint_sg.id
        self.flow_log_group_name = flow_log_group.name
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "endpoint_security_group_id": self.endpoint_security_group_id,
                "flow_log_group_name": self.flow_log_group_name,
            }
        )
