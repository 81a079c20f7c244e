"""Pure rules of the data tier: names, Aurora parameters, the RDS Proxy connection budget,
the security-group change pattern and the IAM/KMS statements the tier hands out.

Everything here takes plain values and returns plain values, so each rule is unit-tested
without mocks; ``components/database.py`` applies them to resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contract import environment as env
from contract import names

ENGINE = "aurora-postgresql"
PORT = names.DB_PORT
DB_NAME = names.DB_NAME
MASTER_USERNAME = names.MASTER_USERNAME
# The application's login (api, subscriber): table DML via the `app_rw` group role, no DDL, no
# role management. Created and given its password by the migration function (ensure_app_users).
APP_USERNAME = names.APP_USERNAME
# Aurora needs ≥ 7 days for point-in-time recovery to cover a week of incidents (R-DATA-1).
BACKUP_RETENTION_DAYS = 14
# Handlers run behind API Gateway (29 s) in 10 s Lambdas: a statement still running after
# 10 s has no caller left. Migrations connect directly and may SET their own timeout.
STATEMENT_TIMEOUT_MS = 10_000
# Share of the writer's max_connections that forwarded sessions from secondaries may use
# (apg_write_forward.max_forwarding_connections_percent; the engine default is 25).
FORWARDING_CONNECTIONS_PERCENT = 20
# Share kept free of the proxy for the migration and rotation functions and for operators.
ADMIN_RESERVE_PERCENT = 10


def global_cluster_identifier(environment: str) -> str:
    return names.global_cluster_identifier(environment)


def cluster_identifier(environment: str, region: str) -> str:
    return names.cluster_identifier(environment, region)


def secret_name(environment: str) -> str:
    return names.db_secret_name(environment)


def app_secret_name(environment: str) -> str:
    return names.db_app_secret_name(environment)


def proxy_name(environment: str) -> str:
    return names.proxy_name(environment)


def proxy_connect_arn(proxy_arn: str, user: str) -> str:
    """``rds-db:connect`` resource for IAM auth through a proxy: the proxy's resource id
    (the ``prx-…`` last part of its ARN) takes the place of a cluster resource id."""
    _, partition, _, region, account, resource = proxy_arn.split(":", 5)
    return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource.split(':')[-1]}/{user}"


def app_environment(
    *, role_hint: str, proxy_endpoint: Any, reader_endpoint: Any, secret_arn: Any
) -> dict[env.Variable, Any]:
    """The ``DB_*`` handler variables for application functions (api, subscriber, …).

    They log in as the least-privilege ``APP_USERNAME`` (IAM token to the proxy, which uses
    that user's secret, ``secret_arn``, towards the database); never as the master user.
    ``DB_HOST`` is the proxy's read/write endpoint, ``DB_READER_HOST`` its read-only endpoint;
    the handlers try the endpoint their role hint prefers first and re-select on SQLSTATE
    25006, so a switchover needs no redeploy (docs/data.md).
    """
    return {
        env.APP_ROLE_HINT: role_hint,
        env.DB_HOST: proxy_endpoint,
        env.DB_READER_HOST: reader_endpoint,
        env.DB_PORT: str(PORT),
        env.DB_NAME: DB_NAME,
        env.DB_USER: APP_USERNAME,
        env.DB_AUTH: "iam",
        env.DB_SECRET_ARN: secret_arn,
        env.DB_SSLMODE: "require",
    }


def secret_document(
    *, host: str, username: str, password: str, cluster_identifier: str
) -> dict[str, Any]:
    """A DB secret's value in AWS's RDS format: what the rotation function reads (host, port,
    dbname to connect; username whose password it changes) and what RDS Proxy matches a
    client's user name against."""
    return {
        "engine": "postgres",
        "host": host,
        "port": PORT,
        "username": username,
        "password": password,
        "dbname": DB_NAME,
        "dbClusterIdentifier": cluster_identifier,
    }


def migration_input(checksum: str, app_secret_arn: str) -> dict[str, Any]:
    """The migration function's event (handlers/migrations): the SQL fingerprint, and the
    application login to create/grant with its password read from ``app_secret_arn``."""
    return {
        "checksum": checksum,
        "app_users": [{"name": APP_USERNAME, "secret_arn": app_secret_arn}],
    }


def parameter_family(engine_version: str) -> str:
    """``16.6`` → ``aurora-postgresql16`` (parameter groups are per major version)."""
    return f"{ENGINE}{engine_version.split('.')[0]}"


def replica_arn(secret_arn: str, region: str) -> str:
    """A replica secret keeps the primary's name and suffix; only the region differs."""
    parts = secret_arn.split(":")
    parts[3] = region
    return ":".join(parts)


def proxy_max_connections_percent(
    forwarding_percent: int = FORWARDING_CONNECTIONS_PERCENT,
    admin_reserve_percent: int = ADMIN_RESERVE_PERCENT,
) -> int:
    """The proxy's ``max_connections_percent`` on a global database with write forwarding.

    AWS: reduce the proxy's MaxConnectionsPercent by the write-forwarding quota, because
    forwarded sessions are served from the writer's own max_connections. With the defaults:
    100 - 20 (forwarded sessions) - 10 (migrations, rotation, operators) = 70.
    Every region gets the same budget: after a switchover any proxy may front the writer.
    """
    value = 100 - forwarding_percent - admin_reserve_percent
    if not 1 <= value <= 100:
        raise ValueError(
            f"forwarding {forwarding_percent}% + reserve {admin_reserve_percent}% "
            "leave the proxy no connections"
        )
    return value


def cluster_parameters(
    *, write_forward_consistency: str, rpo_seconds: int | None
) -> list[dict[str, str]]:
    """Cluster parameter group contents, the same in every region whatever its role (R-DR-4):
    a switchover changes which cluster is the writer, not what any group says.

    Session-level settings live here, not in a ``SET`` from the handlers: a ``SET`` pins the
    RDS Proxy session to one connection and defeats pooling. ``pending-reboot`` is used for
    parameters AWS marks static (it is accepted for dynamic ones too, and a new cluster starts
    with the group applied).
    """
    parameters = [
        # R-DATA-1: refuse clients that do not use TLS.
        {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"},
        {"name": "ssl_min_protocol_version", "value": "TLSv1.2", "apply_method": "pending-reboot"},
        # SESSION (the default) is unsupported behind RDS Proxy with write forwarding.
        {
            "name": "apg_write_forward.consistency_mode",
            "value": write_forward_consistency,
            "apply_method": "immediate",
        },
        # The Aurora PostgreSQL name of the write-forwarding connection quota (Aurora MySQL's
        # is aurora_fwd_writer_max_connections_pct); the proxy budget subtracts it.
        {
            "name": "apg_write_forward.max_forwarding_connections_percent",
            "value": str(FORWARDING_CONNECTIONS_PERCENT),
            "apply_method": "pending-reboot",
        },
        {
            "name": "statement_timeout",
            "value": str(STATEMENT_TIMEOUT_MS),
            "apply_method": "immediate",
        },
    ]
    if rpo_seconds is not None:
        # Only the writer enforces it (commits wait when every secondary lags beyond it); set
        # everywhere so that a promoted cluster guards the RPO at once, without a redeploy.
        parameters.append(
            {"name": "rds.global_db_rpo", "value": str(rpo_seconds), "apply_method": "immediate"}
        )
    return parameters


def _decrypt_via_secrets_manager(key_arn: str, region: str, actions: list[str]) -> dict:
    return {
        "Sid": "UseSecretsKeyOnlyThroughSecretsManager",
        "Effect": "Allow",
        "Action": actions,
        "Resource": key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
    }


def proxy_statements(secret_arns: Sequence[str], key_arn: str, region: str) -> list[dict[str, Any]]:
    """What RDS Proxy needs to log in to the cluster with this region's copies of the secrets
    it registers (master and application login): exactly those ARNs."""
    return [
        {
            "Sid": "ReadDbSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": list(secret_arns),
        },
        _decrypt_via_secrets_manager(key_arn, region, ["kms:Decrypt"]),
    ]


def rotation_statements(
    secret_arns: Sequence[str], key_arn: str, region: str
) -> list[dict[str, Any]]:
    """The rotation function: the four Secrets Manager steps on the DB secrets it rotates."""
    return [
        {
            "Sid": "RotateTheDbSecretsOnly",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": list(secret_arns),
        },
        {
            # GetRandomPassword acts on no resource; AWS offers no scoping for it.
            "Sid": "GeneratePasswords",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetRandomPassword"],
            "Resource": "*",
        },
        _decrypt_via_secrets_manager(key_arn, region, ["kms:Decrypt", "kms:GenerateDataKey"]),
    ]


def migration_statements(
    secret_arn: str, app_secret_arn: str, key_arn: str, region: str
) -> list[dict[str, Any]]:
    """The migration function reads the master credentials (to connect) and the application
    login's (to set that role's password), nothing else."""
    return [
        {
            "Sid": "ReadDbSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": secret_arn,
        },
        {
            "Sid": "ReadAppUserSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": app_secret_arn,
        },
        _decrypt_via_secrets_manager(key_arn, region, ["kms:Decrypt"]),
    ]


def dev_account_secret_policy(role_arn: str) -> dict[str, Any]:
    """Secret resource policy: the development account's role may read this secret (R-SEC-1).
    In a secret's resource policy ``Resource: *`` means the secret itself."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DevelopmentAccountReadsDbSecret",
                "Effect": "Allow",
                "Principal": {"AWS": role_arn},
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": "*",
            }
        ],
    }


def dev_account_key_statement(
    role_arn: str, account_id: str, region: str, environment: str
) -> dict[str, Any]:
    """Key-policy statement letting the development role decrypt the DB secret, and only it:
    through Secrets Manager in ``region``, for a secret named like ours. The name pattern
    (Secrets Manager appends 6 random characters) avoids a key → secret → key cycle."""
    return {
        "Sid": "DevelopmentAccountDecryptsDbSecret",
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
            "StringLike": {
                "kms:EncryptionContext:SecretARN": (
                    f"arn:aws:secretsmanager:{region}:{account_id}:secret:"
                    f"{secret_name(environment)}-??????"
                )
            },
        },
    }
