"""R-DATA-1…4, R-OBS-3 (security-group alerts), R-SEC-1 (DB secret): the data tier's wiring.

The global cluster and the secret in the global stack; per region and role the cluster, its
parameters, the proxy, the security groups, rotation and migrations; and a simulated
switchover config flip that must not replace or detach anything.
"""

from __future__ import annotations

import json

import pulumi
import pytest

from components import data_rules as rules
from components.database import CLUSTER_IGNORE_CHANGES
from components.policy_documents import wildcard_violations
from stacks import artifacts, contract
from tests.infra.conftest import global_stack_name
from tests.infra.harness import ACCOUNT, Resource, Synthesis, synthesize

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PROXY = "aws:rds/proxy:Proxy"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LAMBDA = "aws:lambda/function:Function"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
INVOCATION = "aws:lambda/invocation:Invocation"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PERMISSION = "aws:lambda/permission:Permission"
REGION = {"prod-eu": "eu-west-1", "prod-us": "us-west-1"}
PRIMARY = {"prod-eu": True, "prod-us": False}


@pytest.fixture(params=sorted(REGION))
def regional(request, regional_synths) -> tuple[str, Synthesis]:
    return request.param, regional_synths[request.param]


def parameters(synth: Synthesis) -> dict[str, dict]:
    group = synth.one(PARAMS)
    return {p["name"]: p for p in group.inputs["parameters"]}


def sg_id(synth: Synthesis, kind: str) -> str:
    return f"{synth.named(f'database-{kind}-sg').name}-id"


def policy_of(synth: Synthesis, role_policy_name: str) -> dict:
    return json.loads(synth.named(role_policy_name).inputs["policy"])


# The two DB secrets: global resource name, Secrets Manager name, contract output, user.
SECRETS = {
    "master": ("database-secret", "mobile-backend/prod/db/master", contract.DB_SECRET_ARNS),
    "app": ("database-app-secret", "mobile-backend/prod/db/app", contract.DB_APP_SECRET_ARNS),
}


def secret_arns(global_synth: Synthesis, region: str) -> dict[str, str]:
    """kind → this region's copy of that secret, as the global stack exported it."""
    return {kind: global_synth.outputs[output][region] for kind, (_, _, output) in SECRETS.items()}


def connect_resources(policy: dict) -> list[str]:
    resources = [
        s["Resource"] for s in policy["Statement"] if "rds-db:connect" in (s.get("Action") or [])
    ]
    return [
        r for resource in resources for r in ([resource] if isinstance(resource, str) else resource)
    ]


# --- global stack -----------------------------------------------------------------------


def test_global_cluster_is_encrypted_protected_and_pinned(global_synth):
    cluster = global_synth.one("aws:rds/globalCluster:GlobalCluster")
    assert cluster.inputs["globalClusterIdentifier"] == "mobile-backend-prod"
    assert cluster.inputs["engine"] == "aurora-postgresql"
    assert cluster.inputs["engineVersion"] == "16.6", "engine version comes from config"
    assert cluster.inputs["storageEncrypted"] is True
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.protect, f"{cluster} must be protected from pulumi destroy"
    # The provider must not follow primaryRegion (a provider change replaces the resource).
    assert global_synth.region_of(cluster) == "us-east-1"
    assert global_synth.outputs[contract.DB_GLOBAL_CLUSTER_ID] == "mobile-backend-prod"
    assert global_synth.outputs[contract.DB_ENGINE_VERSION] == "16.6"


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_secret_lives_in_its_home_region_with_a_key_and_replica_per_region(global_synth, kind):
    resource, name, output = SECRETS[kind]
    assert {r.name for r in global_synth.of_type(SECRET) if r.name.startswith("database")} == {
        r for r, _, _ in SECRETS.values()
    }
    secret = global_synth.named(resource)
    keys = global_synth.outputs[contract.REPLICATED_SECRETS_KEY_ARNS]
    assert global_synth.region_of(secret) == "eu-west-1"
    assert secret.inputs["name"] == name
    assert secret.inputs["kmsKeyId"] == keys["eu-west-1"], f"{secret} must use the secrets CMK"
    assert secret.inputs["replicas"] == [{"region": "us-west-1", "kmsKeyId": keys["us-west-1"]}]
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.protect
    arns = global_synth.outputs[output]
    assert set(arns) == {"eu-west-1", "us-west-1"}
    for region, arn in arns.items():
        assert arn.split(":")[3] == region, f"secret ARN for {region} is {arn}"
    assert arns["us-west-1"] == rules.replica_arn(arns["eu-west-1"], "us-west-1")
    assert global_synth.of_type("aws:secretsmanager/secretPolicy:SecretPolicy") == []


