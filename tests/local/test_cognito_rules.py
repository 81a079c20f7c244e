"""The local Cognito pool refuses the attribute writes the deployed pool refuses.

GIVEN a pool declared like components/identity.py (immutable ``custom:uid`` in the schema) with
an app client writing ``CLIENT_WRITE_ATTRIBUTES`` (no ``custom:uid``), WHEN a user or an admin
writes attributes, THEN moto answers like Cognito once `enforce_pool_rules` is installed; and
without it moto accepts the same calls (so these tests can fail).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from backend.user_ids import UID_ATTRIBUTE
from components.identity import CLIENT_WRITE_ATTRIBUTES, UID_LENGTH, UID_SCHEMA_NAME
from local.cognito_rules import enforce_pool_rules

REGION = "eu-west-1"
PASSWORD = "Corr3ct-Horse-Battery!"
VICTIM_UID = "0b0e2a54-3c9e-4f1e-9d43-5b8f3f1e2a77"
# The stack's schema entry, in the CreateUserPool shape (pulumi's `schemas` input).
UID_SCHEMA = {
    "Name": UID_SCHEMA_NAME,
    "AttributeDataType": "String",
    "Mutable": False,
    "DeveloperOnlyAttribute": False,
    "Required": False,
    "StringAttributeConstraints": {"MinLength": str(UID_LENGTH), "MaxLength": str(UID_LENGTH)},
}


@dataclass
class Pool:
    idp: Any
    pool_id: str
    client_id: str

    def client(self, **kwargs: Any) -> str:
        return self.idp.create_user_pool_client(
            UserPoolId=self.pool_id,
            ClientName="extra",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            **kwargs,
        )["UserPoolClient"]["ClientId"]

    def sign_up(self, username: str, attributes: dict[str, str], client_id: str = "") -> None:
        self.idp.sign_up(
            ClientId=client_id or self.client_id,
            Username=username,
            Password=PASSWORD,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )

    def access_token(self, username: str, client_id: str = "") -> str:
        self.idp.admin_confirm_sign_up(UserPoolId=self.pool_id, Username=username)
        return self.idp.initiate_auth(
            ClientId=client_id or self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]["AccessToken"]

    def attributes(self, username: str) -> dict[str, str]:
        user = self.idp.admin_get_user(UserPoolId=self.pool_id, Username=username)
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def make_pool(idp: Any) -> Pool:
    pool_id = idp.create_user_pool(PoolName="mobile-backend-local-users", Schema=[UID_SCHEMA])[
        "UserPool"
    ]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        WriteAttributes=list(CLIENT_WRITE_ATTRIBUTES),
    )["UserPoolClient"]["ClientId"]
    return Pool(idp, pool_id, client_id)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def pool(aws: None) -> Pool:
    return make_pool(boto3.client("cognito-idp", region_name=REGION))


@pytest.fixture
def rules() -> Iterator[None]:
    with enforce_pool_rules():
        yield


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_the_stack_keeps_custom_uid_out_of_client_write_attributes() -> None:
    # The premise of every refusal below: if this changes, so do they.
    assert f"custom:{UID_SCHEMA_NAME}" == UID_ATTRIBUTE
    assert UID_ATTRIBUTE not in CLIENT_WRITE_ATTRIBUTES


def test_sign_up_with_custom_uid_is_refused(pool: Pool, rules: None) -> None:
    with pytest.raises(ClientError) as exc:
        pool.sign_up("mallory@example.com", {"email": "m@example.com", UID_ATTRIBUTE: VICTIM_UID})

    assert error(exc) == (
        "NotAuthorizedException",
        "A client attempted to write unauthorized attribute",
    )
    users = pool.idp.list_users(UserPoolId=pool.pool_id)["Users"]
    assert users == []


def test_update_user_attributes_with_custom_uid_is_refused(pool: Pool, rules: None) -> None:
    pool.sign_up("mallory@example.com", {"email": "m@example.com"})
    token = pool.access_token("mallory@example.com")

    with pytest.raises(ClientError) as exc:
        pool.idp.update_user_attributes(
            AccessToken=token, UserAttributes=[{"Name": UID_ATTRIBUTE, "Value": VICTIM_UID}]
        )

    assert error(exc) == (
        "NotAuthorizedException",
        "A client attempted to write unauthorized attribute",
    )
    assert UID_ATTRIBUTE not in pool.attributes("mallory@example.com")


def test_a_permitted_attribute_update_still_works(pool: Pool, rules: None) -> None:
    pool.sign_up("ada@example.com", {"email": "ada@example.com", "name": "Ada"})
    token = pool.access_token("ada@example.com")

    pool.idp.update_user_attributes(
        AccessToken=token, UserAttributes=[{"Name": "name", "Value": "Ada Lovelace"}]
    )

    assert pool.attributes("ada@example.com")["name"] == "Ada Lovelace"


def test_admin_create_user_may_set_the_immutable_uid(pool: Pool, rules: None) -> None:
    # What the migration trigger's answer and an operator do: set at creation, over IAM.
    pool.idp.admin_create_user(
        UserPoolId=pool.pool_id,
        Username="migrated@example.com",
        UserAttributes=[
            {"Name": "email", "Value": "migrated@example.com"},
            {"Name": UID_ATTRIBUTE, "Value": VICTIM_UID},
        ],
        MessageAction="SUPPRESS",
    )

    assert pool.attributes("migrated@example.com")[UID_ATTRIBUTE] == VICTIM_UID


@pytest.mark.parametrize("had_value", [True, False], ids=["set-at-creation", "never-set"])
def test_an_admin_cannot_change_the_immutable_uid_after_creation(
    pool: Pool, rules: None, had_value: bool
) -> None:
    initial = [{"Name": UID_ATTRIBUTE, "Value": VICTIM_UID}] if had_value else []
    pool.idp.admin_create_user(
        UserPoolId=pool.pool_id,
        Username="u@example.com",
        UserAttributes=[{"Name": "email", "Value": "u@example.com"}, *initial],
        MessageAction="SUPPRESS",
    )
    other = "9e1c7a7e-51a4-4c36-8d8e-6f1d1b7c0c11"

    with pytest.raises(ClientError) as update:
        pool.idp.admin_update_user_attributes(
            UserPoolId=pool.pool_id,
            Username="u@example.com",
            UserAttributes=[{"Name": UID_ATTRIBUTE, "Value": other}],
        )
    with pytest.raises(ClientError) as delete:
        pool.idp.admin_delete_user_attributes(
            UserPoolId=pool.pool_id, Username="u@example.com", UserAttributeNames=[UID_ATTRIBUTE]
        )

    expected = ("InvalidParameterException", "user.custom:uid: Attribute cannot be updated.")
    assert error(update) == expected
    assert error(delete) == expected
    assert pool.attributes("u@example.com").get(UID_ATTRIBUTE) == (
        VICTIM_UID if had_value else None
    )


def test_a_client_allowed_to_write_an_immutable_sets_it_only_at_sign_up(
    pool: Pool, rules: None
) -> None:
    writer = pool.client(WriteAttributes=["email", UID_ATTRIBUTE])
    pool.sign_up("w@example.com", {"email": "w@example.com", UID_ATTRIBUTE: VICTIM_UID}, writer)
    token = pool.access_token("w@example.com", writer)

    with pytest.raises(ClientError) as exc:
        pool.idp.update_user_attributes(
            AccessToken=token,
            UserAttributes=[
                {"Name": UID_ATTRIBUTE, "Value": "9e1c7a7e-51a4-4c36-8d8e-6f1d1b7c0c11"}
            ],
        )

    assert error(exc) == (
        "InvalidParameterException",
        "user.custom:uid: Attribute cannot be updated.",
    )
    assert pool.attributes("w@example.com")[UID_ATTRIBUTE] == VICTIM_UID


def test_a_client_without_write_attributes_writes_standard_attributes_only(
    pool: Pool, rules: None
) -> None:
    default = pool.client()
    pool.sign_up("d@example.com", {"email": "d@example.com", "locale": "en"}, default)

    with pytest.raises(ClientError) as exc:
        pool.sign_up("e@example.com", {UID_ATTRIBUTE: VICTIM_UID}, default)

    assert error(exc)[0] == "NotAuthorizedException"
    assert pool.attributes("d@example.com")["locale"] == "en"


def test_without_the_rules_moto_lets_a_user_claim_another_users_id(pool: Pool) -> None:
    pool.sign_up("mallory@example.com", {"email": "m@example.com", UID_ATTRIBUTE: VICTIM_UID})
    token = pool.access_token("mallory@example.com")
    pool.idp.update_user_attributes(
        AccessToken=token, UserAttributes=[{"Name": UID_ATTRIBUTE, "Value": VICTIM_UID[::-1]}]
    )

    assert pool.attributes("mallory@example.com")[UID_ATTRIBUTE] == VICTIM_UID[::-1]


def test_uninstalling_restores_moto_and_a_second_install_is_refused(pool: Pool) -> None:
    installed = enforce_pool_rules()
    with pytest.raises(RuntimeError, match="already installed"):
        enforce_pool_rules()
    installed.uninstall()

    pool.sign_up("m@example.com", {UID_ATTRIBUTE: VICTIM_UID})

    assert pool.attributes("m@example.com")[UID_ATTRIBUTE] == VICTIM_UID


def test_the_rules_hold_through_an_in_process_moto_server(
    monkeypatch: pytest.MonkeyPatch, rules: None
) -> None:
    # `make dev` runs moto as a thread of its own process, reached over HTTP.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=f"http://{host}:{port}")
        pool = make_pool(idp)
        with pytest.raises(ClientError) as exc:
            pool.sign_up("m@example.com", {"email": "m@example.com", UID_ATTRIBUTE: VICTIM_UID})
    finally:
        server.stop()

    assert error(exc) == (
        "NotAuthorizedException",
        "A client attempted to write unauthorized attribute",
    )
