"""Find (and for sign-in, authenticate) a user unknown to this region's Cognito pool.

Sources, in order: the peer regions' user pools, the replicated user directory in
PostgreSQL, the legacy endpoint. The trigger runs outside the VPC, so it reaches the directory
through a small in-VPC function (``handlers.user_directory``) that verifies the password next
to the data: `directory_answer` encodes that function's outcome, `remote_directory_source`
decodes it on the trigger's side, and password hashes never leave the VPC.

The first source that knows the user decides: a wrong password there is final (a stale copy
elsewhere must not win). A source that fails (peer region down, legacy timeout, directory
function error) is skipped so one broken dependency does not block sign-in; if nobody found
the user and a source failed, the error says "unavailable" rather than "not found".

Recursion guard: both regions' pools run this trigger, so asking a peer pool to authenticate
an unknown user would invoke the peer's trigger, which would ask us back. Calls to a peer carry
`ClientMetadata={"migration_hop": "1"}` and a trigger that sees it skips the peer pools.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backend.directory import DirectoryUser
from backend.passwords import verify_password
from backend.user_ids import UID_ATTRIBUTE, is_user_id
from contract.environment import PeerPool

HOP_MARKER = "migration_hop"
LEGACY_TIMEOUT_SECONDS = 3
# Attributes copied from a peer pool. `sub` is assigned by the new pool, `*_verified` we set.
COPIED_ATTRIBUTES = (
    "email",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "phone_number",
    "locale",
    "zoneinfo",
    "birthdate",
    "gender",
)

log = logging.getLogger(__name__)


class MigrationRejectedError(Exception):
    """Unknown user or wrong password. One generic message: no user enumeration."""

    def __init__(self) -> None:
        super().__init__("Incorrect username or password")


class MigrationUnavailableError(Exception):
    """Nobody found the user and at least one source could not be asked."""

    def __init__(self) -> None:
        super().__init__("User lookup temporarily unavailable, try again")


class _WrongPasswordError(Exception):
    pass


@dataclass(frozen=True)
class MigratedUser:
    attributes: dict[str, str]
    source: str


# A source returns the user's attributes, None when it does not know the user, and raises
# _WrongPasswordError when it knows the user but the password is wrong.
Source = Callable[[str, str | None], dict[str, str] | None]


def _cognito_attributes(raw: Sequence[dict[str, str]]) -> dict[str, str]:
    values = {a["Name"]: a["Value"] for a in raw}
    copied = {k: v for k, v in values.items() if k in COPIED_ATTRIBUTES or k.startswith("custom:")}
    if "phone_number" in copied and values.get("phone_number_verified") == "true":
        copied["phone_number_verified"] = "true"
    # The user keeps the id they have in the peer region (backend/user_ids.py).
    copied.pop(UID_ATTRIBUTE, None)
    for candidate in (values.get(UID_ATTRIBUTE), values.get("sub")):
        if is_user_id(candidate):
            copied[UID_ATTRIBUTE] = candidate.lower()
            break
    return copied


def _without_identity(attributes: dict[str, str]) -> dict[str, str]:
    """Only a peer pool vouches for a user id; other sources cannot claim one."""
    return {k: v for k, v in attributes.items() if k != UID_ATTRIBUTE}


def peer_pool_source(pool: PeerPool, idp: Any) -> Source:
    def lookup(username: str, password: str | None) -> dict[str, str] | None:
        from botocore.exceptions import ClientError

        try:
            if password is not None:
                idp.admin_initiate_auth(
                    UserPoolId=pool.user_pool_id,
                    ClientId=pool.client_id,
                    AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": username, "PASSWORD": password},
                    ClientMetadata={HOP_MARKER: "1"},
                )
            user = idp.admin_get_user(UserPoolId=pool.user_pool_id, Username=username)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "UserNotFoundException":
                return None
            if code == "NotAuthorizedException":
                raise _WrongPasswordError from None
            raise
        return _cognito_attributes(user.get("UserAttributes", []))

    return lookup


def discover_peer_pools(
    pool_name: str, regions: Sequence[str], client_name: str, idp_for: Callable[[str], Any]
) -> tuple[PeerPool, ...]:
    """This account's pools named ``pool_name`` in ``regions`` with their ``client_name`` app
    client. ListUserPools only lists this account's pools, so a look-alike elsewhere is never
    consulted; a region without one (not deployed yet) is skipped."""
    found: list[PeerPool] = []
    for region in regions:
        idp = idp_for(region)
        pools = idp.list_user_pools(MaxResults=60).get("UserPools", [])
        for pool in (p for p in pools if p["Name"] == pool_name):
            clients = idp.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)
            for app in clients.get("UserPoolClients", []):
                if app["ClientName"] == client_name:
                    found.append(PeerPool(region, pool["Id"], app["ClientId"]))
    return tuple(found)


def directory_source(find: Callable[[str], DirectoryUser | None]) -> Source:
    def lookup(username: str, password: str | None) -> dict[str, str] | None:
        user = find(username)
        if user is None:
            return None
        if password is not None and not verify_password(password, user.password_hash):
            raise _WrongPasswordError
        attributes = {**{k: str(v) for k, v in user.attributes.items()}, "email": user.email}
        return _without_identity(attributes)

    return lookup


# The in-VPC directory function's answer: {"status": one of these, "attributes": {...}}.
FOUND, NOT_FOUND, WRONG_PASSWORD = "found", "not_found", "wrong_password"
MAX_USERNAME_LENGTH = 128  # Cognito's limit for a username
MAX_PASSWORD_LENGTH = 256  # Cognito's limit for a password


class DirectoryUnavailableError(Exception):
    """The directory function failed (database down, timeout): the source is skipped."""


def directory_request(event: Any) -> tuple[str, str | None]:
    """Validate the directory function's input: {"username": str, "password"?: str}."""
    if not isinstance(event, dict):
        raise ValueError("the directory lookup takes a JSON object")
    username, password = event.get("username"), event.get("password")
    if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME_LENGTH:
        raise ValueError(f"username must be a string of 1-{MAX_USERNAME_LENGTH} characters")
    if password is not None and (
        not isinstance(password, str) or not 0 < len(password) <= MAX_PASSWORD_LENGTH
    ):
        raise ValueError(f"password must be a string of 1-{MAX_PASSWORD_LENGTH} characters")
    return username, password


