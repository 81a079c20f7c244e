"""Verification of Cognito-issued RS256 JWTs, with no third-party code.

Only verification is done here, and only of RS256 (what Cognito signs with): the signature is
checked the way RFC 8017 §8.2.2 recommends, by re-encoding the expected PKCS#1 v1.5 block and
comparing it whole, which leaves no room for lenient-parsing forgeries. Keeping it in the
standard library keeps ``cryptography`` (≈4 MB zipped per architecture) out of the layer and
the authorizer's cold start short.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# DER prefix of DigestInfo for SHA-256 (RFC 8017 §9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_ISSUER = re.compile(
    r"^https://cognito-idp\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com/"
    r"(?P<pool>(?P=region)_[0-9A-Za-z]+)$"
)
CLOCK_SKEW_SECONDS = 60


class InvalidToken(Exception):
    """The token is malformed, forged, expired or from an issuer we do not trust."""


@dataclass(frozen=True)
class RsaKey:
    n: int
    e: int

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> RsaKey:
        if jwk.get("kty") != "RSA":
            raise InvalidToken("not an RSA key")
        return cls(n=_int(jwk["n"]), e=_int(jwk["e"]))


@dataclass(frozen=True)
class Issuer:
    region: str
    user_pool_id: str


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[-_A-Za-z0-9]*", text):
        raise InvalidToken("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def parse_issuer(iss: Any) -> Issuer:
    match = _ISSUER.match(iss) if isinstance(iss, str) else None
    if match is None:
        raise InvalidToken("issuer is not a Cognito user pool")
    return Issuer(match["region"], match["pool"])


def rsa_sha256_verify(key: RsaKey, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.2)."""
    size = (key.n.bit_length() + 7) // 8
    if key.n.bit_length() < 2048 or len(signature) != size:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    encoded = pow(s, key.e, key.n).to_bytes(size, "big")
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    padding = size - len(digest_info) - 3
    if padding < 8:
        return False
    expected = b"\x00\x01" + b"\xff" * padding + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


def client_of(claims: Mapping[str, Any], token_use: str) -> Any:
    """The app client a Cognito token was issued to: ``aud`` of an ID token, ``client_id`` of
    an access token."""
    return claims.get("aud") if token_use == "id" else claims.get("client_id")  # noqa: S105


def verify(
    token: str,
    *,
    trusted: Callable[[Issuer], bool],
    keys: Callable[[Issuer, str], RsaKey | None],
    app_client: Callable[[Issuer, str], bool],
    now: float,
    expected_use: str = "id",
) -> dict[str, Any]:
    """The token's claims if it is a valid, unexpired ``expected_use`` token of a trusted pool,
    issued to one of our app clients.

    ``trusted(issuer)`` says whether the pool is one of ours; ``keys(issuer, kid)`` returns
    that pool's signing key (or None); ``app_client(issuer, client_id)`` whether the client is
    one of ours. The issuer is checked *before* any key is fetched and the client only once
    the signature holds, so a forged token never makes us look anything up.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWS compact token")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("undecodable token") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("header and claims must be objects")
    # Only RS256: "none", HS256 (key confusion) and everything else are refused outright.
    if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
        raise InvalidToken("unsupported algorithm or missing key id")
    issuer = parse_issuer(claims.get("iss"))
    if not trusted(issuer):
        raise InvalidToken("issuer is not one of our user pools")
    key = keys(issuer, header["kid"])
    if key is None:
        raise InvalidToken("unknown signing key")
    if not rsa_sha256_verify(key, f"{parts[0]}.{parts[1]}".encode(), signature):
        raise InvalidToken("bad signature")
    if claims.get("token_use") != expected_use:
        raise InvalidToken(f"not an {expected_use} token")
    exp, iat = claims.get("exp"), claims.get("iat", 0)
    if not isinstance(exp, int | float) or exp <= now:
        raise InvalidToken("expired")
    if not isinstance(iat, int | float) or iat > now + CLOCK_SKEW_SECONDS:
        raise InvalidToken("issued in the future")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("no subject")
    client_id = client_of(claims, expected_use)
    if not isinstance(client_id, str) or not app_client(issuer, client_id):
        raise InvalidToken("not issued to one of our app clients")
    return claims
