"""Cognito for one region (R-AUTH-1..3): user pool, app clients, migration trigger, identity pool.

The pool's name is deterministic (``mobile-backend-<env>-users``): pool ids are random, so the
authorizer and the peer region's migration trigger find every region's pool by that name
instead of by a cross-stack reference. Identity-pool credentials reach only the caller's own
prefix of the assets bucket; there are no unauthenticated identities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from backend.user_ids import UID_LENGTH, UID_SCHEMA_NAME
from backend.user_migration import COPIED_ATTRIBUTES
from contract import names
from contract.names import MIGRATION_CLIENT_NAME, user_pool_name
from settings import FederationProvider

# Amplify's convention: private/<identity id>/... is the caller's own space.
IDENTITY_PREFIX = "private/${cognito-identity.amazonaws.com:sub}/"
PROVIDER_TYPES = {"google": "Google", "facebook": "Facebook"}
PROVIDER_SCOPES = {"google": "openid email profile", "facebook": "public_profile,email"}
TOKEN_VALIDITY = {"id_minutes": 60, "access_minutes": 60, "refresh_days": 30}
# What users (sign-up, profile edits, federation mappings) may write through the app clients:
# the standard profile attributes. Never custom:uid, the cross-region user id: a client that
# could write it at sign-up could claim another user's id (backend/user_ids.py).
CLIENT_WRITE_ATTRIBUTES = sorted(COPIED_ATTRIBUTES)
# The user-migration trigger only receives the password with USER_PASSWORD_AUTH (SRP never
# sends it), so the public clients allow it, over TLS, alongside SRP.
PUBLIC_CLIENT_FLOWS = [
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]


@dataclass(frozen=True)
class IdentityArgs:
    environment: str
    region: str
    account_id: pulumi.Input[str]
    mfa: str
    migration_function_name: pulumi.Input[str]
    migration_alias_arn: pulumi.Input[str]
    migration_qualifier: pulumi.Input[str]
    web_callback_urls: Sequence[str]
    mobile_callback_urls: Sequence[str]
    # This region's assets bucket (storage tier, global stack) and its key: what identity-pool
    # credentials may reach, under the user's own prefix only.
    assets_bucket_arn: pulumi.Input[str]
    assets_key_arn: pulumi.Input[str]
    federation: Mapping[str, FederationProvider] = field(default_factory=dict)
    # False only in a disposable environment without personal data (settings).
    deletion_protection: bool = True


def authenticated_role_trust(identity_pool_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id},
                    "ForAnyValue:StringLike": {
                        "cognito-identity.amazonaws.com:amr": "authenticated"
                    },
                },
            }
        ],
    }


def own_prefix_policy(bucket_arn: str, key_arn: str, region: str) -> dict[str, Any]:
    """Temporary credentials limited to ``private/<identity id>/`` of one bucket."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [f"{bucket_arn}/{IDENTITY_PREFIX}*"],
        },
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [IDENTITY_PREFIX, f"{IDENTITY_PREFIX}*"]}},
        },
        {
            "Sid": "BucketKeyThroughS3Only",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


class Identity(pulumi.ComponentResource):
    """Creates ``aws.cognito.UserPool`` (email as username, strong passwords, MFA per config,
    threat protection enforced, deletion protection, user-migration trigger), the trigger's
    ``aws.lambda_.Permission`` (source ARN = the pool), ``UserPoolClient`` ``mobile``, ``web``
    (no secrets: public clients) and ``migration`` (admin password auth for the peer region's
    trigger), optional ``IdentityProvider`` per federated provider with a ``UserPoolDomain``,
    an ``IdentityPool`` (no unauthenticated identities) with its authenticated ``Role``.

    Attributes: ``user_pool_id``, ``user_pool_arn``, ``issuer``, ``client_ids`` (name → id),
    ``identity_pool_id``, ``authenticated_role_arn``.
    """

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:identity:Identity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.environment

        pool = aws.cognito.UserPool(
            f"{name}-users",
            name=user_pool_name(env),
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            username_configuration={"case_sensitive": False},
            password_policy={
                "minimum_length": 12,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": True,
                "temporary_password_validity_days": 3,
                "password_history_size": 5,
            },
            mfa_configuration=args.mfa,
            software_token_mfa_configuration={"enabled": True} if args.mfa != "OFF" else None,
            # Threat protection (compromised credentials, adaptive auth) needs the Plus plan.
            user_pool_tier="PLUS",
            user_pool_add_ons={"advanced_security_mode": "ENFORCED"},
            deletion_protection="ACTIVE" if args.deletion_protection else "INACTIVE",
            account_recovery_setting={
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}]
            },
            admin_create_user_config={"allow_admin_create_user_only": False},
            user_attribute_update_settings={
                "attributes_require_verification_before_update": ["email"]
            },
            lambda_config={"user_migration": args.migration_alias_arn},
            # The cross-region user id, set once at creation by the migration trigger.
            schemas=[
                {
                    "name": UID_SCHEMA_NAME,
                    "attribute_data_type": "String",
                    "mutable": False,
                    "developer_only_attribute": False,
                    "required": False,
                    "string_attribute_constraints": {
                        "min_length": str(UID_LENGTH),
                        "max_length": str(UID_LENGTH),
                    },
                }
            ],
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-migration-trigger",
            action="lambda:InvokeFunction",
            function=args.migration_function_name,
            qualifier=args.migration_qualifier,
            principal="cognito-idp.amazonaws.com",
            source_arn=pool.arn,
            source_account=args.account_id,
            opts=child,
        )

        providers = []
        for provider, credentials in sorted(args.federation.items()):
            providers.append(
                aws.cognito.IdentityProvider(
                    f"{name}-{provider}",
                    user_pool_id=pool.id,
                    provider_name=PROVIDER_TYPES[provider],
                    provider_type=PROVIDER_TYPES[provider],
                    provider_details={
                        "client_id": credentials.client_id,
                        "client_secret": pulumi.Output.secret(credentials.client_secret),
                        "authorize_scopes": PROVIDER_SCOPES[provider],
                    },
                    attribute_mapping={"email": "email", "username": "sub"},
                    opts=child,
                )
            )
        if providers:
            # The hosted UI (needed for social sign-in) lives on a prefix domain.
            aws.cognito.UserPoolDomain(
                f"{name}-domain",
                domain=names.regional_prefix(env, args.region),
                user_pool_id=pool.id,
                opts=child,
            )
        identity_providers = ["COGNITO", *(PROVIDER_TYPES[p] for p in sorted(args.federation))]

        def public_client(client: str, callbacks: Sequence[str]) -> aws.cognito.UserPoolClient:
            oauth: dict[str, Any] = {}
            if providers:
                oauth = {
                    "allowed_oauth_flows_user_pool_client": True,
                    "allowed_oauth_flows": ["code"],
                    "allowed_oauth_scopes": ["openid", "email", "profile"],
                    "callback_urls": list(callbacks),
                    "supported_identity_providers": identity_providers,
                }
            return aws.cognito.UserPoolClient(
                f"{name}-{client}",
                name=client,
                user_pool_id=pool.id,
                generate_secret=False,
                explicit_auth_flows=PUBLIC_CLIENT_FLOWS,
                write_attributes=CLIENT_WRITE_ATTRIBUTES,
                prevent_user_existence_errors="ENABLED",
                enable_token_revocation=True,
                id_token_validity=TOKEN_VALIDITY["id_minutes"],
                access_token_validity=TOKEN_VALIDITY["access_minutes"],
                refresh_token_validity=TOKEN_VALIDITY["refresh_days"],
                token_validity_units={
                    "id_token": "minutes",
                    "access_token": "minutes",
                    "refresh_token": "days",
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=providers),
                **oauth,
            )

        mobile = public_client(names.MOBILE_CLIENT, args.mobile_callback_urls)
        # The web app is a static SPA on CloudFront: a public client, so no secret either.
        web = public_client(names.WEB_CLIENT, args.web_callback_urls)
        migration = aws.cognito.UserPoolClient(
            f"{name}-migration",
            name=MIGRATION_CLIENT_NAME,
            user_pool_id=pool.id,
            generate_secret=False,
            # Server-side only: AdminInitiateAuth needs IAM credentials of the peer's trigger.
            explicit_auth_flows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
            # Reads and authenticates only (unset would mean: every writable attribute).
            write_attributes=["email"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            opts=child,
        )

        identity_pool = aws.cognito.IdentityPool(
            f"{name}-identities",
            identity_pool_name=f"mobile_backend_{env}_{args.region.replace('-', '_')}",
            allow_unauthenticated_identities=False,
            # The enhanced flow only: the classic flow lets clients pick any role.
            allow_classic_flow=False,
            cognito_identity_providers=[
                {
                    "client_id": client.id,
                    "provider_name": pool.endpoint,
                    "server_side_token_check": True,
                }
                for client in (mobile, web)
            ],
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-authenticated",
            description="Identity-pool credentials of a signed-in user: own S3 prefix only",
            assume_role_policy=identity_pool.id.apply(
                lambda pool_id: json.dumps(authenticated_role_trust(pool_id))
            ),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-authenticated-own-prefix",
            role=role.id,
            policy=pulumi.Output.all(args.assets_bucket_arn, args.assets_key_arn).apply(
                lambda v: json.dumps(own_prefix_policy(v[0], v[1], args.region))
            ),
            opts=child,
        )
        aws.cognito.IdentityPoolRoleAttachment(
            f"{name}-identities-roles",
            identity_pool_id=identity_pool.id,
            roles={"authenticated": role.arn},
            opts=child,
        )

        self.user_pool_id = pool.id
        self.user_pool_arn = pool.arn
        self.issuer = pool.endpoint.apply(lambda endpoint: f"https://{endpoint}")
        self.client_ids = {
            names.MOBILE_CLIENT: mobile.id,
            names.WEB_CLIENT: web.id,
            MIGRATION_CLIENT_NAME: migration.id,
        }
        self.identity_pool_id = identity_pool.id
        self.authenticated_role_arn = role.arn
        self.register_outputs(
            {
                "user_pool_id": self.user_pool_id,
                "user_pool_arn": self.user_pool_arn,
                "identity_pool_id": self.identity_pool_id,
                "authenticated_role_arn": self.authenticated_role_arn,
            }
        )
