"""R-SEC-2: the regional VPC is private-only, reaches AWS through endpoints, logs its flows."""

from __future__ import annotations

import ipaddress
import json

import pytest

from components.cidr import private_subnet_cidrs
from components.network import INTERFACE_ENDPOINT_SERVICES
from tests.infra.harness import ACCOUNT


def _network(resource) -> bool:
    # Other tiers add security groups and role policies to the same stack.
    return resource.name.startswith("network")


EXPECTED = {
    "prod-eu": ("eu-west-1", "10.10.0.0/16", 3),
    "prod-us": ("us-west-1", "10.20.0.0/16", 2),
}


@pytest.fixture(params=sorted(EXPECTED))
def regional(request, regional_synths):
    return regional_synths[request.param], *EXPECTED[request.param]


def test_vpc_uses_region_cidr_with_dns_for_private_endpoints(regional):
    synth, _, cidr, _ = regional
    vpc = synth.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == cidr
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_private_subnets_one_per_az_inside_the_vpc(regional):
    synth, region, cidr, az_count = regional
    subnets = synth.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == az_count >= 2
    zones = {s.inputs["availabilityZone"] for s in subnets}
    assert len(zones) == az_count and all(z.startswith(region) for z in zones)
    network = ipaddress.IPv4Network(cidr)
    blocks = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in subnets]
    assert all(b.subnet_of(network) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
    assert all(s.inputs.get("mapPublicIpOnLaunch") is False for s in subnets)


def test_no_route_to_the_internet(regional):
    synth, *_ = regional
    for forbidden in (
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/route:Route",
    ):
        assert synth.of_type(forbidden) == [], forbidden
    route_table = synth.one("aws:ec2/routeTable:RouteTable")
    assert not route_table.inputs.get("routes")


def test_every_subnet_is_associated_with_the_private_route_table(regional):
    synth, _, _, az_count = regional
    associations = synth.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert len(associations) == az_count
    route_table_id = f"{synth.one('aws:ec2/routeTable:RouteTable').name}-id"
    assert {a.inputs["routeTableId"] for a in associations} == {route_table_id}


def test_s3_gateway_and_interface_endpoints_for_every_api_in_vpc_functions_call(regional):
    synth, region, _, az_count = regional
    endpoints = {
        e.inputs["serviceName"]: e for e in synth.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    s3 = endpoints.pop(f"com.amazonaws.{region}.s3")
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    assert s3.inputs["routeTableIds"] == [f"{synth.one('aws:ec2/routeTable:RouteTable').name}-id"]
    expected = {f"com.amazonaws.{region}.{svc}" for svc in INTERFACE_ENDPOINT_SERVICES}
    assert set(endpoints) == expected
    # lambda: the api invokes the push relay (another region's device endpoints).
    assert {"secretsmanager", "kms", "sns", "sqs", "logs", "xray", "sts", "rds", "lambda"} == set(
        INTERFACE_ENDPOINT_SERVICES
    )
    sg_id = f"{synth.one('aws:ec2/securityGroup:SecurityGroup', _network).name}-id"
    for name, endpoint in endpoints.items():
        assert endpoint.inputs["vpcEndpointType"] == "Interface", name
        assert endpoint.inputs["privateDnsEnabled"] is True, name
        assert len(endpoint.inputs["subnetIds"]) == az_count, name
        assert endpoint.inputs["securityGroupIds"] == [sg_id], name


def test_endpoint_security_group_admits_only_https_from_the_vpc(regional):
    synth, _, cidr, _ = regional
    sg = synth.one("aws:ec2/securityGroup:SecurityGroup", _network)
    assert sg.inputs["ingress"] == [
        {
            "description": "HTTPS from the VPC",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": [cidr],
        }
    ]
    assert sg.inputs.get("egress") == []


def test_default_security_group_has_no_rules(regional):
    synth, *_ = regional
    default = synth.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs.get("ingress") == []
    assert default.inputs.get("egress") == []
    assert default.inputs["vpcId"] == f"{synth.one('aws:ec2/vpc:Vpc').name}-id"


def test_flow_logs_capture_all_traffic_to_an_encrypted_retained_log_group(regional):
    synth, *_ = regional
    flow = synth.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"
    group = synth.one("aws:cloudwatch/logGroup:LogGroup", lambda r: "flow" in r.name)
    assert flow.inputs["logDestination"].endswith(f":{group.name}")
    assert group.inputs["retentionInDays"] == 365
    logs_key = synth.named("keys-logs")
    assert group.inputs["kmsKeyId"].endswith(f":{logs_key.name}")


def test_flow_logs_role_is_scoped_to_its_service_account_and_log_group(regional):
    synth, *_ = regional
    role = synth.one("aws:iam/role:Role", lambda r: "flow" in r.name)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = json.loads(synth.one("aws:iam/rolePolicy:RolePolicy", _network).inputs["policy"])
    write = policy["Statement"][0]
    group = synth.one("aws:cloudwatch/logGroup:LogGroup", lambda r: "flow" in r.name)
    assert all(group.name in arn for arn in write["Resource"])
    assert "logs:PutLogEvents" in write["Action"]


def test_azs_come_from_an_invoke_in_the_stack_region(us_synth):
    zones = sorted(s.inputs["availabilityZone"] for s in us_synth.of_type("aws:ec2/subnet:Subnet"))
    assert zones == ["us-west-1b", "us-west-1c"]


def test_subnet_cidr_arithmetic():
    assert private_subnet_cidrs("10.10.0.0/16", 3) == [
        "10.10.0.0/20",
        "10.10.16.0/20",
        "10.10.32.0/20",
    ]
    assert private_subnet_cidrs("10.0.0.0/24", 2) == ["10.0.0.0/28", "10.0.0.16/28"]
    with pytest.raises(ValueError, match="cannot hold 17"):
        private_subnet_cidrs("10.0.0.0/16", 17)


def endpoint_sg(synth):
    # Other tiers add their own security groups; the network's is the endpoints'.
    return synth.one("aws:ec2/securityGroup:SecurityGroup", lambda r: r.name == "network-endpoints")


def test_dev_interface_endpoints_sit_in_the_configured_azs_only(dev_synths):
    # vpcEndpointAzCount: 1 in the dev stack files (endpoints bill per AZ-hour): every interface
    # endpoint keeps one ENI, in the first private subnet; the subnets themselves stay.
    for stack in ("dev-eu", "dev-us"):
        synth = dev_synths[stack]
        first = f"{synth.of_type('aws:ec2/subnet:Subnet')[0].name}-id"
        assert len(synth.of_type("aws:ec2/subnet:Subnet")) == 2, stack
        for endpoint in synth.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
            if endpoint.inputs["vpcEndpointType"] == "Interface":
                assert endpoint.inputs["subnetIds"] == [first], f"{stack}: {endpoint.name}"
