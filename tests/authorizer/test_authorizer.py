"""R-API-3: a token from any region's user pool is accepted by every region's API; forged,
tampered, expired and foreign tokens are not. R-AUTH-4: only tokens issued to this deployment's
app clients (found by name in each pool) are. Tokens are signed with ``cryptography`` (a test
dependency only) and verified by the authorizer's standard-library code."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from handlers.authorizer import main, pools
from handlers.authorizer.tokens import InvalidToken, RsaKey, parse_issuer, rsa_sha256_verify

POOL_NAME = "mobile-backend-prod-users"
EU_POOL = "eu-west-1_EuPool123"
US_POOL = "us-west-1_UsPool456"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/api/GET/users/42"
NOW = 1_800_000_000
APP_CLIENTS = ("web", "mobile")
# Each pool's clients: id → name. Ids are random per pool; the names are the deployment's.
CLIENTS = {
    EU_POOL: {"euweb111": "web", "eumobile222": "mobile", "eumigration333": "migration"},
    US_POOL: {"usweb444": "web", "usmobile555": "mobile", "usmigration666": "migration"},
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    def __init__(self, kid: str):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": b64(numbers.n.to_bytes(256, "big")),
            "e": b64(numbers.e.to_bytes(3, "big")),
        }

    def token(self, claims: dict, header: dict | None = None) -> str:
        head = b64(json.dumps(header or {"alg": "RS256", "kid": self.kid}).encode())
        body = b64(json.dumps(claims).encode())
        signature = self.key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{b64(signature)}"


def claims(pool: str, **extra) -> dict:
    region = pool.split("_")[0]
    return {
        "iss": f"https://cognito-idp.{region}.amazonaws.com/{pool}",
        "sub": "5f1c7a52-1111-4c0e-9d1a-000000000001",
        "email": "ana@example.com",
        "cognito:groups": ["admins", "staff"],
        "token_use": "id",
        "aud": next(iter(CLIENTS.get(pool, {"client": ""}))),
        "iat": NOW - 60,
        "exp": NOW + 3600,
        **extra,
    }


class FakeCognito:
    """ListUserPools and ListUserPoolClients of one account in one region."""

    def __init__(self, pools_by_name: dict[str, str]):
        self.pools_by_name = pools_by_name
        self.calls = 0
        self.client_calls = 0
        self.clients = {pool: dict(CLIENTS.get(pool, {})) for pool in pools_by_name}

    def list_user_pool_clients(self, UserPoolId, MaxResults, NextToken=None):
        self.client_calls += 1
        items = [
            {"ClientId": client_id, "UserPoolId": UserPoolId, "ClientName": name}
            for client_id, name in self.clients[UserPoolId].items()
        ]
        # Two pages, to prove pagination is followed.
        if NextToken is None:
            return {"UserPoolClients": items[:2], "NextToken": "page-2"}
        return {"UserPoolClients": items[2:]}

    def list_user_pools(self, MaxResults, NextToken=None):
        self.calls += 1
        items = [{"Id": pool_id, "Name": name} for pool_id, name in self.pools_by_name.items()]
        # Two pages, to prove pagination is followed.
        if NextToken is None:
            return {"UserPools": items[:1], "NextToken": "page-2"}
        return {"UserPools": items[1:]}


@pytest.fixture
def world():
    eu, us, stranger = Signer("eu-key"), Signer("us-key"), Signer("stranger-key")
    clients = {
        "eu-west-1": FakeCognito({EU_POOL: POOL_NAME, "eu-west-1_Other": "someone-else"}),
        "us-west-1": FakeCognito({"us-west-1_Decoy": "decoy", US_POOL: POOL_NAME}),
    }
    jwks = {
        f"https://cognito-idp.eu-west-1.amazonaws.com/{EU_POOL}/.well-known/jwks.json": [eu],
        f"https://cognito-idp.us-west-1.amazonaws.com/{US_POOL}/.well-known/jwks.json": [us],
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other/.well-known/jwks.json": [
            stranger
        ],
    }
    fetched: list[str] = []

    def fetch(url):
        fetched.append(url)
        return {"keys": [s.jwk() for s in jwks[url]]}

    clock = [0.0]
    trusted = pools.TrustedPools(
        POOL_NAME,
        ["eu-west-1", "us-west-1"],
        clients.__getitem__,
        fetch,
        lambda: clock[0],
        client_names=APP_CLIENTS,
    )
    return {
        "eu": eu,
        "us": us,
        "stranger": stranger,
        "trusted": trusted,
        "clients": clients,
        "fetched": fetched,
        "clock": clock,
    }


def authorize(world, token: str) -> dict:
    return main.authorize(
        {"authorizationToken": token, "methodArn": METHOD_ARN}, world["trusted"], NOW
    )


@pytest.mark.parametrize(("signer", "pool"), [("eu", EU_POOL), ("us", US_POOL)])
def test_tokens_from_either_regions_pool_are_allowed_for_the_whole_stage(world, signer, pool):
    result = authorize(world, "Bearer " + world[signer].token(claims(pool)))
    assert result["principalId"] == "5f1c7a52-1111-4c0e-9d1a-000000000001"
    statement = result["policyDocument"]["Statement"][0]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:eu-west-1:123456789012:abc123/api/*/*",
    }
    assert result["context"] == {
        "sub": "5f1c7a52-1111-4c0e-9d1a-000000000001",
        "email": "ana@example.com",
        "groups": "admins,staff",
        "issuer": claims(pool)["iss"],
    }


def refused(world, token: str) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(world, token)


def test_tampered_payload_is_refused(world):
    token = world["eu"].token(claims(EU_POOL))
    head, _, signature = token.split(".")
    forged = b64(json.dumps(claims(EU_POOL, sub="someone-else")).encode())
    refused(world, f"{head}.{forged}.{signature}")


def test_token_signed_by_the_other_regions_key_is_refused(world):
    # Right issuer (EU pool), but signed with the US pool's key under the EU key id.
    token = world["us"].token(claims(EU_POOL), header={"alg": "RS256", "kid": "eu-key"})
    refused(world, token)


def test_pool_of_the_same_account_with_another_name_is_not_trusted(world):
    refused(world, world["stranger"].token(claims("eu-west-1_Other")))
    assert not any("eu-west-1_Other" in url for url in world["fetched"]), (
        "keys of an untrusted issuer must never be fetched"
    )


def test_pool_in_a_region_we_do_not_serve_is_refused_without_any_lookup(world):
    refused(world, world["eu"].token(claims("ap-south-1_Pool")))
    assert all(client.calls == 0 for client in world["clients"].values())


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": NOW - 1},
        {"iat": NOW + 3600},
        {"token_use": "access"},
        {"sub": ""},
        {"iss": "https://evil.example.com/eu-west-1_EuPool123"},
    ],
    ids=["expired", "future", "access-token", "no-subject", "foreign-issuer"],
)
def test_invalid_claims_are_refused(world, changes):
    refused(world, world["eu"].token(claims(EU_POOL, **changes)))


@pytest.mark.parametrize(
    "header",
    [{"alg": "none", "kid": "eu-key"}, {"alg": "HS256", "kid": "eu-key"}, {"alg": "RS256"}],
    ids=["alg-none", "hs256-confusion", "no-kid"],
)
def test_other_algorithms_and_missing_key_ids_are_refused(world, header):
    refused(world, world["eu"].token(claims(EU_POOL), header=header))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "!!.??.**"])
def test_garbage_is_refused(world, token):
    refused(world, token)


def test_pools_and_keys_are_cached_and_unknown_issuers_cannot_force_refetches(world):
    for _ in range(3):
        authorize(world, world["eu"].token(claims(EU_POOL)))
    assert world["clients"]["eu-west-1"].calls == 2  # one listing (two pages)
    assert len(world["fetched"]) == 1
    for _ in range(5):
        refused(world, world["eu"].token(claims("eu-west-1_Forged9")))
    assert world["clients"]["eu-west-1"].calls == 2, "forged issuers re-listed the pools"
    world["clock"][0] += pools.REFRESH_SECONDS + 1
    refused(world, world["eu"].token(claims("eu-west-1_Forged9")))
    assert world["clients"]["eu-west-1"].calls == 4, "a new region's pool would never appear"


def test_a_failing_peer_region_keeps_the_last_good_answer(world):
    authorize(world, world["us"].token(claims(US_POOL)))

    def down(**kwargs):
        raise ConnectionError("us-west-1 is down")

    world["clients"]["us-west-1"].list_user_pools = down
    world["clock"][0] += pools.REFRESH_SECONDS + 1
    assert authorize(world, world["us"].token(claims(US_POOL)))["principalId"]


def test_rsa_verification_rejects_short_keys_and_wrong_lengths():
    signer = Signer("k")
    key = RsaKey.from_jwk(signer.jwk())
    message = b"header.payload"
    signature = signer.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert rsa_sha256_verify(key, message, signature)
    assert not rsa_sha256_verify(key, message + b"x", signature)
    assert not rsa_sha256_verify(key, message, signature[1:])
    assert not rsa_sha256_verify(RsaKey(n=key.n >> 1100, e=key.e), message, signature)


def test_issuer_must_be_a_cognito_pool_of_its_own_region():
    assert parse_issuer(f"https://cognito-idp.eu-west-1.amazonaws.com/{EU_POOL}").region == (
        "eu-west-1"
    )
    with pytest.raises(InvalidToken):
        parse_issuer(f"https://cognito-idp.us-west-1.amazonaws.com/{EU_POOL}")


def test_handler_reads_its_pools_and_clients_from_the_environment(monkeypatch):
    monkeypatch.setattr(main, "_pools", None)
    monkeypatch.setattr(main, "_settings", None)
    monkeypatch.setenv("USER_POOL_NAME", POOL_NAME)
    monkeypatch.setenv("USER_POOL_REGIONS", '["eu-west-1", "us-west-1"]')
    monkeypatch.setenv("APP_CLIENT_NAMES", '["web", "mobile"]')
    trusted = main.pools()
    assert (trusted.pool_name, trusted.regions, trusted.client_names) == (
        POOL_NAME,
        {"eu-west-1", "us-west-1"},
        {"web", "mobile"},
    )
    assert main.pools() is trusted


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "APP_CLIENT_NAMES must be a non-empty JSON list"),
        ("[]", "APP_CLIENT_NAMES must be a non-empty JSON list"),
        ('"web"', "APP_CLIENT_NAMES must be a non-empty JSON list"),
        ('["web", "migration"]', "must not list 'migration'"),
    ],
)
def test_the_app_clients_must_be_named_and_never_include_the_migration_client(value, message):
    from contract.environment import AuthorizerSettings, SettingsError

    env = {"USER_POOL_NAME": POOL_NAME, "USER_POOL_REGIONS": '["eu-west-1"]'}
    if value is not None:
        env["APP_CLIENT_NAMES"] = value
    with pytest.raises(SettingsError, match=message):
        AuthorizerSettings.from_env(env)


# --- R-AUTH-4: this deployment's app clients only -----------------------------------------


@pytest.mark.parametrize(
    ("pool", "client"),
    [
        (EU_POOL, "euweb111"),
        (EU_POOL, "eumobile222"),
        (US_POOL, "usweb444"),
        (US_POOL, "usmobile555"),
    ],
)
def test_tokens_of_the_web_and_mobile_clients_of_every_regions_pool_are_accepted(
    world, pool, client
):
    signer = world["eu"] if pool == EU_POOL else world["us"]
    assert authorize(world, signer.token(claims(pool, aud=client)))["principalId"]


@pytest.mark.parametrize(
    "client",
    ["eumigration333", "someone-elses-client", "usweb444", ""],
    ids=["migration-client", "another-client", "client-of-the-other-pool", "empty"],
)
def test_tokens_of_any_other_client_are_refused(world, client):
    # A second app client of a trusted pool (or the migration client, or a client id of the
    # other region's pool) signs valid tokens: issuer, signature and token_use all hold.
    refused(world, world["eu"].token(claims(EU_POOL, aud=client)))


def test_a_token_without_an_audience_is_refused(world):
    token_claims = claims(EU_POOL)
    del token_claims["aud"]
    refused(world, world["eu"].token(token_claims))


def test_access_tokens_are_matched_on_client_id(world):
    access = claims(EU_POOL, token_use="access", client_id="eumobile222")
    del access["aud"]
    result = main.authorize(
        {"authorizationToken": world["eu"].token(access), "methodArn": METHOD_ARN},
        world["trusted"],
        NOW,
        token_use="access",
    )
    assert result["principalId"]
    access["client_id"] = "eumigration333"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        main.authorize(
            {"authorizationToken": world["eu"].token(access), "methodArn": METHOD_ARN},
            world["trusted"],
            NOW,
            token_use="access",
        )


def test_clients_are_listed_once_and_unknown_ones_cannot_force_relisting(world):
    eu = world["clients"]["eu-west-1"]
    for _ in range(3):
        authorize(world, world["eu"].token(claims(EU_POOL)))
    assert eu.client_calls == 2  # one listing (two pages)
    for _ in range(5):
        refused(world, world["eu"].token(claims(EU_POOL, aud="forged-client")))
    assert eu.client_calls == 2, "unknown client ids re-listed the clients"
    # A client created later (a new app) is picked up once the cache may refresh.
    eu.clients[EU_POOL]["eunewapp777"] = "web"
    world["clock"][0] += pools.REFRESH_SECONDS + 1
    assert authorize(world, world["eu"].token(claims(EU_POOL, aud="eunewapp777")))


def test_a_forged_token_never_makes_the_authorizer_list_clients(world):
    token = world["stranger"].token(
        claims(EU_POOL, aud="forged-client"), header={"alg": "RS256", "kid": "eu-key"}
    )
    refused(world, token)
    assert world["clients"]["eu-west-1"].client_calls == 0


def test_a_failing_client_listing_keeps_the_last_good_answer(world):
    authorize(world, world["us"].token(claims(US_POOL)))

    def down(**kwargs):
        raise ConnectionError("us-west-1 is down")

    world["clients"]["us-west-1"].list_user_pool_clients = down
    world["clock"][0] += pools.REFRESH_SECONDS + 1
    assert authorize(world, world["us"].token(claims(US_POOL)))["principalId"]
    refused(world, world["us"].token(claims(US_POOL, aud="usmigration666")))


def test_trusting_pools_without_app_clients_is_refused():
    with pytest.raises(ValueError, match="no app client names"):
        pools.TrustedPools(POOL_NAME, ["eu-west-1"], lambda region: None, client_names=())


def test_the_caller_id_is_custom_uid_when_the_user_was_migrated(world):
    # A user migrated from the other region carries their first id in custom:uid.
    first_id = "0e5b7c1a-3f0d-4a8e-9c51-6d2f4b8a9e10"
    token = world["us"].token(claims(US_POOL, **{"custom:uid": first_id.upper()}))
    result = authorize(world, "Bearer " + token)
    assert result["principalId"] == result["context"]["sub"] == first_id


@pytest.mark.parametrize("uid", ["", "not-a-uuid", "0e5b7c1a3f0d4a8e9c516d2f4b8a9e10", 7])
def test_a_malformed_custom_uid_falls_back_to_sub(world, uid):
    token = world["eu"].token(claims(EU_POOL, **{"custom:uid": uid}))
    result = authorize(world, "Bearer " + token)
    assert result["principalId"] == result["context"]["sub"] == claims(EU_POOL)["sub"]
