"""The data tier: the Aurora PostgreSQL global database, its regional clusters, RDS Proxy,
the DB credential secrets (master user; least-privilege application login) with their
rotation, and schema migrations on deploy (R-DATA-1…4).

``GlobalDatabase`` (global stack) owns what spans regions: the global cluster and the secrets
(primary copies in their pinned home region, replicas elsewhere). ``Database`` (each regional
stack) owns the regional cluster, its proxy, security groups and the functions that must run
next to the writer. What depends on the writer role and what must survive a switchover is
explained in ``docs/data.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import data_rules as rules
from components.function import Function, FunctionArgs, VpcPlacement
from components.policy_documents import assume_role_policy, document
from contract import environment as env
from contract import names
from contract.functions import spec as function_spec

# Properties AWS owns once the cluster exists, or that only the writer's stack declares:
# a role change (switchover + the config flip that follows) must never replace the cluster.
CLUSTER_IGNORE_CHANGES = [
    "masterUsername",
    "masterPassword",
    "databaseName",
    "globalClusterIdentifier",
    "replicationSourceIdentifier",
    # A global database upgrades every member through the global cluster, never one by one.
    "engineVersion",
]


@dataclass(frozen=True)
class GlobalDatabaseArgs:
    environment: str
    engine_version: str
    # Region of the secret's primary copy (pinned; see settings.DataSettings).
    home_region: str
    # region → ARN of the multi-region secrets key there (primary or replica).
    secrets_key_arns: Mapping[str, pulumi.Input[str]]
    dev_account_role_arn: str | None = None
    # False only in a disposable environment (settings.deletion_protection).
    deletion_protection: bool = True


class GlobalDatabase(pulumi.ComponentResource):
    """Creates ``aws.rds.GlobalCluster`` (aurora-postgresql, pinned version, encrypted,
    deletion protection) through the component's provider, and two ``aws.secretsmanager.Secret``
    in ``home_region`` (CMK, 30-day recovery window), each with a replica in every other serving
    region encrypted with that region's key: the DB master credentials and the application
    login's (``app_user``); optionally a ``SecretPolicy`` letting the development account's
    role read the master secret.

    ``providers`` maps every serving region to its provider.
    Attributes: ``global_cluster_id``, ``engine_version``, ``secret_arns`` and
    ``app_secret_arns`` (region → ARN).
    """

    def __init__(
        self,
        name: str,
        args: GlobalDatabaseArgs,
        providers: Mapping[str, pulumi.ProviderResource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:data:GlobalDatabase", name, None, opts)
        if args.home_region not in providers:
            raise pulumi.RunError(f"no provider for the secret's home region {args.home_region}")

        # A global cluster has no region of its own (its ARN has none); it is created through
        # the component's provider, which must not follow the writer role, or a switchover's
        # config flip would move it to another provider and replace it.
        cluster = aws.rds.GlobalCluster(
            f"{name}-cluster",
            global_cluster_identifier=rules.global_cluster_identifier(args.environment),
            engine=rules.ENGINE,
            engine_version=args.engine_version,
            database_name=rules.DB_NAME,
            storage_encrypted=True,
            deletion_protection=args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )

        home = args.home_region

        def replicated_secret(kind: str, secret_name: str, description: str):
            # Primary copy pinned to the home region, a replica (with that region's key copy)
            # everywhere else; protected: deleting it blocks the name for 30 days.
            secret = aws.secretsmanager.Secret(
                f"{name}-{kind}",
                name=secret_name,
                description=description,
                kms_key_id=args.secrets_key_arns[home],
                recovery_window_in_days=30,
                replicas=[
                    aws.secretsmanager.SecretReplicaArgs(
                        region=region, kms_key_id=args.secrets_key_arns[region]
                    )
                    for region in providers
                    if region != home
                ],
                opts=pulumi.ResourceOptions(
                    parent=self, provider=providers[home], protect=args.deletion_protection
                ),
            )
            return {
                region: secret.arn
                if region == home
                else secret.arn.apply(lambda arn, region=region: rules.replica_arn(arn, region))
                for region in providers
            }, secret

        self.secret_arns, secret = replicated_secret(
            "secret",
            rules.secret_name(args.environment),
            "Aurora master credentials (rotated by the writer region's function)",
        )
        # The application's least-privilege login (RDS Proxy logs in with it for the api and
        # subscriber functions); same key, replicas and home as the master secret.
        self.app_secret_arns, _ = replicated_secret(
            "app-secret",
            rules.app_secret_name(args.environment),
            f"Aurora login {rules.APP_USERNAME} for the application functions via RDS Proxy",
        )
        if args.dev_account_role_arn:
            aws.secretsmanager.SecretPolicy(
                f"{name}-secret-policy",
                secret_arn=secret.arn,
                policy=json.dumps(rules.dev_account_secret_policy(args.dev_account_role_arn)),
                block_public_policy=True,
                opts=pulumi.ResourceOptions(parent=self, provider=providers[home]),
            )

        self.global_cluster_id = cluster.global_cluster_identifier
        self.engine_version = pulumi.Output.from_input(args.engine_version)
        self.register_outputs(
            {
                "global_cluster_id": self.global_cluster_id,
                "engine_version": self.engine_version,
                "secret_arns": self.secret_arns,
                "app_secret_arns": self.app_secret_arns,
            }
        )


@dataclass(frozen=True)
class DatabaseCode:
    """Build output of the functions deployed next to the writer (``stacks/artifacts.py``)."""

    migrations: pulumi.Input[pulumi.Archive]
    rotation: pulumi.Input[pulumi.Archive]
    # The region's shared dependency layer (components.function.DependencyLayer).
    layer_arn: pulumi.Input[str]
    migrations_checksum: str


@dataclass(frozen=True)
class DatabaseArgs:
    environment: str
    region: str
    account_id: pulumi.Input[str]
    # Writer role from config: primary cluster properties, migrations, rotation.
    is_primary: bool
    # This region holds the secret's primary copy (seeds it; may rotate it when writer too).
    is_secret_home: bool
    global_cluster_id: pulumi.Input[str]
    engine_version: pulumi.Input[str]
    # This region's copies of the DB secrets (master; application login) and their key here.
    secret_arn: pulumi.Input[str]
    app_secret_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]
    data_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    availability_zones: Sequence[str]
    endpoint_security_group_id: pulumi.Input[str]
    min_capacity: float
    max_capacity: float
    instance_count: int
    log_retention_days: int
    rotation_days: int
    write_forward_consistency: str
    code: DatabaseCode
    rpo_seconds: int | None = None
    # False only in a disposable environment: deletable, no final snapshot, not protected.
    deletion_protection: bool = True


class Database(pulumi.ComponentResource):
    """One region's part of the global database. Creates:

    - security groups: ``db`` (5432 from ``proxy`` and ``admin`` only), ``proxy`` (5432 from
      ``clients``), ``admin`` (the migration/rotation functions) and ``clients`` (for the
      logic tier's functions), with explicit rule resources;
    - ``aws.rds.SubnetGroup`` on the private subnets, a ``ClusterParameterGroup`` (TLS
      forced, write-forwarding consistency and quota, statement timeout, RPO guard; the same in
      both roles), the ``/aws/rds/cluster/<id>/postgresql`` log group (KMS, retention);
    - ``aws.rds.Cluster`` joined to the global cluster (primary or secondary), global write
      forwarding enabled in both roles, Serverless v2, encrypted with the regional data key,
      IAM auth, backups, log export, and ``instance_count`` ``ClusterInstance``s across AZs;
    - ``aws.rds.Proxy`` (TLS + IAM required, Secrets Manager auth for the master and the
      application login) with its role, default target group (connection budget), target,
      and a read-only ``ProxyEndpoint``;
    - in the secret's home region: the initial master and application passwords and both
      secrets' first values;
    - in the writer region: the migration function invoked on every SQL change (it also
      creates the application login and sets its password from its secret), and, when the
      writer is also the secret's home, the rotation function and a ``SecretRotation`` per
      secret.

    Changes to the db/proxy security groups are watched by the stack's
    ``SecurityGroupWatch`` (components/audit.py) over ``watched_security_group_ids``.

    Attributes: ``cluster_identifier``, ``cluster_endpoint``, ``proxy_endpoint``,
    ``proxy_reader_endpoint``, ``proxy_arn``, ``proxy_name``, ``client_security_group_id``,
    ``watched_security_group_ids`` (db and proxy groups), ``secret_arn`` (master),
    ``app_secret_arn``, ``db_name``, ``db_user`` (the application login), and for application
    functions ``app_environment`` (the ``DB_*`` handler variables) and ``app_statements``
    (IAM ``rds-db:connect`` via the proxy as the application login only).
    """

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:data:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identifier = rules.cluster_identifier(args.environment, args.region)
        prefix = names.prefix(args.environment)

        groups = self._security_groups(name, args, child)
        db_sg, proxy_sg, admin_sg, clients_sg = (
            groups["db"],
            groups["proxy"],
            groups["admin"],
            groups["clients"],
        )

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=identifier,
            description=f"Private subnets of {identifier}",
            subnet_ids=args.private_subnet_ids,
            opts=child,
        )
        parameter_group = aws.rds.ClusterParameterGroup(
            f"{name}-params",
            name_prefix=f"{identifier}-",
            family=pulumi.Output.from_input(args.engine_version).apply(rules.parameter_family),
            description=f"TLS, write forwarding and timeouts for {identifier}",
            parameters=[
                aws.rds.ClusterParameterGroupParameterArgs(**parameter)
                for parameter in rules.cluster_parameters(
                    write_forward_consistency=args.write_forward_consistency,
                    rpo_seconds=args.rpo_seconds,
                )
            ],
            # name_prefix: a family change creates the new group before deleting the old one.
            opts=child,
        )
        # Created before the cluster so RDS exports into our encrypted group with retention,
        # instead of creating an unencrypted, never-expiring one itself.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-postgresql-logs",
            name=f"/aws/rds/cluster/{identifier}/postgresql",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )

        master_password = app_password = None
        if args.is_secret_home:
            # The secrets' first values; rotation replaces them within rotation_days.
            master_password, app_password = (
                random.RandomPassword(
                    f"{name}-{kind}-password",
                    length=32,
                    special=True,
                    override_special="!#$%&*()-_=+[]{}<>:?",
                    opts=child,
                )
                for kind in ("master", "app")
            )

        cluster = aws.rds.Cluster(
            f"{name}-cluster",
            cluster_identifier=identifier,
            engine=rules.ENGINE,
            engine_mode="provisioned",
            engine_version=args.engine_version,
            global_cluster_identifier=args.global_cluster_id,
            # Only the writer's stack declares credentials and the database: a secondary
            # inherits both from the global cluster (ignored after creation either way). A
            # writer away from the secret's home exists only after a switchover, when the
            # cluster already exists and its credentials are ignored.
            master_username=rules.MASTER_USERNAME if args.is_primary else None,
            master_password=master_password.result
            if args.is_primary and master_password is not None
            else None,
            database_name=rules.DB_NAME if args.is_primary else None,
            # On every cluster whatever its role (R-DR-4): AWS applies it when the cluster is a
            # secondary, so the region a switchover demotes keeps accepting writes (forwarded to
            # the new writer) with no redeploy. On the writer it has no effect.
            enable_global_write_forwarding=True,
            db_subnet_group_name=subnet_group.name,
            db_cluster_parameter_group_name=parameter_group.name,
            vpc_security_group_ids=[db_sg.id],
            port=rules.PORT,
            storage_encrypted=True,
            kms_key_id=args.data_key_arn,
            iam_database_authentication_enabled=True,
            backup_retention_period=rules.BACKUP_RETENTION_DAYS,
            preferred_backup_window="02:00-03:00",
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            # A disposable environment is destroyed and re-created under the same identifier:
            # a final snapshot would block the next destroy with a name already taken.
            skip_final_snapshot=not args.deletion_protection,
            final_snapshot_identifier=f"{identifier}-final" if args.deletion_protection else None,
            enabled_cloudwatch_logs_exports=["postgresql"],
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=args.min_capacity, max_capacity=args.max_capacity
            ),
            apply_immediately=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[log_group],
                ignore_changes=CLUSTER_IGNORE_CHANGES,
                protect=args.deletion_protection,
            ),
        )
        instances = [
            aws.rds.ClusterInstance(
                f"{name}-instance-{index + 1}",
                identifier=f"{identifier}-{index + 1}",
                cluster_identifier=cluster.id,
                engine=rules.ENGINE,
                instance_class="db.serverless",
                availability_zone=args.availability_zones[index % len(args.availability_zones)],
                db_subnet_group_name=subnet_group.name,
                publicly_accessible=False,
                # Not supported for global database members; the global cluster upgrades.
                auto_minor_version_upgrade=False,
                promotion_tier=min(index, 15),
                ca_cert_identifier="rds-ca-rsa2048-g1",
                copy_tags_to_snapshot=True,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["engineVersion"]),
            )
            for index in range(args.instance_count)
        ]

        seeds = []
        if args.is_secret_home and master_password is not None and app_password is not None:
            # The rotation function reads host/port/dbname from a secret (AWS's format).
            # Rotation then owns the value: never written back by a later deploy.
            def seed(resource: str, secret_arn, username: str, password) -> None:
                seeds.append(
                    aws.secretsmanager.SecretVersion(
                        resource,
                        secret_id=secret_arn,
                        secret_string=pulumi.Output.secret(
                            pulumi.Output.all(cluster.endpoint, password.result).apply(
                                lambda values: json.dumps(
                                    rules.secret_document(
                                        host=values[0],
                                        username=username,
                                        password=values[1],
                                        cluster_identifier=identifier,
                                    )
                                )
                            )
                        ),
                        opts=pulumi.ResourceOptions(
                            parent=self,
                            ignore_changes=["secretString", "versionStages"],
                            retain_on_delete=True,
                        ),
                    )
                )

            seed(f"{name}-secret-seed", args.secret_arn, rules.MASTER_USERNAME, master_password)
            seed(f"{name}-app-secret-seed", args.app_secret_arn, rules.APP_USERNAME, app_password)

        proxy = self._proxy(name, args, child, cluster, instances, proxy_sg, prefix)

        layer = args.code.layer_arn
        if args.is_primary:
            self._migrations(
                name, args, cluster, instances, admin_sg, layer, seeds, prefix, groups["rules"]
            )
            if args.is_secret_home:
                self._rotation(name, args, admin_sg, layer, seeds, prefix)
            else:
                pulumi.log.warn(
                    f"{args.region} is the writer but not the DB secret's home region: rotation "
                    "is paused until the writer returns home (docs/data.md, 'Rotation').",
                    resource=self,
                )

        self.watched_security_group_ids = [db_sg.id, proxy_sg.id]

        self.cluster_identifier = cluster.cluster_identifier
        self.cluster_endpoint = cluster.endpoint
        self.proxy_arn = proxy["proxy"].arn
        self.proxy_name = proxy["proxy"].name
        self.proxy_endpoint = proxy["proxy"].endpoint
        self.proxy_reader_endpoint = proxy["reader"].endpoint
        self.client_security_group_id = clients_sg.id
        self.secret_arn = pulumi.Output.from_input(args.secret_arn)
        self.app_secret_arn = pulumi.Output.from_input(args.app_secret_arn)
        self.db_name = rules.DB_NAME
        self.db_user = rules.APP_USERNAME
        # For the logic tier: what an application function needs to use the database, as the
        # least-privilege login (DML only); the master user is not connectable by them.
        self.app_environment = rules.app_environment(
            role_hint="primary" if args.is_primary else "secondary",
            proxy_endpoint=self.proxy_endpoint,
            reader_endpoint=self.proxy_reader_endpoint,
            secret_arn=self.app_secret_arn,
        )
        self.app_statements = [
            {
                "Sid": "ConnectThroughRdsProxyWithIam",
                "Effect": "Allow",
                "Action": ["rds-db:connect"],
                "Resource": self.proxy_arn.apply(
                    lambda arn: rules.proxy_connect_arn(arn, rules.APP_USERNAME)
                ),
            }
        ]
        self.register_outputs(
            {
                "cluster_identifier": self.cluster_identifier,
                "cluster_endpoint": self.cluster_endpoint,
                "proxy_endpoint": self.proxy_endpoint,
                "proxy_reader_endpoint": self.proxy_reader_endpoint,
                "client_security_group_id": self.client_security_group_id,
                "secret_arn": self.secret_arn,
                "app_secret_arn": self.app_secret_arn,
            }
        )

    def _security_groups(self, name: str, args: DatabaseArgs, child: pulumi.ResourceOptions):
        def group(kind: str, description: str) -> aws.ec2.SecurityGroup:
            # No inline rules: the rules below reference each other, and AWS's default
            # allow-all egress is removed when a group is declared without inline egress.
            return aws.ec2.SecurityGroup(
                f"{name}-{kind}-sg",
                vpc_id=args.vpc_id,
                description=description,
                tags={"Name": f"{name}-{kind}"},
                opts=child,
            )

        db = group("db", "Aurora: PostgreSQL from RDS Proxy and the admin functions only")
        proxy = group("proxy", "RDS Proxy: PostgreSQL from the application functions")
        admin = group("admin", "Migration and rotation functions (direct to the writer)")
        clients = group("clients", "Application functions that use the database via the proxy")

        def ingress(rule: str, target, source, description: str):
            return aws.vpc.SecurityGroupIngressRule(
                f"{name}-{rule}",
                security_group_id=target.id,
                referenced_security_group_id=source.id,
                ip_protocol="tcp",
                from_port=rules.PORT,
                to_port=rules.PORT,
                description=description,
                opts=child,
            )

        def egress(rule: str, source, target_id, port: int, description: str):
            return aws.vpc.SecurityGroupEgressRule(
                f"{name}-{rule}",
                security_group_id=source.id,
                referenced_security_group_id=target_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=description,
                opts=child,
            )

        created = [
            ingress("db-from-proxy", db, proxy, "PostgreSQL from RDS Proxy"),
            ingress("db-from-admin", db, admin, "PostgreSQL from migration/rotation functions"),
            ingress("proxy-from-clients", proxy, clients, "PostgreSQL from application functions"),
            egress("proxy-to-db", proxy, db.id, rules.PORT, "RDS Proxy to Aurora"),
            egress("admin-to-db", admin, db.id, rules.PORT, "Admin functions to Aurora"),
            egress("clients-to-proxy", clients, proxy.id, rules.PORT, "Functions to RDS Proxy"),
            # Secrets Manager, KMS, Logs, X-Ray through the VPC's interface endpoints.
            egress(
                "admin-to-endpoints",
                admin,
                args.endpoint_security_group_id,
                443,
                "AWS APIs via VPC endpoints",
            ),
            egress(
                "clients-to-endpoints",
                clients,
                args.endpoint_security_group_id,
                443,
                "AWS APIs via VPC endpoints",
            ),
        ]
        return {"db": db, "proxy": proxy, "admin": admin, "clients": clients, "rules": created}

    def _proxy(self, name, args: DatabaseArgs, child, cluster, instances, proxy_sg, prefix):
        role = aws.iam.Role(
            f"{name}-proxy-role",
            description="RDS Proxy reads the DB secrets in this region",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(assume_role_policy("rds.amazonaws.com", account))
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-proxy-policy",
            role=role.id,
            policy=pulumi.Output.all(
                args.secret_arn, args.app_secret_arn, args.secrets_key_arn
            ).apply(
                lambda v: json.dumps(
                    document(*rules.proxy_statements([v[0], v[1]], v[2], args.region))
                )
            ),
            opts=child,
        )
        proxy = aws.rds.Proxy(
            f"{name}-proxy",
            name=rules.proxy_name(args.environment),
            engine_family="POSTGRESQL",
            role_arn=role.arn,
            require_tls=True,
            idle_client_timeout=1800,
            debug_logging=False,
            vpc_subnet_ids=args.private_subnet_ids,
            vpc_security_group_ids=[proxy_sg.id],
            # One entry per database user the proxy may log in as; the user is matched by the
            # secret's `username`. Clients (IAM token only) reach the app login through the
            # functions' rds-db:connect; the master entry serves operators with that right.
            auths=[
                aws.rds.ProxyAuthArgs(
                    auth_scheme="SECRETS",
                    secret_arn=secret_arn,
                    iam_auth="REQUIRED",
                    client_password_auth_type="POSTGRES_SCRAM_SHA_256",  # noqa: S106 (a scheme name)
                    description=description,
                )
                for secret_arn, description in (
                    (args.secret_arn, "Master credentials; clients authenticate with IAM tokens"),
                    (
                        args.app_secret_arn,
                        f"Application login {rules.APP_USERNAME}; clients use IAM tokens",
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        aws.rds.ProxyDefaultTargetGroup(
            f"{name}-proxy-targets",
            db_proxy_name=proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=rules.proxy_max_connections_percent(),
                max_idle_connections_percent=50,
                # Fail fast inside a 10 s Lambda rather than queue behind a saturated pool.
                connection_borrow_timeout=5,
            ),
            opts=child,
        )
        aws.rds.ProxyTarget(
            f"{name}-proxy-target",
            db_proxy_name=proxy.name,
            target_group_name="default",
            db_cluster_identifier=cluster.cluster_identifier,
            opts=pulumi.ResourceOptions(parent=self, depends_on=instances),
        )
        # On a secondary the proxy's default (read/write) endpoint has no target until
        # promotion; this endpoint reaches the readers in either role.
        reader = aws.rds.ProxyEndpoint(
            f"{name}-proxy-reader",
            db_proxy_name=proxy.name,
            db_proxy_endpoint_name=f"{rules.proxy_name(args.environment)}-ro",
            target_role="READ_ONLY",
            vpc_subnet_ids=args.private_subnet_ids,
            vpc_security_group_ids=[proxy_sg.id],
            opts=child,
        )
        return {"proxy": proxy, "reader": reader, "role": role}

    def _migrations(
        self, name, args: DatabaseArgs, cluster, instances, admin_sg, layer, seeds, prefix, sg_rules
    ):
        spec = function_spec("migrations")
        function = Function(
            f"{name}-migrations",
            FunctionArgs(
                spec=spec,
                function_name=names.function_name(args.environment, spec.name),
                code=args.code.migrations,
                account_id=args.account_id,
                region=args.region,
                logs_key_arn=args.logs_key_arn,
                log_retention_days=args.log_retention_days,
                reserved_concurrency=spec.fixed_reserved_concurrency,
                statements=rules.migration_statements(
                    args.secret_arn, args.app_secret_arn, args.secrets_key_arn, args.region
                ),
                layers=[layer],
                environment={
                    env.APP_ROLE_HINT: "primary",
                    # Straight to the writer: DDL is neither forwarded nor proxied well.
                    env.DB_HOST: cluster.endpoint,
                    env.DB_READER_HOST: cluster.endpoint,
                    env.DB_PORT: str(rules.PORT),
                    env.DB_NAME: rules.DB_NAME,
                    env.DB_USER: rules.MASTER_USERNAME,
                    env.DB_AUTH: "secret",
                    env.DB_SECRET_ARN: args.secret_arn,
                    env.DB_SSLMODE: "require",
                    env.LOG_LEVEL: "INFO",
                },
                vpc=VpcPlacement(args.private_subnet_ids, [admin_sg.id]),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        checksum = args.code.migrations_checksum
        # Runs at create and whenever the shipped SQL changes (input and trigger change);
        # the runner skips applied versions, so a re-run is harmless. It also makes the
        # application login exist in app_rw with the password from this region's copy of its
        # secret (the value RDS Proxy logs in with), before any app function needs it.
        aws.lambda_.Invocation(
            f"{name}-migrate",
            function_name=function.function.name,
            qualifier=function.alias.name,
            input=pulumi.Output.from_input(args.app_secret_arn).apply(
                lambda arn: json.dumps(rules.migration_input(checksum, arn))
            ),
            triggers={"migrationsChecksum": checksum},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*instances, *sg_rules, *seeds]),
        )
        self.migrations_function = function

    def _rotation(self, name, args: DatabaseArgs, admin_sg, layer, seeds, prefix):
        spec = function_spec("db_rotation")
        function = Function(
            f"{name}-rotation",
            FunctionArgs(
                spec=spec,
                function_name=names.function_name(args.environment, spec.name),
                code=args.code.rotation,
                account_id=args.account_id,
                region=args.region,
                logs_key_arn=args.logs_key_arn,
                log_retention_days=args.log_retention_days,
                reserved_concurrency=spec.fixed_reserved_concurrency,
                statements=rules.rotation_statements(
                    [args.secret_arn, args.app_secret_arn], args.secrets_key_arn, args.region
                ),
                layers=[layer],
                environment={env.DB_SSLMODE: "require", env.LOG_LEVEL: "INFO"},
                vpc=VpcPlacement(args.private_subnet_ids, [admin_sg.id]),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Single-user rotation for both: the function logs in as the secret's own user and
        # changes that user's password (PostgreSQL lets any role change its own), so the app
        # login needs no master credentials. Resource names keep the master's URNs.
        for prefix_name, secret_arn in (
            (f"{name}-rotation", args.secret_arn),
            (f"{name}-app-rotation", args.app_secret_arn),
        ):
            permission = aws.lambda_.Permission(
                f"{prefix_name}-invoke",
                action="lambda:InvokeFunction",
                function=function.function.name,
                principal="secretsmanager.amazonaws.com",
                source_account=args.account_id,
                source_arn=secret_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.secretsmanager.SecretRotation(
                f"{prefix_name}-schedule",
                secret_id=secret_arn,
                rotation_lambda_arn=function.function.arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=args.rotation_days
                ),
                # The first rotation waits for the schedule: the deploy's own migration run
                # reads the seeded values and must not race a rotation.
                rotate_immediately=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, *seeds]),
            )
        self.rotation_function = function
