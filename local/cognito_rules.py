"""Attribute rules of a Cognito user pool that moto does not enforce, patched into moto.

A deployed pool refuses what its own configuration forbids: an app client writes only the
attributes in its ``WriteAttributes`` (``SignUp``, ``UpdateUserAttributes``), and an immutable
attribute (``Mutable: false`` in the pool schema, and ``sub``) is set only when the user is
created (``SignUp``, ``AdminCreateUser``, the migration trigger) and never changed afterwards,
by the user or an administrator. moto 5.2.5 stores ``Mutable`` and ``WriteAttributes`` but
checks neither, so locally a fresh user could give itself another user's ``custom:uid``
(backend/user_ids.py) and read that user's data. `enforce_pool_rules` patches moto's Cognito
backend (in the process that runs moto: in-process ``mock_aws`` or ``ThreadedMotoServer``) to
refuse these writes as Cognito does, from each pool's schema and each client's
``WriteAttributes`` as created, so a pool built from the synthesized stack behaves like the
deployed one without naming any attribute here.

Errors: a client writing an attribute outside its ``WriteAttributes`` → NotAuthorizedException
"A client attempted to write unauthorized attribute"; a change of an immutable attribute →
InvalidParameterException "user.<name>: Attribute cannot be updated." (Cognito's wording; it
refuses even when the user never had a value).

NOT modelled: read attributes (``ReadAttributes`` filtering of GetUser and tokens), attributes
missing from the schema, attribute value constraints (length, type), developer-only
(``dev:``) attributes, ``userAttributes.*`` in the NEW_PASSWORD_REQUIRED answer (moto ignores
them), federated sign-in attribute mapping, and ``attributes_require_verification_before_update``.
A client created without ``WriteAttributes`` may write the standard attributes (AWS API
reference for ``WriteAttributes``) but no custom one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

UNAUTHORIZED_WRITE = "A client attempted to write unauthorized attribute"
_installed: PoolRules | None = None


def _standard_schema() -> Mapping[str, Mapping[str, Any]]:
    from moto.cognitoidp.models import CognitoIdpUserPoolAttribute

    return CognitoIdpUserPoolAttribute.STANDARD_SCHEMA


def writable_by_client(client: Any) -> frozenset[str]:
    """Attributes the moto app client ``client`` may write with a user's token or at sign-up."""
    declared = client.extended_config.get("WriteAttributes")
    if declared:
        return frozenset(declared)
    return frozenset(name for name in _standard_schema() if name != "sub")


def is_mutable(pool: Any, name: str) -> bool:
    """The pool schema's ``Mutable``; moto keeps only the custom attributes in a pool's schema
    when any are declared, so standard ones fall back to Cognito's defaults."""
    attribute = pool.schema_attributes.get(name)
    if attribute is not None:
        return bool(attribute.mutable)
    return bool(_standard_schema().get(name, {}).get("Mutable", True))


def _names(attributes: Iterable[Any]) -> list[str]:
    return [a if isinstance(a, str) else a["Name"] for a in attributes or ()]


def check_client_write(client: Any, attributes: Iterable[Any]) -> None:
    from moto.cognitoidp.exceptions import NotAuthorizedError

    allowed = writable_by_client(client)
    if any(name not in allowed for name in _names(attributes)):
        raise NotAuthorizedError(UNAUTHORIZED_WRITE)


def check_unchanged_immutables(pool: Any, attributes: Iterable[Any]) -> None:
    from moto.cognitoidp.exceptions import InvalidParameterException

    for name in _names(attributes):
        if not is_mutable(pool, name):
            raise InvalidParameterException(f"user.{name}: Attribute cannot be updated.")


def _pool_of_client(backend: Any, client_id: str) -> tuple[Any, Any] | None:
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool, pool.clients[client_id]
    return None


def _pool_of_token(backend: Any, access_token: str) -> tuple[Any, Any] | None:
    for pool in backend.user_pools.values():
        if access_token in pool.access_tokens:
            client_id, _ = pool.access_tokens[access_token]
            return pool, pool.clients.get(client_id)
    return None


class PoolRules:
    """Installed patches (see `enforce_pool_rules`); ``uninstall()`` or a context manager."""

    def __init__(self, restore: list[Callable[[], None]]) -> None:
        self._restore = restore

    def uninstall(self) -> None:
        global _installed
        if _installed is not self:
            return
        for restore in reversed(self._restore):
            restore()
        self._restore.clear()
        _installed = None

    def __enter__(self) -> PoolRules:
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


def enforce_pool_rules() -> PoolRules:
    """Make moto's Cognito refuse attribute writes a deployed pool refuses.

    ``SignUp``: every attribute must be in the client's write attributes (immutable ones may
    be set: the user is being created). ``UpdateUserAttributes`` (access token): the token's
    client must be allowed to write each attribute, and none may be immutable.
    ``AdminUpdateUserAttributes``/``AdminDeleteUserAttributes`` (IAM, no client): none may be
    immutable. ``AdminCreateUser`` is unchanged. moto's other backends in the process (every
    account and region) are covered: the patch is on the backend class. Once per process."""
    global _installed
    from moto.cognitoidp.models import CognitoIdpBackend

    if _installed is not None:
        raise RuntimeError("the Cognito pool rules are already installed in this process")

    originals = {
        name: getattr(CognitoIdpBackend, name)
        for name in (
            "sign_up",
            "update_user_attributes",
            "admin_update_user_attributes",
            "admin_delete_user_attributes",
        )
    }
    sign_up = originals["sign_up"]
    update = originals["update_user_attributes"]
    admin_update = originals["admin_update_user_attributes"]
    admin_delete = originals["admin_delete_user_attributes"]

    def checked_sign_up(
        self: Any, client_id: str, username: str, password: str, attributes: Any
    ) -> Any:
        found = _pool_of_client(self, client_id)
        if found is not None:
            check_client_write(found[1], attributes)
        return sign_up(self, client_id, username, password, attributes)

    def checked_update(self: Any, access_token: str, attributes: Any) -> Any:
        found = _pool_of_token(self, access_token)
        if found is not None:
            pool, client = found
            if client is not None:
                check_client_write(client, attributes)
            check_unchanged_immutables(pool, attributes)
        return update(self, access_token, attributes)

    def checked_admin_update(self: Any, user_pool_id: str, username: str, attributes: Any) -> Any:
        check_unchanged_immutables(self.describe_user_pool(user_pool_id), attributes)
        return admin_update(self, user_pool_id, username, attributes)

    def checked_admin_delete(self: Any, user_pool_id: str, username: str, attributes: Any) -> Any:
        check_unchanged_immutables(self.describe_user_pool(user_pool_id), attributes)
        return admin_delete(self, user_pool_id, username, attributes)

    patched = {
        "sign_up": checked_sign_up,
        "update_user_attributes": checked_update,
        "admin_update_user_attributes": checked_admin_update,
        "admin_delete_user_attributes": checked_admin_delete,
    }
    restore: list[Callable[[], None]] = []
    for name, function in patched.items():
        setattr(CognitoIdpBackend, name, function)
        restore.append(lambda name=name: setattr(CognitoIdpBackend, name, originals[name]))
    _installed = PoolRules(restore)
    return _installed