def directory_answer(source: Source, username: str, password: str | None) -> dict[str, Any]:
    """Run a directory lookup and encode its outcome; no exception of ours crosses the wire."""
    try:
        attributes = source(username, password)
    except _WrongPasswordError:
        return {"status": WRONG_PASSWORD}
    if attributes is None:
        return {"status": NOT_FOUND}
    return {"status": FOUND, "attributes": attributes}


def remote_directory_source(invoke: Callable[[dict[str, str]], Any]) -> Source:
    """The directory as the trigger sees it: ``invoke`` sends the request to the in-VPC
    function and returns its decoded answer (see `lambda_invoker`)."""

    def lookup(username: str, password: str | None) -> dict[str, str] | None:
        request = {"username": username}
        if password is not None:
            request["password"] = password
        answer = invoke(request)
        status = answer.get("status") if isinstance(answer, dict) else None
        if status == NOT_FOUND:
            return None
        if status == WRONG_PASSWORD:
            raise _WrongPasswordError
        attributes = answer.get("attributes") if status == FOUND else None
        if not isinstance(attributes, dict) or not attributes.get("email"):
            raise DirectoryUnavailableError("the user directory answered without attributes.email")
        return _without_identity({str(k): str(v) for k, v in attributes.items()})

    return lookup


def lambda_invoker(client: Any, function: str) -> Callable[[dict[str, str]], Any]:
    """Synchronous Lambda invocation of ``function`` (name or alias ARN) with a JSON payload.

    A handler error or timeout comes back as HTTP 200 with ``FunctionError`` set: raise, so
    `migrate` skips the source instead of reading an error document as an answer. The error
    payload is not logged or re-raised (it may quote the request)."""

    def invoke(payload: dict[str, str]) -> Any:
        response = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode(),
        )
        body = response["Payload"].read()
        if response.get("FunctionError"):
            raise DirectoryUnavailableError(f"{function} failed ({response['FunctionError']})")
        return json.loads(body)

    return invoke


def legacy_source(url: str) -> Source:
    """POST {"username", "password"?} -> 200 {"attributes": {...}} | 401/403 | 404."""

    def lookup(username: str, password: str | None) -> dict[str, str] | None:
        payload: dict[str, str] = {"username": username}
        if password is not None:
            payload["password"] = password
        request = urllib.request.Request(  # noqa: S310 - scheme validated in settings
            url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=LEGACY_TIMEOUT_SECONDS) as response:  # noqa: S310
                body = json.loads(response.read(65536))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code in (401, 403):
                raise _WrongPasswordError from None
            raise
        attributes = body.get("attributes") if isinstance(body, dict) else None
        if not isinstance(attributes, dict) or not attributes.get("email"):
            raise ValueError("legacy endpoint answered without attributes.email")
        return _without_identity({str(k): str(v) for k, v in attributes.items()})

    return lookup


def migrate(
    username: str, password: str | None, sources: Sequence[tuple[str, Source]]
) -> MigratedUser:
    """Ask each source in order; `password=None` is the forgot-password flow (lookup only)."""
    failed = False
    for name, source in sources:
        try:
            attributes = source(username, password)
        except _WrongPasswordError:
            raise MigrationRejectedError from None
        except Exception as exc:
            # Log the type only: messages from HTTP/SQL libraries can quote the username.
            log.warning(
                "migration source failed", extra={"source": name, "error": type(exc).__name__}
            )
            failed = True
            continue
        if attributes is not None:
            return MigratedUser(attributes={**attributes, "email_verified": "true"}, source=name)
    if failed:
        raise MigrationUnavailableError
    raise MigrationRejectedError
