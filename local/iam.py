"""A function's own IAM identity policy, enforced on the AWS calls it makes on this machine.

moto 5.2.5's own IAM enforcement evaluates every service but S3, SQS, IAM and STS against
resource ``*`` and ignores conditions, so a least-privilege policy cannot be checked with it.
This module checks calls itself, in the process that runs a handler:

- `PolicyEvaluator` decides a request (action, resource ARNs, condition context) with IAM's
  identity-policy rules: an explicit Deny wins, otherwise an Allow must match every resource.
- `request_of` says what AWS would authorize for one boto3 operation: the action, the resource
  ARNs, the condition keys the request carries, and the further authorizations the same call
  needs (KMS on the caller's behalf when S3, SNS, SQS or Secrets Manager use a CMK; the source
  of a copy). Operations it does not know are refused, never waved through.
- `enforce` makes every botocore client in the process (created before or after, including
  Powertools' parameter providers) check each API call, presigned URL and RDS auth token, and
  raise ``ClientError`` ``AccessDenied`` (HTTP 403) with AWS's message.

Conditions: the operators ``String*``, ``Arn*``, ``Bool`` and ``Null`` (with ``IfExists`` and
``ForAllValues:``/``ForAnyValue:``) are evaluated on the keys in `MODELLED_CONDITION_KEYS`,
whose presence `request_of` knows for every call: ``aws:RequestedRegion``,
``aws:SecureTransport`` (always true: the SDK reaches AWS over TLS only), ``aws:PrincipalAccount``,
``s3:prefix`` (list calls), ``kms:ViaService`` and ``kms:CallerAccount`` (KMS authorizations).
Any other operator or key is NOT modelled: the condition is taken as satisfied and named in
`Decision.unmodelled` (``strict=True`` takes the refusing reading instead).

Also NOT modelled: resource-based policies (bucket, topic, queue and secret policies, Lambda
permissions), KMS key policies and grants, SCPs and RCPs, permission boundaries, session
policies, cross-account access, policy variables (``${aws:username}`` is matched literally),
S3's 403-instead-of-404 for a missing key when the caller lacks ``s3:ListBucket``, and a
per-request ``SSEKMSKeyId`` (the bucket's key from ``encryption_keys`` is used). Differences in
timing and form: a presigned URL is checked when it is signed (AWS checks the signer's
permissions when the URL is used); ``generate_db_auth_token`` is refused when signed (AWS
always signs, then the connection fails with "PAM authentication failed"); the error code is
``AccessDenied`` for every service (AWS says ``AuthorizationError`` for SNS and
``AccessDeniedException`` for JSON-protocol services such as Secrets Manager or Cognito).
"""

from __future__ import annotations

import functools
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

PARTITION = "aws"
# `request_of` operation name for RDS IAM authentication, a local signature with no API call.
DB_AUTH_TOKEN_OPERATION = "GenerateDbAuthToken"  # noqa: S105 - an operation name
# Condition keys whose presence request_of knows for every request (absent = absent).
MODELLED_CONDITION_KEYS = frozenset(
    {
        "aws:requestedregion",
        "aws:securetransport",
        "aws:principalaccount",
        "s3:prefix",
        "kms:viaservice",
        "kms:calleraccount",
    }
)
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)


# --- evaluation ------------------------------------------------------------------------------
class Reason(StrEnum):
    ALLOWED = "allowed"
    # Cognito calls made with a user's token, sts:GetCallerIdentity: AWS evaluates no policy.
    NOT_IAM = "not authorized by IAM"
    EXPLICIT_DENY = "explicit deny"
    NO_ALLOW = "no identity-based policy allows"


@dataclass(frozen=True)
class Decision:
    """The answer for one request. ``statements`` are the Sids (``Statement[i]`` without one)
    that allowed each resource, or the Deny that refused; ``resource`` is the refused one;
    ``unmodelled`` names conditions that decided the outcome by assumption."""

    allowed: bool
    action: str
    reason: Reason
    resource: str | None = None
    statements: tuple[str, ...] = ()
    unmodelled: tuple[str, ...] = ()

    def message(self, principal: str) -> str:
        """AWS's wording for a refusal by ``principal`` (an assumed-role ARN)."""
        head = (
            f"User: {principal} is not authorized to perform: {self.action} "
            f"on resource: {self.resource}"
        )
        if self.reason is Reason.EXPLICIT_DENY:
            return f"{head} with an explicit deny in an identity-based policy"
        return f"{head} because no identity-based policy allows the {self.action} action"


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM wildcards: `*` any run of characters (across `:` and `/`), `?` exactly one.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list | tuple) else [value]
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, str | int | float):
            out.append(str(v))
        else:
            raise ValueError(f"{where}: expected strings, got {type(v).__name__} ({v!r})")
    return tuple(out)