def test_a_third_region_gets_a_replica_and_a_key_without_code_changes():
    regions = {
        "eu-west-1": {"cidr": "10.10.0.0/16"},
        "us-west-1": {"cidr": "10.20.0.0/16"},
        "eu-central-1": {"cidr": "10.30.0.0/16"},
    }
    synth = synthesize("prod-global", overrides={"mobile-backend:regions": regions})
    keys = synth.outputs[contract.REPLICATED_SECRETS_KEY_ARNS]
    for resource, _, output in SECRETS.values():
        replicas = synth.named(resource).inputs["replicas"]
        assert replicas == [
            {"region": region, "kmsKeyId": keys[region]} for region in ("us-west-1", "eu-central-1")
        ], resource
        assert set(synth.outputs[output]) == set(regions)


# --- regional cluster -------------------------------------------------------------------


def test_cluster_joins_the_global_cluster_encrypted_private_with_iam_auth(regional, global_synth):
    stack, synth = regional
    cluster = synth.one(CLUSTER)
    i = cluster.inputs
    assert i["clusterIdentifier"] == f"mobile-backend-prod-{REGION[stack]}"
    assert i["globalClusterIdentifier"] == global_synth.outputs[contract.DB_GLOBAL_CLUSTER_ID]
    assert i["engineVersion"] == global_synth.outputs[contract.DB_ENGINE_VERSION]
    assert (i["engine"], i["engineMode"]) == ("aurora-postgresql", "provisioned")
    assert i["storageEncrypted"] is True
    assert i["kmsKeyId"] == f"arn:aws:kms:{REGION[stack]}:{ACCOUNT}:keys-data", stack
    assert i["iamDatabaseAuthenticationEnabled"] is True
    assert i["backupRetentionPeriod"] >= 7
    assert i["copyTagsToSnapshot"] is True
    assert i["deletionProtection"] is True and i["skipFinalSnapshot"] is False
    assert i["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert "manageMasterUserPassword" not in i, "unsupported for global database members"
    assert i["vpcSecurityGroupIds"] == [sg_id(synth, "db")]
    assert synth.region_of(cluster) == REGION[stack]
    subnets = synth.one("aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == synth.outputs[contract.REGIONAL_PRIVATE_SUBNET_IDS]
    assert i["dbSubnetGroupName"] == subnets.inputs["name"]


def test_serverless_v2_capacity_comes_from_the_stack_config(regional):
    stack, synth = regional
    expected = {"prod-eu": (0.5, 16.0), "prod-us": (0.5, 8.0)}[stack]
    scaling = synth.one(CLUSTER).inputs["serverlessv2ScalingConfiguration"]
    assert (scaling["minCapacity"], scaling["maxCapacity"]) == expected


def test_primary_owns_credentials_and_every_cluster_forwards_writes(eu_synth, us_synth):
    eu = eu_synth.one(CLUSTER).inputs
    us = us_synth.one(CLUSTER).inputs
    # R-DR-4: AWS applies forwarding when a cluster is (or becomes) a secondary, so the writer
    # declares it too and a switchover leaves the demoted region writing with no redeploy.
    assert eu["enableGlobalWriteForwarding"] is True
    assert us["enableGlobalWriteForwarding"] is True
    assert eu["masterUsername"] == rules.MASTER_USERNAME
    assert eu["masterUsername"] not in ("postgres", "admin", "root")
    assert "masterPassword" in eu, "the primary is created with the seeded password"
    assert eu["databaseName"] == rules.DB_NAME
    for key in ("masterUsername", "masterPassword", "databaseName"):
        assert key not in us, f"secondary cluster must inherit {key} from the global cluster"


def test_role_dependent_cluster_properties_are_ignored_after_creation(regional):
    _, synth = regional
    cluster = synth.one(CLUSTER)
    for prop in (
        "masterUsername",
        "masterPassword",
        "globalClusterIdentifier",
        "replicationSourceIdentifier",
        "engineVersion",
    ):
        assert prop in cluster.ignore_changes, f"{cluster} must ignore {prop}"
    assert cluster.ignore_changes == CLUSTER_IGNORE_CHANGES
    # Write forwarding stays managed: the config flip after a switchover moves it.
    assert "enableGlobalWriteForwarding" not in cluster.ignore_changes
    assert cluster.protect


def test_at_least_two_private_serverless_instances_across_azs(regional):
    stack, synth = regional
    instances = synth.of_type(INSTANCE)
    assert len(instances) >= 2, stack
    zones = {r.inputs["availabilityZone"] for r in instances}
    assert len(zones) == len(instances), f"{stack}: instances share an AZ: {zones}"
    for instance in instances:
        assert instance.inputs["instanceClass"] == "db.serverless"
        assert instance.inputs["publiclyAccessible"] is False
        assert instance.inputs["autoMinorVersionUpgrade"] is False
        assert instance.inputs["clusterIdentifier"] == "database-cluster-id"
        assert zones <= {f"{REGION[stack]}{c}" for c in "abc"}


def test_postgresql_log_group_is_encrypted_retained_and_precedes_the_cluster(regional):
    stack, synth = regional
    group = synth.named("database-postgresql-logs")
    cluster = synth.one(CLUSTER)
    assert (
        group.inputs["name"] == f"/aws/rds/cluster/{cluster.inputs['clusterIdentifier']}/postgresql"
    )
    assert group.inputs["kmsKeyId"] == f"arn:aws:kms:{REGION[stack]}:{ACCOUNT}:keys-logs"
    assert group.inputs["retentionInDays"] == 365
    assert group.urn in cluster.dependencies, "RDS would create an unencrypted group first"


def test_parameter_group_forces_tls_and_sets_forwarding_and_timeouts(regional):
    _stack, synth = regional
    group = synth.one(PARAMS)
    assert group.inputs["family"] == "aurora-postgresql16"
    params = parameters(synth)
    assert params["rds.force_ssl"]["value"] == "1"
    assert params["ssl_min_protocol_version"]["value"] == "TLSv1.2"
    assert params["apg_write_forward.consistency_mode"]["value"] == "EVENTUAL"
    assert params["statement_timeout"]["value"] == str(rules.STATEMENT_TIMEOUT_MS)
    quota = params["apg_write_forward.max_forwarding_connections_percent"]
    assert quota["value"] == str(rules.FORWARDING_CONNECTIONS_PERCENT)
    assert quota["applyMethod"] == "pending-reboot", "a static parameter"
    assert synth.one(CLUSTER).inputs["dbClusterParameterGroupName"] == group.name


def test_rpo_guard_in_every_region_so_a_promoted_writer_guards_at_once(eu_synth, us_synth):
    # Only the writer enforces it; a switchover must not leave the new writer unguarded until
    # the config change is deployed.
    assert parameters(eu_synth)["rds.global_db_rpo"]["value"] == "30"
    assert parameters(us_synth)["rds.global_db_rpo"]["value"] == "30"
    assert parameters(eu_synth) == parameters(us_synth), "the groups must not depend on the role"


def test_cluster_parameters_rule_table():
    unguarded = rules.cluster_parameters(write_forward_consistency="GLOBAL", rpo_seconds=None)
    names = [p["name"] for p in unguarded]
    assert "rds.global_db_rpo" not in names, "no guard unless configured"
    assert {"name": "apg_write_forward.consistency_mode", "value": "GLOBAL"}.items() <= next(
        p for p in unguarded if p["name"] == "apg_write_forward.consistency_mode"
    ).items()
    # Aurora MySQL's name would be rejected by an aurora-postgresql parameter group.
    assert "aurora_fwd_writer_max_connections_pct" not in names
    guarded = rules.cluster_parameters(write_forward_consistency="EVENTUAL", rpo_seconds=25)
    assert {"name": "rds.global_db_rpo", "value": "25", "apply_method": "immediate"} in guarded


# --- RDS Proxy --------------------------------------------------------------------------


def test_proxy_requires_tls_and_iam_and_reads_this_regions_secret(regional, global_synth):
    stack, synth = regional
    proxy = synth.one(PROXY)
    i = proxy.inputs
    assert i["engineFamily"] == "POSTGRESQL"
    assert i["requireTls"] is True
    arns = secret_arns(global_synth, REGION[stack])
    # One entry per login, each this region's copy of its secret, IAM required for both.
    assert [auth["secretArn"] for auth in i["auths"]] == [arns["master"], arns["app"]]
    for auth in i["auths"]:
        assert auth["iamAuth"] == "REQUIRED", f"{proxy}: {auth['description']}"
        assert auth["authScheme"] == "SECRETS"
    assert i["vpcSubnetIds"] == synth.outputs[contract.REGIONAL_PRIVATE_SUBNET_IDS]
    assert i["vpcSecurityGroupIds"] == [sg_id(synth, "proxy")]
    role = synth.named("database-proxy-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "rds.amazonaws.com"}
    assert i["roleArn"] == f"arn:aws:iam:{REGION[stack]}:{ACCOUNT}:{role.name}"
    policy = policy_of(synth, "database-proxy-policy")
    read, decrypt = policy["Statement"]
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    assert read["Resource"] == [arns["master"], arns["app"]], "exactly the two secrets"
    keys = global_synth.outputs[contract.REPLICATED_SECRETS_KEY_ARNS]
    assert decrypt["Resource"] == keys[REGION[stack]]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION[stack]}.amazonaws.com"}
    }


def test_app_functions_log_in_as_the_app_user_only(regional, global_synth):
    """api and subscriber: DB_USER is the least-privilege login, and their IAM policy may open
    proxy sessions as that user only: the master user is not connectable by them."""
    stack, synth = regional
    proxy_arn = f"arn:aws:rds:{REGION[stack]}:{ACCOUNT}:database-proxy"
    app_user = rules.proxy_connect_arn(proxy_arn, rules.APP_USERNAME)
    master = rules.proxy_connect_arn(proxy_arn, rules.MASTER_USERNAME)
    assert app_user.endswith("/app_user")
    for fn in ("api", "subscriber"):
        env = synth.named(f"logic-{fn}-function").inputs["environment"]["variables"]
        assert (env["DB_USER"], env["DB_AUTH"]) == (rules.APP_USERNAME, "iam"), f"{stack} {fn}"
        assert env["DB_SECRET_ARN"] == secret_arns(global_synth, REGION[stack])["app"]
        assert env["DB_HOST"] == synth.outputs[contract.REGIONAL_DB_PROXY_ENDPOINT]
        policy = policy_of(synth, f"logic-{fn}-policy")
        assert connect_resources(policy) == [app_user], f"{stack} {fn}"
        assert master not in json.dumps(policy), f"{stack} {fn} may connect as the master user"
        reads = [s for s in policy["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
        assert reads == [], f"{stack} {fn}: IAM auth needs no DB secret"
    # Nothing else in the stack may open proxy sessions as the master user either.
    for policy in synth.of_type("aws:iam/rolePolicy:RolePolicy"):
        assert rules.MASTER_USERNAME not in json.dumps(
            connect_resources(json.loads(policy.inputs["policy"]))
        )
    assert (
        synth.outputs[contract.REGIONAL_DB_APP_SECRET_ARN]
        == (secret_arns(global_synth, REGION[stack])["app"])
    )
    assert (
        synth.outputs[contract.REGIONAL_DB_SECRET_ARN]
        == (secret_arns(global_synth, REGION[stack])["master"])
    ), "operators keep the master secret's ARN"


def test_proxy_has_a_read_only_endpoint_for_the_secondary_role(regional):
    stack, synth = regional
    reader = synth.one("aws:rds/proxyEndpoint:ProxyEndpoint")
    assert reader.inputs["targetRole"] == "READ_ONLY"
    assert reader.inputs["dbProxyName"] == "mobile-backend-prod-db"
    assert reader.inputs["vpcSecurityGroupIds"] == [sg_id(synth, "proxy")]
    assert synth.outputs[contract.REGIONAL_DB_PROXY_READER_ENDPOINT].startswith(
        "database-proxy-reader."
    )
    target = synth.one("aws:rds/proxyTarget:ProxyTarget")
    assert target.inputs["dbClusterIdentifier"] == f"mobile-backend-prod-{REGION[stack]}"


def test_proxy_connection_budget_leaves_room_for_write_forwarding(regional):
    _stack, synth = regional
    pool = synth.one("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup").inputs[
        "connectionPoolConfig"
    ]
    forwarding = int(
        parameters(synth)["apg_write_forward.max_forwarding_connections_percent"]["value"]
    )
    # 100 % of max_connections - 20 % forwarded sessions - 10 % admin reserve = 70 %.
    assert pool["maxConnectionsPercent"] == 100 - forwarding - rules.ADMIN_RESERVE_PERCENT == 70
    assert pool["maxIdleConnectionsPercent"] <= pool["maxConnectionsPercent"]


def test_proxy_budget_arithmetic():
    assert rules.proxy_max_connections_percent(25, 10) == 65
    assert rules.proxy_max_connections_percent(0, 0) == 100
    with pytest.raises(ValueError, match="leave the proxy no connections"):
        rules.proxy_max_connections_percent(90, 10)


# --- security groups and their alarm ----------------------------------------------------


def test_database_admits_only_the_proxy_and_the_admin_functions_on_5432(regional):
    stack, synth = regional
    db = sg_id(synth, "db")
    into_db = [r for r in synth.of_type(INGRESS) if r.inputs["securityGroupId"] == db]
    sources = {r.inputs["referencedSecurityGroupId"] for r in into_db}
    assert sources == {sg_id(synth, "proxy"), sg_id(synth, "admin")}, stack
    for rule in into_db:
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (5432, 5432)
        assert "cidrIpv4" not in rule.inputs, f"{rule} opens the database to a CIDR"
    into_proxy = [
        r for r in synth.of_type(INGRESS) if r.inputs["securityGroupId"] == sg_id(synth, "proxy")
    ]
    assert {r.inputs["referencedSecurityGroupId"] for r in into_proxy} == {sg_id(synth, "clients")}
    for group in synth.of_type(SG):
        if group.name.startswith("database"):
            assert not group.inputs.get("ingress") and not group.inputs.get("egress"), group


def test_security_group_changes_alert_the_alarm_topic(regional):
    _stack, synth = regional
    rule = synth.one(
        "aws:cloudwatch/eventRule:EventRule", lambda r: r.name == "sg-watch-security-groups"
    )
    pattern = json.loads(rule.inputs["eventPattern"])
    ids = [sg_id(synth, "db"), sg_id(synth, "proxy")]
    assert pattern["detail"]["$or"] == [
        {"requestParameters": {"groupId": ids}},
        {"requestParameters": {"ModifySecurityGroupRulesRequest": {"GroupId": ids}}},
    ]
    assert "AuthorizeSecurityGroupIngress" in pattern["detail"]["eventName"]
    network = synth.one(
        "aws:cloudwatch/eventRule:EventRule", lambda r: r.name == "sg-watch-database-network"
    )
    alternatives = json.loads(network.inputs["eventPattern"])["detail"]["$or"]
    assert alternatives[0] == {
        "requestParameters": {
            "dBClusterIdentifier": [synth.outputs[contract.REGIONAL_DB_CLUSTER_ID]]
        }
    }
    targets = synth.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert {t.inputs["arn"] for t in targets} == {synth.outputs[contract.REGIONAL_ALARM_TOPIC_ARN]}
    assert len(targets) == 2


# --- secret seed and rotation -----------------------------------------------------------


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value


def test_only_the_home_region_seeds_the_secrets_and_never_overwrites_them(
    eu_synth, us_synth, global_synth
):
    assert us_synth.of_type(SECRET_VERSION) == []
    arns = secret_arns(global_synth, "eu-west-1")
    seeds = {r.inputs["secretId"]: r for r in eu_synth.of_type(SECRET_VERSION)}
    assert set(seeds) == set(arns.values()), "one seed per secret, on the home copy"
    for seed in seeds.values():
        assert "secretString" in seed.ignore_changes and seed.retain_on_delete, seed
    seed = seeds[arns["master"]]
    # The value is a Pulumi secret, in AWS's RDS format, matching the cluster it unlocks.
    wrapped = seed.inputs["secretString"]
    assert SECRET_SIG in wrapped, "the seeded credentials must be a Pulumi secret"
    value = json.loads(wrapped["value"])
    cluster = eu_synth.one(CLUSTER).inputs
    assert value == {
        "engine": "postgres",
        "host": "database-cluster.cluster-abc.eu-west-1.rds.amazonaws.com",
        "port": 5432,
        "username": cluster["masterUsername"],
        "password": cluster["masterPassword"]["value"],
        "dbname": cluster["databaseName"],
        "dbClusterIdentifier": cluster["clusterIdentifier"],
    }
    assert SECRET_SIG in cluster["masterPassword"]
    # The application login's seed: same format and host, its own user and password.
    app = seeds[arns["app"]].inputs["secretString"]
    assert SECRET_SIG in app, "the app login's credentials must be a Pulumi secret"
    app_value = json.loads(app["value"])
    assert app_value == {**value, "username": "app_user", "password": app_value["password"]}
    assert app_value["password"] == "mock-password-of-database-app-password"
    assert app_value["password"] != value["password"], "each login has its own password"


def test_rotation_runs_in_the_writer_region_only_within_30_days(eu_synth, us_synth, global_synth):
    assert us_synth.of_type(ROTATION) == []
    assert [
        p
        for p in us_synth.of_type(PERMISSION)
        if p.inputs["principal"] == "secretsmanager.amazonaws.com"
    ] == []
    arns = secret_arns(global_synth, "eu-west-1")
    rotations = {r.inputs["secretId"]: r for r in eu_synth.of_type(ROTATION)}
    assert set(rotations) == set(arns.values()), "both secrets rotate at their home copy"
    permissions = {
        p.inputs["sourceArn"]: p
        for p in eu_synth.of_type(PERMISSION)
        if p.inputs["principal"] == "secretsmanager.amazonaws.com"
    }
    assert set(permissions) == set(arns.values())
    function = eu_synth.named("database-rotation-function")
    assert function.inputs["handler"] == "handlers.db_rotation.main.handler"
    assert function.inputs["vpcConfig"]["securityGroupIds"] == [sg_id(eu_synth, "admin")]
    seeds = {r.urn for r in eu_synth.of_type(SECRET_VERSION)}
    for arn, rotation in rotations.items():
        days = rotation.inputs["rotationRules"]["automaticallyAfterDays"]
        assert 1 <= days <= 30, rotation
        assert rotation.inputs["rotateImmediately"] is False, rotation
        assert rotation.inputs["rotationLambdaArn"] == function.outputs["arn"]
        assert rotation.inputs["rotationLambdaArn"].endswith(
            ":function:mobile-backend-prod-db-rotation"
        )
        permission = permissions[arn]
        assert permission.inputs["sourceAccount"] == ACCOUNT
        assert permission.urn in rotation.dependencies
        assert seeds <= set(rotation.dependencies), f"{rotation} may not race the seeds"
    # The master's resources keep their names (URNs) from before the app login existed.
    assert rotations[arns["master"]].name == "database-rotation-schedule"
    assert permissions[arns["master"]].name == "database-rotation-invoke"


def test_rotation_function_is_least_privilege(eu_synth, global_synth):
    policy = policy_of(eu_synth, "database-rotation-policy")
    assert wildcard_violations(policy) == []
    by_sid = {s.get("Sid"): s for s in policy["Statement"]}
    secret = by_sid["RotateTheDbSecretsOnly"]
    arns = secret_arns(global_synth, "eu-west-1")
    assert secret["Resource"] == [arns["master"], arns["app"]]
    assert sorted(secret["Action"]) == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    ]
    assert by_sid["GeneratePasswords"]["Action"] == ["secretsmanager:GetRandomPassword"]
    kms = by_sid["UseSecretsKeyOnlyThroughSecretsManager"]
    assert (
        kms["Resource"] == global_synth.outputs[contract.REPLICATED_SECRETS_KEY_ARNS]["eu-west-1"]
    )
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == (
        "secretsmanager.eu-west-1.amazonaws.com"
    )
    star = [s for s in policy["Statement"] if s["Resource"] == "*"]
    assert {a for s in star for a in s["Action"]} <= {
        "secretsmanager:GetRandomPassword",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }


# --- migrations -------------------------------------------------------------------------


def test_migrations_run_on_deploy_in_the_writer_region_only(eu_synth, us_synth):
    assert us_synth.of_type(INVOCATION) == []
    assert [f for f in us_synth.of_type(LAMBDA) if f.name.startswith("database")] == []
    invocation = eu_synth.one(INVOCATION)
    checksum = artifacts.migrations_checksum()
    assert json.loads(invocation.inputs["input"])["checksum"] == checksum
    assert invocation.inputs["triggers"] == {"migrationsChecksum": checksum}
    assert invocation.inputs["qualifier"] == "live"
    assert invocation.inputs["functionName"] == "mobile-backend-prod-migrations"
    instances = {r.urn for r in eu_synth.of_type(INSTANCE)}
    assert instances <= set(invocation.dependencies), "the writer must exist before migrating"
    seeds = {r.urn for r in eu_synth.of_type(SECRET_VERSION)}
    assert len(seeds) == 2 and seeds <= set(invocation.dependencies), "secrets need values"


def test_migrations_create_the_app_login_from_its_secret(regional_synths, global_synth, flipped):
    """The migration input names the app user with this region's copy of its secret, in the
    writer region whichever it is (after a switchover: the replica there)."""
    for synth, region in (
        (regional_synths["prod-eu"], "eu-west-1"),
        (flipped["prod-us"], "us-west-1"),
    ):
        event = json.loads(synth.one(INVOCATION).inputs["input"])
        app_arn = secret_arns(global_synth, region)["app"]
        assert event["app_users"] == [{"name": rules.APP_USERNAME, "secret_arn": app_arn}]
        assert event["app_users"][0]["name"] != rules.MASTER_USERNAME


def test_migration_function_reaches_the_writer_with_the_secret(eu_synth, global_synth):
    function = eu_synth.named("database-migrations-function")
    assert function.inputs["handler"] == "handlers.migrations.main.handler"
    env = function.inputs["environment"]["variables"]
    # The mock's cluster endpoint: the writer itself, not the proxy.
    assert env["DB_HOST"] == "database-cluster.cluster-abc.eu-west-1.rds.amazonaws.com"
    assert env["DB_AUTH"] == "secret" and env["APP_ROLE_HINT"] == "primary"
    assert env["DB_SECRET_ARN"] == global_synth.outputs[contract.DB_SECRET_ARNS]["eu-west-1"]
    assert (env["DB_NAME"], env["DB_USER"], env["DB_PORT"]) == ("mobile", "mobile_admin", "5432")
    assert env["DB_SSLMODE"] in ("require", "verify-full")
    assert "AWS_REGION" not in env, "reserved by Lambda"
    assert function.inputs["vpcConfig"]["securityGroupIds"] == [sg_id(eu_synth, "admin")]
    assert function.inputs["reservedConcurrentExecutions"] == 1
    policy = policy_of(eu_synth, "database-migrations-policy")
    assert wildcard_violations(policy) == []
    reads = {
        s["Resource"]
        for s in policy["Statement"]
        if s["Action"] == ["secretsmanager:GetSecretValue"]
    }
    # The master secret to connect, the app login's to set that role's password.
    assert reads == set(secret_arns(global_synth, "eu-west-1").values())
    assert env["DB_SECRET_ARN"] == secret_arns(global_synth, "eu-west-1")["master"]


# --- switchover: the config flip must not replace or detach anything --------------------


@pytest.fixture(scope="module")
def flipped(global_synth) -> dict[str, Synthesis]:
    """primaryRegion moved to us-west-1 (after a switchover), secret home unchanged."""
    flip = {"mobile-backend:primaryRegion": "us-west-1"}
    glob = synthesize("prod-global", overrides=flip)
    return {
        "prod-global": glob,
        **{
            stack: synthesize(
                stack, overrides=flip, stack_outputs={global_stack_name(stack): glob.outputs}
            )
            for stack in REGION
        },
    }


def _identity(resource: Resource, synth: Synthesis) -> tuple:
    return resource.urn, synth.region_of(resource)


def test_flip_keeps_global_cluster_and_secret_where_they_are(global_synth, flipped):
    after = flipped["prod-global"]

    def database(resource: Resource) -> bool:
        return resource.name.startswith("database")

    for typ in ("aws:rds/globalCluster:GlobalCluster", SECRET):
        before = sorted(global_synth.of_type(typ), key=lambda r: r.urn)
        moved = sorted(after.of_type(typ), key=lambda r: r.urn)
        before, moved = [r for r in before if database(r)], [r for r in moved if database(r)]
        assert before and len(before) == len(moved), typ
        for before_r, after_r in zip(before, moved, strict=True):
            assert _identity(before_r, global_synth) == _identity(after_r, after), typ
            assert before_r.inputs == after_r.inputs, f"{before_r} inputs change on a role flip"


def test_flip_keeps_the_multi_region_secrets_key_homed_where_it_was(global_synth, flipped):
    def keys(synth: Synthesis) -> dict:
        found = [
            r
            for r in synth.of_type("aws:kms/key:Key")
            + synth.of_type("aws:kms/replicaKey:ReplicaKey")
            if r.name.startswith("replicated-secrets")
        ]
        return {r.urn: synth.region_of(r) for r in found}

    assert keys(global_synth) == keys(flipped["prod-global"])


def test_flip_keeps_clusters_and_moves_only_role_properties(regional_synths, flipped):
    for stack, before in regional_synths.items():
        after = flipped[stack]
        b, a = before.one(CLUSTER), after.one(CLUSTER)
        assert _identity(b, before) == _identity(a, after), stack
        ignored = set(CLUSTER_IGNORE_CHANGES)
        changed = {k for k in set(b.inputs) | set(a.inputs) if b.inputs.get(k) != a.inputs.get(k)}
        # Only ignored properties may differ: forwarding and the parameter group do not
        # depend on the role (R-DR-4), so the config flip changes neither.
        assert changed <= ignored, f"{stack}: {changed}"
        assert a.inputs["enableGlobalWriteForwarding"] is True, stack
        assert parameters(after) == parameters(before), stack


def test_flip_moves_migrations_and_pauses_rotation_away_from_the_secret_home(flipped):
    assert flipped["prod-us"].one(INVOCATION)
    assert flipped["prod-eu"].of_type(INVOCATION) == []
    # The US writer cannot rotate a secret whose primary copy is in the EU (replicas are
    # read-only), and the EU can no longer ALTER ROLE: rotation pauses, nothing is replaced.
    assert flipped["prod-us"].of_type(ROTATION) == []
    assert flipped["prod-eu"].of_type(ROTATION) == []
    # The EU keeps its seed resources (retained, ignored) so nothing is deleted from AWS.
    assert len(flipped["prod-eu"].of_type(SECRET_VERSION)) == 2


# --- development account (R-SEC-1) ------------------------------------------------------

DEV_ROLE = "arn:aws:iam::210987654321:role/mobile-backend-dev-readers"


def test_dev_account_role_may_read_the_secret_when_configured():
    synth = synthesize("prod-global", overrides={"mobile-backend:devAccountRoleArn": DEV_ROLE})
    policy = json.loads(synth.one("aws:secretsmanager/secretPolicy:SecretPolicy").inputs["policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": DEV_ROLE}
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    keys = [
        k for k in synth.of_type("aws:kms/key:Key") if k.name.startswith("replicated-secrets")
    ] + synth.of_type("aws:kms/replicaKey:ReplicaKey")
    assert len(keys) == 2
    for key in keys:
        region = synth.region_of(key)
        grants = [
            s
            for s in json.loads(key.inputs["policy"])["Statement"]
            if s.get("Principal") == {"AWS": DEV_ROLE}
        ]
        assert len(grants) == 1, f"{key} does not admit the development role"
        condition = grants[0]["Condition"]
        assert condition["StringEquals"]["kms:ViaService"] == (
            f"secretsmanager.{region}.amazonaws.com"
        )
        assert condition["StringLike"]["kms:EncryptionContext:SecretARN"] == (
            f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:mobile-backend/prod/db/master-??????"
        )
        assert grants[0]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]


def test_without_dev_account_no_foreign_principal_touches_the_secrets_key(global_synth):
    for key in global_synth.of_type("aws:kms/replicaKey:ReplicaKey"):
        principals = [s.get("Principal") for s in json.loads(key.inputs["policy"])["Statement"]]
        assert all(ACCOUNT in json.dumps(p) or "Service" in p for p in principals), key


def test_a_region_the_global_stack_does_not_know_names_the_deploy_order(global_synth):
    stale = {
        **global_synth.outputs,
        contract.DB_SECRET_ARNS: {
            "eu-west-1": global_synth.outputs[contract.DB_SECRET_ARNS]["eu-west-1"]
        },
    }
    with pytest.raises(Exception, match="no entry for us-west-1"):
        synthesize("prod-us", stack_outputs={global_stack_name("prod-us"): stale})


def test_component_alone_as_a_secondary_without_the_alarm_rule():
    """Database on its own: no rule when the stack uses the observability tier's watch,
    nothing writer- or home-only on a secondary away from the secret's home."""

    def program(settings):
        from components.database import Database, DatabaseArgs, DatabaseCode
        from stacks.providers import aws_provider

        empty = pulumi.AssetArchive({"handlers/__init__.py": pulumi.StringAsset("")})
        database = Database(
            "db",
            DatabaseArgs(
                environment="dev",
                region="us-west-1",
                account_id=ACCOUNT,
                is_primary=False,
                is_secret_home=False,
                global_cluster_id="mobile-backend-dev",
                engine_version="15.10",
                secret_arn="arn:aws:secretsmanager:us-west-1:123456789012:secret:s-AbCdEf",
                app_secret_arn="arn:aws:secretsmanager:us-west-1:123456789012:secret:a-AbCdEf",
                secrets_key_arn="arn:aws:kms:us-west-1:123456789012:key/mrk-1",
                data_key_arn="arn:aws:kms:us-west-1:123456789012:key/data",
                logs_key_arn="arn:aws:kms:us-west-1:123456789012:key/logs",
                vpc_id="vpc-1",
                private_subnet_ids=["subnet-b", "subnet-c"],
                availability_zones=["us-west-1b", "us-west-1c"],
                endpoint_security_group_id="sg-endpoints",
                min_capacity=0.5,
                max_capacity=2,
                instance_count=3,
                log_retention_days=30,
                rotation_days=7,
                write_forward_consistency="GLOBAL",
                code=DatabaseCode(empty, empty, empty, "abc"),
            ),
            opts=pulumi.ResourceOptions(provider=aws_provider(settings, "us-west-1")),
        )
        return {"sgs": database.watched_security_group_ids, "proxy": database.proxy_name}

    synth = synthesize("prod-us", program_fn=program)
    assert synth.of_type("aws:cloudwatch/eventRule:EventRule") == []
    for typ in (
        "random:index/randomPassword:RandomPassword",
        "aws:secretsmanager/secretVersion:SecretVersion",
        LAMBDA,
        INVOCATION,
        ROTATION,
    ):
        assert synth.of_type(typ) == [], f"a secondary away from home must not create {typ}"
    assert synth.outputs["sgs"] == ["db-db-sg-id", "db-proxy-sg-id"]
    assert synth.outputs["proxy"] == "mobile-backend-dev-db"
    assert synth.one(PARAMS).inputs["family"] == "aurora-postgresql15"
    assert len(synth.of_type(INSTANCE)) == 3
    assert parameters(synth)["apg_write_forward.consistency_mode"]["value"] == "GLOBAL"
    assert synth.one(CLUSTER).inputs["enableGlobalWriteForwarding"] is True


# --- pure rules -------------------------------------------------------------------------


def test_names_and_families():
    assert rules.parameter_family("15.10") == "aurora-postgresql15"
    assert rules.cluster_identifier("dev", "eu-west-1") == "mobile-backend-dev-eu-west-1"
    arn = (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mobile-backend/prod/db/master-Ab12Cd"
    )
    assert rules.replica_arn(arn, "us-west-1") == arn.replace("eu-west-1", "us-west-1")


def test_application_wiring_uses_the_proxy_with_iam():
    arn = "arn:aws:rds:eu-west-1:123456789012:db-proxy:prx-0123456789abcdef0"
    assert rules.proxy_connect_arn(arn, "mobile_admin") == (
        "arn:aws:rds-db:eu-west-1:123456789012:dbuser:prx-0123456789abcdef0/mobile_admin"
    )
    env = {
        variable.name: value
        for variable, value in rules.app_environment(
            role_hint="secondary", proxy_endpoint="rw", reader_endpoint="ro", secret_arn="arn:s"
        ).items()
    }
    assert (env["DB_USER"], env["DB_SECRET_ARN"]) == (rules.APP_USERNAME, "arn:s")
    assert rules.APP_USERNAME != rules.MASTER_USERNAME
    assert (env["DB_HOST"], env["DB_READER_HOST"], env["APP_ROLE_HINT"]) == (
        "rw",
        "ro",
        "secondary",
    )
    assert (env["DB_AUTH"], env["DB_SSLMODE"], env["DB_PORT"]) == ("iam", "require", "5432")


def test_every_data_tier_policy_is_free_of_wildcards(regional_synths):
    for stack, synth in regional_synths.items():
        for policy in synth.of_type("aws:iam/rolePolicy:RolePolicy"):
            if policy.name.startswith("database"):
                assert wildcard_violations(json.loads(policy.inputs["policy"])) == [], (
                    f"{stack}: {policy}"
                )