# operator → (test(context value, policy value), negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda c, p: c == p, False),
    "StringNotEquals": (lambda c, p: c == p, True),
    "StringEqualsIgnoreCase": (lambda c, p: c.lower() == p.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda c, p: c.lower() == p.lower(), True),
    "StringLike": (lambda c, p: _matches(p, c), False),
    "StringNotLike": (lambda c, p: _matches(p, c), True),
    # IAM's ArnEquals accepts wildcards exactly like ArnLike.
    "ArnEquals": (lambda c, p: _matches(p, c), False),
    "ArnLike": (lambda c, p: _matches(p, c), False),
    "ArnNotEquals": (lambda c, p: _matches(p, c), True),
    "ArnNotLike": (lambda c, p: _matches(p, c), True),
    "Bool": (lambda c, p: c.lower() == p.lower(), False),
}


@dataclass(frozen=True)
class _Condition:
    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # lower-cased: condition keys are case-insensitive
    values: tuple[str, ...]

    def evaluate(self, context: Mapping[str, tuple[str, ...]]) -> bool | None:
        """True/False, or None when this operator or key is not modelled."""
        if self.key not in MODELLED_CONDITION_KEYS:
            return None
        qualifier, _, operator = self.operator.rpartition(":")
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        present = context.get(self.key)
        if base == "Null" and not qualifier and not if_exists:
            return all((present is None) == (v.lower() == "true") for v in self.values)
        if base not in _OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
            return None
        test, negated = _OPERATORS[base]

        def one(value: str) -> bool:
            hit = any(test(value, p) for p in self.values)
            return not hit if negated else hit

        if qualifier == "ForAllValues":
            return all(one(v) for v in present or ())
        if qualifier == "ForAnyValue":
            return any(one(v) for v in present or ())
        if present is None:
            # IAM: a missing key fails a positive test and satisfies a negated one.
            return if_exists or negated
        return any(one(v) for v in present)

    def __str__(self) -> str:
        return f"{self.operator} {self.key}"


@dataclass(frozen=True)
class _Statement:
    sid: str
    deny: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[_Condition, ...]

    def covers(self, action: str, resource: str) -> bool:
        action_hit = any(_matches(p, action, ignore_case=True) for p in self.actions)
        resource_hit = any(_matches(p, resource) for p in self.resources)
        return action_hit != self.not_action and resource_hit != self.not_resource

    def conditions_hold(
        self, context: Mapping[str, tuple[str, ...]], strict: bool
    ) -> tuple[bool, tuple[str, ...]]:
        assumed = []
        for condition in self.conditions:
            outcome = condition.evaluate(context)
            if outcome is None:
                # Strict: read the unknown the refusing way (an Allow fails, a Deny applies).
                if strict and not self.deny:
                    return False, ()
                assumed.append(f"{self.sid}: {condition}")
            elif not outcome:
                return False, ()
        return True, tuple(assumed)


def _parse_statement(index: int, raw: Mapping[str, Any]) -> _Statement:
    sid = str(raw.get("Sid") or f"Statement[{index}]")
    where = f"statement {sid}"
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise ValueError(
            f"{where}: unexpected {sorted(unknown)} (identity policies have no Principal)"
        )
    if raw.get("Effect") not in ("Allow", "Deny"):
        raise ValueError(f"{where}: Effect must be Allow or Deny, got {raw.get('Effect')!r}")
    if ("Action" in raw) == ("NotAction" in raw):
        raise ValueError(f"{where}: exactly one of Action and NotAction is required")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise ValueError(f"{where}: exactly one of Resource and NotResource is required")
    conditions = []
    for operator, keys in (raw.get("Condition") or {}).items():
        if not isinstance(keys, Mapping):
            raise ValueError(f"{where}: Condition {operator} must map keys to values")
        for key, values in keys.items():
            conditions.append(
                _Condition(operator, key.lower(), _strings(values, f"{where} {operator}"))
            )
    action_key = "Action" if "Action" in raw else "NotAction"
    resource_key = "Resource" if "Resource" in raw else "NotResource"
    return _Statement(
        sid=sid,
        deny=raw["Effect"] == "Deny",
        actions=_strings(raw[action_key], f"{where} {action_key}"),
        not_action=action_key == "NotAction",
        resources=_strings(raw[resource_key], f"{where} {resource_key}"),
        not_resource=resource_key == "NotResource",
        conditions=tuple(conditions),
    )


def _context(raw: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {k.lower(): _strings(v, f"context key {k}") for k, v in (raw or {}).items()}


class PolicyEvaluator:
    """IAM identity-policy evaluation over ``statements`` (each a policy statement dict).

    ``decide`` refuses a request when a Deny covers any of its resources (action, resource and
    conditions match), or when some resource is covered by no Allow. Actions match
    case-insensitively, resources case-sensitively, both with ``*``/``?`` wildcards.
    Statements are validated up front (a ``ValueError`` names the bad one)."""

    def __init__(self, statements: Sequence[Mapping[str, Any]], *, strict: bool = False):
        self._statements = tuple(_parse_statement(i, s) for i, s in enumerate(statements))
        self.strict = strict

    def decide(
        self,
        action: str,
        resources: Sequence[str],
        context: Mapping[str, str | Sequence[str]] | None = None,
    ) -> Decision:
        if isinstance(resources, str) or not resources:
            raise ValueError("resources: a non-empty list of ARNs ('*' where AWS has none)")
        ctx = _context(context)
        allowed_by: list[str] = []
        assumed: list[str] = []
        for resource in resources:
            for st in self._statements:
                if st.deny and st.covers(action, resource):
                    holds, notes = st.conditions_hold(ctx, self.strict)
                    if holds:
                        return Decision(
                            False, action, Reason.EXPLICIT_DENY, resource, (st.sid,), notes
                        )
            for st in self._statements:
                if not st.deny and st.covers(action, resource):
                    holds, notes = st.conditions_hold(ctx, self.strict)
                    if holds:
                        allowed_by.append(st.sid)
                        assumed.extend(notes)
                        break
            else:
                return Decision(False, action, Reason.NO_ALLOW, resource)
        return Decision(
            True,
            action,
            Reason.ALLOWED,
            None,
            tuple(dict.fromkeys(allowed_by)),
            tuple(dict.fromkeys(assumed)),
        )

    def decide_request(self, request: Request) -> Decision:
        """The first refusal among the request and what it also needs, else its allowance."""
        if request.public:
            return Decision(True, request.action, Reason.NOT_IAM)
        first = self.decide(request.action, request.resources, request.context)
        if not first.allowed:
            return first
        for extra in request.also:
            decision = self.decide_request(extra)
            if not decision.allowed:
                return decision
        return first


# --- requests --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """What AWS authorizes for one call. ``also``: further authorizations the same call needs
    (KMS on the caller's behalf, the source object of a copy, versioned deletes). ``public``:
    AWS authorizes the operation without IAM (Cognito calls made with a user's token,
    ``sts:GetCallerIdentity``)."""

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, str] = field(default_factory=dict)
    also: tuple[Request, ...] = ()
    public: bool = False


class NotModelled(LookupError):
    """``request_of`` cannot say what AWS would authorize for this call."""

    def __init__(self, action: str, detail: str, resource: str = "unknown") -> None:
        super().__init__(f"{action}: local.iam does not model {detail}")
        self.action = action
        self.detail = detail
        self.resource = resource


@dataclass(frozen=True)
class _Call:
    service: str
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    resolve_secret: Callable[[str], str | None] | None
    db_resource_ids: Mapping[str, str]
    encryption_keys: Mapping[str, str]

    def param(self, name: str) -> Any:
        value = self.params.get(name)
        if value in (None, ""):
            raise NotModelled(
                f"{self.service}:{self.operation}",
                f"{self.service}.{self.operation} without {name}",
            )
        return value

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        return f"arn:{PARTITION}:{service}:{region or self.region}:{self.account}:{resource}"

    def via(
        self, service: str, region: str, resource_arn: str, *actions: str
    ) -> tuple[Request, ...]:
        """KMS authorizations that ``service`` makes with the caller's credentials when the
        resource is encrypted with a customer managed key."""
        key = self.encryption_keys.get(resource_arn)
        if key is None:
            return ()
        context = {
            "kms:ViaService": f"{service}.{region}.amazonaws.com",
            "kms:CallerAccount": self.account,
            "aws:RequestedRegion": region,
        }
        return tuple(Request(f"kms:{a}", (key,), context) for a in actions)


def _region_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else default


# SNS ------------------------------------------------------------------------------------------
def _sns_publish(call: _Call) -> Request:
    if call.params.get("TopicArn"):
        topic = call.params["TopicArn"]
        region = _region_of(topic, call.region)
        also = call.via("sns", region, topic, "GenerateDataKey", "Decrypt")
        return Request("sns:Publish", (topic,), also=also)
    if call.params.get("TargetArn"):
        return Request("sns:Publish", (call.params["TargetArn"],))
    if call.params.get("PhoneNumber"):
        # SMS to a phone number has no resource ARN.
        return Request("sns:Publish", ("*",))
    return Request("sns:Publish", (call.param("TopicArn"),))


def _sns_on(param: str, action: str | None = None) -> Callable[[_Call], Request]:
    def build(call: _Call) -> Request:
        return Request(f"sns:{action or call.operation}", (call.param(param),))

    return build


# SQS ------------------------------------------------------------------------------------------
def _queue_arn(call: _Call) -> tuple[str, str]:
    url = call.param("QueueUrl")
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 2:
        raise NotModelled(f"sqs:{call.operation}", f"the queue URL {url!r}")
    account, name = segments
    host = re.fullmatch(r"sqs\.([a-z0-9-]+)\.amazonaws\.com", parts.hostname or "")
    # A local emulator's URL has no region in its host: the client's region is the queue's.
    region = host.group(1) if host else call.region
    return f"arn:{PARTITION}:sqs:{region}:{account}:{name}", region


def _sqs(action: str, *kms: str) -> Callable[[_Call], Request]:
    def build(call: _Call) -> Request:
        arn, region = _queue_arn(call)
        also = call.via("sqs", region, arn, *kms)
        return Request(f"sqs:{action}", (arn,), also=also)

    return build


def _sqs_get_queue_url(call: _Call) -> Request:
    account = call.params.get("QueueOwnerAWSAccountId") or call.account
    arn = f"arn:{PARTITION}:sqs:{call.region}:{account}:{call.param('QueueName')}"
    return Request("sqs:GetQueueUrl", (arn,))


# S3 -------------------------------------------------------------------------------------------
def _object_arn(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def _bucket_arn(bucket: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}"


def _s3_put(call: _Call) -> Request:
    bucket = call.param("Bucket")
    also = call.via("s3", call.region, _bucket_arn(bucket), "GenerateDataKey")
    return Request("s3:PutObject", (_object_arn(bucket, call.param("Key")),), also=also)


def _s3_read(decrypt: bool) -> Callable[[_Call], Request]:
    def build(call: _Call) -> Request:
        bucket = call.param("Bucket")
        action = "s3:GetObjectVersion" if call.params.get("VersionId") else "s3:GetObject"
        # HEAD reads metadata only; S3 asks KMS to decrypt for a GET of the body.
        also = call.via("s3", call.region, _bucket_arn(bucket), "Decrypt") if decrypt else ()
        return Request(action, (_object_arn(bucket, call.param("Key")),), also=also)

    return build


def _s3_delete(call: _Call) -> Request:
    action = "s3:DeleteObjectVersion" if call.params.get("VersionId") else "s3:DeleteObject"
    return Request(action, (_object_arn(call.param("Bucket"), call.param("Key")),))


def _s3_delete_objects(call: _Call) -> Request:
    bucket = call.param("Bucket")
    by_action: dict[str, list[str]] = {}
    for item in (call.param("Delete") or {}).get("Objects", []):
        action = "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject"
        by_action.setdefault(action, []).append(_object_arn(bucket, item["Key"]))
    if not by_action:
        raise NotModelled("s3:DeleteObject", "s3.DeleteObjects without Objects")
    (action, arns), *rest = by_action.items()
    return Request(action, tuple(arns), also=tuple(Request(a, tuple(r)) for a, r in rest))


def _s3_list(action: str) -> Callable[[_Call], Request]:
    def build(call: _Call) -> Request:
        context = {"s3:prefix": call.params["Prefix"]} if "Prefix" in call.params else {}
        return Request(action, (_bucket_arn(call.param("Bucket")),), context)

    return build


def _s3_copy(call: _Call) -> Request:
    source = call.param("CopySource")
    if isinstance(source, Mapping):
        bucket, key, version = source["Bucket"], source["Key"], source.get("VersionId")
    else:
        path, _, query = str(source).partition("?")
        bucket, _, key = unquote(path).lstrip("/").partition("/")
        version = query.removeprefix("versionId=") if query.startswith("versionId=") else None
    read = Request(
        "s3:GetObjectVersion" if version else "s3:GetObject",
        (_object_arn(bucket, key),),
        also=call.via("s3", call.region, _bucket_arn(bucket), "Decrypt"),
    )
    write = _s3_put(call)
    return Request(write.action, write.resources, also=(*write.also, read))


# Secrets Manager ------------------------------------------------------------------------------
def _secret_arn(call: _Call) -> str:
    secret_id = str(call.param("SecretId"))
    if secret_id.startswith("arn:"):
        return secret_id
    resolved = call.resolve_secret(secret_id) if call.resolve_secret else None
    # Unresolved (unknown secret): AWS evaluates the name's ARN without the random suffix.
    return resolved or call.arn("secretsmanager", f"secret:{secret_id}")


def _secret(action: str, *kms: str) -> Callable[[_Call], Request]:
    def build(call: _Call) -> Request:
        arn = _secret_arn(call)
        region = _region_of(arn, call.region)
        also = call.via("secretsmanager", region, arn, *kms)
        return Request(f"secretsmanager:{action}", (arn,), also=also)

    return build


# KMS (direct calls) ---------------------------------------------------------------------------
def _kms(call: _Call) -> Request:
    key_id = str(call.param("KeyId"))
    if key_id.startswith("alias/") or ":alias/" in key_id:
        raise NotModelled(f"kms:{call.operation}", f"the KMS alias {key_id!r} (pass the key ARN)")
    arn = key_id if key_id.startswith("arn:") else call.arn("kms", f"key/{key_id}")
    return Request(f"kms:{call.operation}", (arn,), {"kms:CallerAccount": call.account})


# Cognito --------------------------------------------------------------------------------------
def _user_pool(call: _Call) -> Request:
    pool_id = str(call.param("UserPoolId"))
    # Pool ids start with their region ("eu-west-1_AbC"), whichever client sends the call.
    region = pool_id.split("_", 1)[0] if "_" in pool_id else call.region
    arn = call.arn("cognito-idp", f"userpool/{pool_id}", region=region)
    return Request(f"cognito-idp:{call.operation}", (arn,))


def _public(call: _Call) -> Request:
    return Request(f"{call.service}:{call.operation}", (), public=True)


# Lambda ---------------------------------------------------------------------------------------
def _lambda_invoke(call: _Call) -> Request:
    name = str(call.param("FunctionName"))
    parts = name.split(":")
    region, account = call.region, call.account
    if name.startswith("arn:") and len(parts) >= 7:
        region, account, function, qualifier = parts[3], parts[4], parts[6], parts[7:]
    elif len(parts) >= 3 and parts[1] == "function":
        account, function, qualifier = parts[0], parts[2], parts[3:]
    else:
        function, qualifier = parts[0], parts[1:]
    version = (qualifier[0] if qualifier else None) or call.params.get("Qualifier")
    arn = f"arn:{PARTITION}:lambda:{region}:{account}:function:{function}"
    # IAM treats `function:f` and `function:f:alias` as different resources.
    return Request("lambda:InvokeFunction", (f"{arn}:{version}" if version else arn,))


# RDS IAM authentication -----------------------------------------------------------------------
def _db_connect(call: _Call) -> Request:
    host = str(call.param("DBHostname"))
    user = call.param("DBUsername")
    region = call.params.get("Region") or call.region
    resource_id = call.db_resource_ids.get(host)
    if resource_id is None:
        raise NotModelled(
            "rds-db:connect", f"the resource id of database host {host!r} (see db_resource_ids)"
        )
    arn = f"arn:{PARTITION}:rds-db:{region}:{call.account}:dbuser:{resource_id}/{user}"
    # The token is signed for, and presented in, `region`.
    return Request("rds-db:connect", (arn,), {"aws:RequestedRegion": region})


_USER_POOL_OPERATIONS = (
    "AdminAddUserToGroup",
    "AdminCreateUser",
    "AdminDeleteUser",
    "AdminDeleteUserAttributes",
    "AdminDisableUser",
    "AdminEnableUser",
    "AdminGetUser",
    "AdminInitiateAuth",
    "AdminListGroupsForUser",
    "AdminRespondToAuthChallenge",
    "AdminSetUserPassword",
    "AdminUpdateUserAttributes",
    "AdminUserGlobalSignOut",
    "DescribeUserPool",
    "DescribeUserPoolClient",
    "ListGroups",
    "ListUserPoolClients",
    "ListUsers",
)
# Authorized by the user's token or by nothing; AWS evaluates no IAM policy for them.
_COGNITO_PUBLIC = (
    "AssociateSoftwareToken",
    "ChangePassword",
    "ConfirmForgotPassword",
    "ConfirmSignUp",
    "DeleteUser",
    "DeleteUserAttributes",
    "ForgotPassword",
    "GetTokensFromRefreshToken",
    "GetUser",
    "GetUserAttributeVerificationCode",
    "GlobalSignOut",
    "InitiateAuth",
    "ResendConfirmationCode",
    "RespondToAuthChallenge",
    "RevokeToken",
    "SetUserMFAPreference",
    "SignUp",
    "UpdateUserAttributes",
    "VerifySoftwareToken",
    "VerifyUserAttribute",
)

_RULES: dict[str, dict[str, Callable[[_Call], Request]]] = {
    "sns": {
        "Publish": _sns_publish,
        "PublishBatch": _sns_on("TopicArn", "Publish"),
        "CreatePlatformEndpoint": _sns_on("PlatformApplicationArn"),
        "ListEndpointsByPlatformApplication": _sns_on("PlatformApplicationArn"),
        "GetEndpointAttributes": _sns_on("EndpointArn"),
        "SetEndpointAttributes": _sns_on("EndpointArn"),
        "DeleteEndpoint": _sns_on("EndpointArn"),
        "GetTopicAttributes": _sns_on("TopicArn"),
    },
    "sqs": {
        "ReceiveMessage": _sqs("ReceiveMessage", "Decrypt"),
        "DeleteMessage": _sqs("DeleteMessage"),
        "DeleteMessageBatch": _sqs("DeleteMessage"),
        "ChangeMessageVisibility": _sqs("ChangeMessageVisibility"),
        "ChangeMessageVisibilityBatch": _sqs("ChangeMessageVisibility"),
        "GetQueueAttributes": _sqs("GetQueueAttributes"),
        "SendMessage": _sqs("SendMessage", "GenerateDataKey", "Decrypt"),
        "SendMessageBatch": _sqs("SendMessage", "GenerateDataKey", "Decrypt"),
        "PurgeQueue": _sqs("PurgeQueue"),
        "GetQueueUrl": _sqs_get_queue_url,
    },
    "s3": {
        "PutObject": _s3_put,
        "GetObject": _s3_read(decrypt=True),
        "HeadObject": _s3_read(decrypt=False),
        "DeleteObject": _s3_delete,
        "DeleteObjects": _s3_delete_objects,
        "CopyObject": _s3_copy,
        "ListObjects": _s3_list("s3:ListBucket"),
        "ListObjectsV2": _s3_list("s3:ListBucket"),
        "HeadBucket": _s3_list("s3:ListBucket"),
        "ListObjectVersions": _s3_list("s3:ListBucketVersions"),
    },
    "secretsmanager": {
        "GetSecretValue": _secret("GetSecretValue", "Decrypt"),
        "DescribeSecret": _secret("DescribeSecret"),
        "PutSecretValue": _secret("PutSecretValue", "GenerateDataKey"),
        "UpdateSecretVersionStage": _secret("UpdateSecretVersionStage"),
        "ListSecretVersionIds": _secret("ListSecretVersionIds"),
        "RotateSecret": _secret("RotateSecret"),
        # GetRandomPassword acts on no resource.
        "GetRandomPassword": lambda call: Request("secretsmanager:GetRandomPassword", ("*",)),
    },
    "kms": {op: _kms for op in ("Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey")},
    "cognito-idp": {
        **dict.fromkeys(_USER_POOL_OPERATIONS, _user_pool),
        **dict.fromkeys(_COGNITO_PUBLIC, _public),
        # ListUserPools has no resource-level permissions.
        "ListUserPools": lambda call: Request("cognito-idp:ListUserPools", ("*",)),
    },
    "lambda": {"Invoke": _lambda_invoke},
    "rds": {DB_AUTH_TOKEN_OPERATION: _db_connect},
    # GetCallerIdentity needs no permission.
    "sts": {"GetCallerIdentity": _public},
}


def _with_base_context(request: Request, call: _Call) -> Request:
    # The request goes to the client's regional endpoint, whatever region its ARNs name.
    base = {
        "aws:RequestedRegion": call.region,
        "aws:SecureTransport": "true",
        "aws:PrincipalAccount": call.account,
    }
    return Request(
        request.action,
        request.resources,
        {**base, **request.context},
        tuple(_with_base_context(r, call) for r in request.also),
        request.public,
    )


def request_of(
    service: Any,
    operation: str,
    params: Mapping[str, Any],
    *,
    region: str,
    account: str,
    resolve_secret: Callable[[str], str | None] | None = None,
    db_resource_ids: Mapping[str, str] | None = None,
    encryption_keys: Mapping[str, str] | None = None,
) -> Request:
    """What AWS authorizes for ``operation`` (API name, e.g. ``Publish``) of ``service`` (a
    botocore client or its service name, e.g. ``"cognito-idp"``) called with ``params``.

    ``resolve_secret(name) -> ARN | None`` turns a secret name into its full ARN;
    ``db_resource_ids`` maps a database host to the resource id in ``rds-db:connect`` ARNs
    (a cluster's ``cluster-…`` or an RDS Proxy's ``prx-…``); ``encryption_keys`` maps the ARN
    of a CMK-encrypted bucket, topic, queue or secret to its key ARN. Raises `NotModelled`
    for an operation or a parameter shape it does not know."""
    name = service if isinstance(service, str) else service.meta.service_model.service_name
    rule = _RULES.get(name, {}).get(operation)
    if rule is None:
        raise NotModelled(
            f"{name}:{operation}", f"{name}.{operation}: no rule derives its action and resources"
        )
    call = _Call(
        name,
        operation,
        params,
        region,
        account,
        resolve_secret,
        db_resource_ids or {},
        encryption_keys or {},
    )
    return _with_base_context(rule(call), call)


# --- installation ----------------------------------------------------------------------------
_local = threading.local()
_exempt: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_active: Enforcement | None = None
_PRESIGN_FUNCTIONS = (
    "generate_presigned_url",
    "generate_presigned_post",
    "generate_db_auth_token",
    "generate_db_connect_auth_token",
    "generate_db_connect_admin_auth_token",
)


@contextmanager
def unchecked() -> Iterator[None]:
    """Calls made by this thread inside the block are not checked (the harness's own work)."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


def exempt(client: Any) -> Any:
    """Never check ``client`` (a harness client in the function's process); returns it."""
    _exempt.add(client)
    return client


def _access_denied(operation: str, message: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": "AccessDenied", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        operation,
    )


class Enforcement:
    """An installed check (see `enforce`); ``uninstall()`` or use it as a context manager."""

    def __init__(
        self,
        evaluator: PolicyEvaluator,
        *,
        region: str,
        account: str,
        principal: str,
        resolve_secret: Callable[[str], str | None] | None,
        db_resource_ids: Mapping[str, str],
        encryption_keys: Mapping[str, str],
        audit: Callable[[Request, Decision], None] | None,
    ) -> None:
        self.evaluator = evaluator
        self.region = region
        self.account = account
        self.principal = principal
        self._resolve_secret = resolve_secret
        self._db_resource_ids = dict(db_resource_ids)
        self._encryption_keys = dict(encryption_keys)
        self._audit = audit
        self._restore: list[Callable[[], None]] = []

    def check(self, client: Any, operation: str, params: Mapping[str, Any]) -> None:
        """Raise ``ClientError`` AccessDenied unless the policy allows this call."""
        if getattr(_local, "depth", 0) or client in _exempt:
            return
        region = client.meta.region_name or self.region
        try:
            request = request_of(
                client,
                operation,
                params,
                region=region,
                account=self.account,
                resolve_secret=self._resolve_secret or _describe_secret_with(client),
                db_resource_ids=self._db_resource_ids,
                encryption_keys=self._encryption_keys,
            )
        except NotModelled as exc:
            raise _access_denied(
                operation,
                f"User: {self.principal} is not authorized to perform: {exc.action} on "
                f"resource: {exc.resource} because local.iam does not model {exc.detail}",
            ) from None
        decision = self.evaluator.decide_request(request)
        if self._audit is not None:
            self._audit(request, decision)
        if not decision.allowed:
            raise _access_denied(operation, decision.message(self.principal))

    def uninstall(self) -> None:
        global _active
        with _lock:
            if _active is not self:
                return
            for restore in reversed(self._restore):
                restore()
            self._restore.clear()
            _active = None

    def __enter__(self) -> Enforcement:
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


def _describe_secret_with(client: Any) -> Callable[[str], str | None]:
    def resolve(name: str) -> str | None:
        from botocore.exceptions import ClientError

        with unchecked():
            try:
                return str(client.describe_secret(SecretId=name)["ARN"])
            except ClientError:
                return None

    return resolve


def _checking(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` (a client method) preceded by the active enforcement's check."""

    def checked_make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        if _active is not None:
            _active.check(self, operation_name, api_params)
        return original(self, operation_name, api_params)

    def checked_presigned_url(
        self: Any, ClientMethod: str, Params: Any = None, ExpiresIn: int = 3600, HttpMethod=None
    ) -> Any:
        operation = self._PY_TO_OP_NAME.get(ClientMethod)
        if _active is not None and operation is not None:
            _active.check(self, operation, Params or {})
        return original(self, ClientMethod, Params, ExpiresIn, HttpMethod)

    def checked_presigned_post(self: Any, Bucket: str, Key: str, *args: Any, **kw: Any) -> Any:
        if _active is not None:
            # The uploader picks ${filename}: every key it could pick must be allowed, which
            # only a pattern covering the literal `*` does.
            key = Key.replace("${filename}", "*")
            _active.check(self, "PutObject", {"Bucket": Bucket, "Key": key})
        return original(self, Bucket, Key, *args, **kw)

    def checked_db_auth_token(
        self: Any, DBHostname: str, Port: int, DBUsername: str, Region: str | None = None
    ) -> Any:
        if _active is not None:
            params = {"DBHostname": DBHostname, "DBUsername": DBUsername, "Region": Region}
            _active.check(self, DB_AUTH_TOKEN_OPERATION, params)
        return original(self, DBHostname, Port, DBUsername, Region)

    def checked_dsql_token(self: Any, *args: Any, **kw: Any) -> Any:
        if _active is not None:
            _active.check(self, name, {})
        return original(self, *args, **kw)

    wrappers = {
        "_make_api_call": checked_make_api_call,
        "generate_presigned_url": checked_presigned_url,
        "generate_presigned_post": checked_presigned_post,
        "generate_db_auth_token": checked_db_auth_token,
    }
    wrapper = wrappers.get(name, checked_dsql_token)
    functools.update_wrapper(wrapper, original)
    return wrapper


def _client_classes() -> Iterator[type]:
    from botocore.client import BaseClient

    seen: set[type] = set()
    pending = list(BaseClient.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls not in seen:
            seen.add(cls)
            pending.extend(cls.__subclasses__())
            yield cls


def _patch(owner: Any, name: str, restore: list[Callable[[], None]]) -> None:
    original = getattr(owner, name)
    if getattr(original, "_local_iam_check", False):
        # A class created during an earlier installation: its wrapper follows `_active`.
        return
    wrapper = _checking(name, original)
    wrapper._local_iam_check = True  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)
    restore.append(lambda: setattr(owner, name, original))


def enforce(
    evaluator: PolicyEvaluator,
    *,
    region: str,
    account: str,
    role_name: str = "local-function-role",
    function_name: str = "local-function",
    resolve_secret: Callable[[str], str | None] | None = None,
    db_resource_ids: Mapping[str, str] | None = None,
    encryption_keys: Mapping[str, str] | None = None,
    audit: Callable[[Request, Decision], None] | None = None,
) -> Enforcement:
    """Check every AWS call of this process against ``evaluator`` until uninstalled.

    Wraps ``BaseClient._make_api_call`` (every client, whenever created, resolves it at call
    time) and the signing helpers botocore attaches to each client class
    (``generate_presigned_url``/``_post``, ``generate_db_auth_token``, DSQL tokens): on the
    classes already created and, through ``botocore.signers``, on those created later.
    ``region`` is used for clients without one; the principal in messages is
    ``assumed-role/<role_name>/<function_name>`` as in Lambda. Secret names are resolved
    with an unchecked DescribeSecret on the calling client unless ``resolve_secret`` is
    given; see `request_of` for the other arguments. One enforcement per process."""
    global _active
    import botocore.client
    import botocore.signers

    enforcement = Enforcement(
        evaluator,
        region=region,
        account=account,
        principal=f"arn:{PARTITION}:sts::{account}:assumed-role/{role_name}/{function_name}",
        resolve_secret=resolve_secret,
        db_resource_ids=db_resource_ids or {},
        encryption_keys=encryption_keys or {},
        audit=audit,
    )
    with _lock:
        if _active is not None:
            raise RuntimeError("an IAM enforcement is already installed in this process")
        restore = enforcement._restore
        _patch(botocore.client.BaseClient, "_make_api_call", restore)
        for name in _PRESIGN_FUNCTIONS:
            if hasattr(botocore.signers, name):
                _patch(botocore.signers, name, restore)
            for cls in _client_classes():
                if name in cls.__dict__:
                    _patch(cls, name, restore)
        _active = enforcement
    return enforcement
