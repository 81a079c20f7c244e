"""Rotation of the origin-verify value shared by CloudFront and every regional WAF (R-EDGE-6).

Plain library code (no Lambda types): clients are injected, so tests drive it with moto or
botocore stubs. The invariant every step keeps: **each regional web ACL accepts every value
CloudFront may be sending**. Values are only ever added to the web ACLs before CloudFront
switches, and only removed after CloudFront is fully deployed with the new value:

1. ``createSecret``  new random value stored as AWSPENDING (nothing else changes).
2. ``setSecret``     every web ACL accepts what it accepted plus AWSCURRENT and AWSPENDING;
                     wait for WAF propagation; CloudFront's origin header switches to
                     AWSPENDING; wait until the distribution is Deployed (all edges).
3. ``testSecret``    every web ACL accepts both values; CloudFront is Deployed sending
                     AWSPENDING.
4. ``finishSecret``  AWSCURRENT moves to the new version; then, and only if CloudFront is
                     Deployed sending it, every web ACL is narrowed to the new value alone.

Every step is idempotent: Secrets Manager retries failed steps, and a retried step finds
its work done and moves on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

# The configuration is parsed by the environment schema the stack builds it from.
from contract.environment import RotationConfig, WebAclRef

logger = logging.getLogger(__name__)

PENDING = "AWSPENDING"
CURRENT = "AWSCURRENT"
SCOPE = "REGIONAL"
# Values are letters and digits only: safe in an HTTP header and in a WAF byte match.
VALUE_LENGTH = 64
# Read-modify-write races (a regional `pulumi up` on the web ACL, a console edit of the
# distribution) surface as these errors: read again and retry a few times.
OPTIMISTIC_LOCK_ATTEMPTS = 3
WAF_LOCK_ERROR = "WAFOptimisticLockException"
CLOUDFRONT_LOCK_ERROR = "PreconditionFailed"


class RotationError(Exception):
    """A step cannot proceed safely; Secrets Manager will retry the rotation."""


# --- WAF statements: pure functions over the GetWebACL/UpdateWebACL JSON shapes ---


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def _is_header_match(statement: Mapping[str, Any], header: str) -> bool:
    match = statement.get("ByteMatchStatement")
    if not match:
        return False
    single = match.get("FieldToMatch", {}).get("SingleHeader")
    return bool(single) and single.get("Name", "").lower() == header.lower()


def accepted_values(statement: Mapping[str, Any], header: str) -> set[str]:
    """Every value an exact byte match on ``header`` anywhere in ``statement`` accepts."""
    if _is_header_match(statement, header):
        return {_text(statement["ByteMatchStatement"]["SearchString"])}
    found: set[str] = set()
    for key in ("OrStatement", "AndStatement"):
        for child in statement.get(key, {}).get("Statements", []):
            found |= accepted_values(child, header)
    if "NotStatement" in statement:
        found |= accepted_values(statement["NotStatement"]["Statement"], header)
    return found


def _header_match(template: Mapping[str, Any], value: str) -> dict[str, Any]:
    match = dict(template["ByteMatchStatement"])
    match["SearchString"] = value.encode()
    return {"ByteMatchStatement": match}


def with_accepted_values(
    statement: Mapping[str, Any], header: str, values: Iterable[str]
) -> dict[str, Any]:
    """``statement`` with its header matches replaced by one match per value (an OR when
    there are several), keeping everything else (NOT/AND wrappers, exemptions such as a
    ``/health`` path inside the same OR, text transformations)."""
    ordered = sorted(set(values))
    if not ordered:
        raise ValueError("a web ACL must accept at least one origin-verify value")

    def rewrite(node: Mapping[str, Any]) -> dict[str, Any]:
        if _is_header_match(node, header):
            matches = [_header_match(node, v) for v in ordered]
            return matches[0] if len(matches) == 1 else {"OrStatement": {"Statements": matches}}
        if "OrStatement" in node:
            # The values take the place of the first header match; other branches stay.
            children: list[dict[str, Any]] = []
            placed = False
            for child in node["OrStatement"]["Statements"]:
                if not _is_header_match(child, header):
                    children.append(rewrite(child))
                elif not placed:
                    children += [_header_match(child, v) for v in ordered]
                    placed = True
            if len(children) == 1:
                return children[0]
            return {**node, "OrStatement": {**node["OrStatement"], "Statements": children}}
        if "AndStatement" in node:
            children = [rewrite(c) for c in node["AndStatement"]["Statements"]]
            return {**node, "AndStatement": {**node["AndStatement"], "Statements": children}}
        if "NotStatement" in node:
            inner = rewrite(node["NotStatement"]["Statement"])
            return {**node, "NotStatement": {**node["NotStatement"], "Statement": inner}}
        return dict(node)

    if not accepted_values(statement, header):
        raise RotationError(f"the statement has no exact match on header {header}")
    return rewrite(statement)


# --- AWS adapters ---


def _retry_on_conflict(update: Callable[[], bool], error_code: str) -> bool:
    for attempt in range(1, OPTIMISTIC_LOCK_ATTEMPTS + 1):
        try:
            return update()
        except ClientError as error:
            if error.response["Error"]["Code"] != error_code or attempt == OPTIMISTIC_LOCK_ATTEMPTS:
                raise
            logger.warning("concurrent modification (%s); reading again", error_code)
    raise AssertionError("unreachable")


class WebAcls:
    """The regional web ACLs, found by name (their ids belong to the regional stacks)."""

    def __init__(self, clients: Mapping[str, Any], config: RotationConfig):
        self.clients = clients
        self.config = config

    def _load(self, ref: WebAclRef) -> tuple[dict[str, Any], str]:
        client = self.clients[ref.region]
        kwargs: dict[str, Any] = {"Scope": SCOPE, "Limit": 100}
        while True:
            page = client.list_web_acls(**kwargs)
            for summary in page.get("WebACLs", []):
                if summary["Name"] == ref.name:
                    found = client.get_web_acl(Name=ref.name, Scope=SCOPE, Id=summary["Id"])
                    return found["WebACL"], found["LockToken"]
            if not page.get("NextMarker"):
                break
            kwargs["NextMarker"] = page["NextMarker"]
        raise RotationError(f"web ACL {ref.name} not found in {ref.region}")

    def _rule(self, acl: Mapping[str, Any], ref: WebAclRef) -> Mapping[str, Any]:
        for rule in acl.get("Rules", []):
            if rule["Name"] == self.config.rule_name:
                return rule
        raise RotationError(
            f"web ACL {ref.name} ({ref.region}) has no rule {self.config.rule_name}"
        )

    def accepted(self, ref: WebAclRef) -> set[str]:
        acl, _ = self._load(ref)
        return accepted_values(self._rule(acl, ref)["Statement"], self.config.header_name)

    def set_accepted(self, ref: WebAclRef, values: set[str]) -> bool:
        """Make the rule accept exactly ``values``; False when it already did."""
        return _retry_on_conflict(lambda: self._set_accepted(ref, values), WAF_LOCK_ERROR)

    def _set_accepted(self, ref: WebAclRef, values: set[str]) -> bool:
        acl, lock_token = self._load(ref)
        rule = self._rule(acl, ref)
        if accepted_values(rule["Statement"], self.config.header_name) == set(values):
            return False
        statement = with_accepted_values(rule["Statement"], self.config.header_name, values)
        rules = [
            {**r, "Statement": statement} if r["Name"] == self.config.rule_name else r
            for r in acl["Rules"]
        ]
        client = self.clients[ref.region]
        # UpdateWebACL replaces the whole ACL: carry over every field it accepts.
        accepted_fields = client.meta.service_model.operation_model("UpdateWebACL").input_shape
        passthrough = {
            key: value
            for key, value in acl.items()
            if key in accepted_fields.members and key not in {"Rules", "Name", "Id"}
        }
        client.update_web_acl(
            **passthrough,
            Name=acl["Name"],
            Id=acl["Id"],
            Scope=SCOPE,
            Rules=rules,
            LockToken=lock_token,
        )
        logger.info("web ACL %s (%s) now accepts %d value(s)", ref.name, ref.region, len(values))
        return True


class Distribution:
    """The CloudFront distribution's API origin header."""

    def __init__(self, client: Any, config: RotationConfig):
        self.client = client
        self.config = config

    def _origin(self, distribution_config: Mapping[str, Any]) -> dict[str, Any]:
        for origin in distribution_config["Origins"]["Items"]:
            if origin["Id"] == self.config.origin_id:
                return origin
        raise RotationError(f"distribution has no origin {self.config.origin_id}")

    def sent_value(self) -> str | None:
        config = self.client.get_distribution_config(Id=self.config.distribution_id)
        return self._sent_value_from(self._origin(config["DistributionConfig"]))

    def _sent_value_from(self, origin: Mapping[str, Any]) -> str | None:
        for item in origin.get("CustomHeaders", {}).get("Items") or []:
            if item["HeaderName"].lower() == self.config.header_name.lower():
                return item["HeaderValue"]
        return None

    def send(self, value: str) -> bool:
        """Switch the origin header to ``value``; False when it already was."""
        return _retry_on_conflict(lambda: self._send(value), CLOUDFRONT_LOCK_ERROR)

    def _send(self, value: str) -> bool:
        response = self.client.get_distribution_config(Id=self.config.distribution_id)
        config = response["DistributionConfig"]
        origin = self._origin(config)
        if self._sent_value_from(origin) == value:
            return False
        items = [
            item
            for item in (origin.get("CustomHeaders", {}).get("Items") or [])
            if item["HeaderName"].lower() != self.config.header_name.lower()
        ]
        items.append({"HeaderName": self.config.header_name, "HeaderValue": value})
        origin["CustomHeaders"] = {"Quantity": len(items), "Items": items}
        self.client.update_distribution(
            Id=self.config.distribution_id, IfMatch=response["ETag"], DistributionConfig=config
        )
        logger.info("distribution %s origin header switched", self.config.distribution_id)
        return True

    def is_deployed(self) -> bool:
        response = self.client.get_distribution(Id=self.config.distribution_id)
        return response["Distribution"]["Status"] == "Deployed"


# --- The four steps ---


class Rotator:
    def __init__(
        self,
        secrets: Any,
        web_acls: WebAcls,
        distribution: Distribution,
        config: RotationConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        remaining_seconds: Callable[[], float] = lambda: 600.0,
        poll_seconds: float = 20.0,
    ):
        self.secrets = secrets
        self.web_acls = web_acls
        self.distribution = distribution
        self.config = config
        self.sleep = sleep
        self.remaining_seconds = remaining_seconds
        self.poll_seconds = poll_seconds

    # Secrets Manager calls the function with these step names.
    def run(self, step: str, secret_id: str, token: str) -> None:
        metadata = self.secrets.describe_secret(SecretId=secret_id)
        if not metadata.get("RotationEnabled", False):
            raise RotationError(f"rotation is not enabled for {secret_id}")
        versions = metadata.get("VersionIdsToStages", {})
        if token not in versions:
            raise RotationError(f"version {token} is not a version of {secret_id}")
        stages = versions[token]
        if CURRENT in stages and step != "finishSecret":
            logger.info("version %s is already AWSCURRENT; nothing to do for %s", token, step)
            return
        if CURRENT not in stages and PENDING not in stages:
            raise RotationError(f"version {token} is neither AWSPENDING nor AWSCURRENT")
        steps = {
            "createSecret": self.create_secret,
            "setSecret": self.set_secret,
            "testSecret": self.test_secret,
            "finishSecret": self.finish_secret,
        }
        if step not in steps:
            raise RotationError(f"unknown rotation step {step!r}")
        steps[step](secret_id, token)

    def _value(self, secret_id: str, **version: str) -> str:
        return self.secrets.get_secret_value(SecretId=secret_id, **version)["SecretString"]

    def create_secret(self, secret_id: str, token: str) -> None:
        self._value(secret_id, VersionStage=CURRENT)  # the secret must be readable
        try:
            self._value(secret_id, VersionId=token, VersionStage=PENDING)
            logger.info("pending value already created")
            return
        except self.secrets.exceptions.ResourceNotFoundException:
            pass
        value = self.secrets.get_random_password(
            PasswordLength=VALUE_LENGTH, ExcludePunctuation=True
        )["RandomPassword"]
        self.secrets.put_secret_value(
            SecretId=secret_id,
            ClientRequestToken=token,
            SecretString=value,
            VersionStages=[PENDING],
        )
        logger.info("created pending value")

    def set_secret(self, secret_id: str, token: str) -> None:
        current = self._value(secret_id, VersionStage=CURRENT)
        pending = self._value(secret_id, VersionId=token, VersionStage=PENDING)
        sent = self.distribution.sent_value()
        # Widen first, everywhere; never remove anything here.
        widened = False
        for ref in self.config.web_acls:
            accepted = self.web_acls.accepted(ref)
            wanted = accepted | {current, pending} | ({sent} if sent else set())
            widened |= self.web_acls.set_accepted(ref, wanted)
        if widened:
            self.sleep(self.config.waf_propagation_seconds)
        self.distribution.send(pending)
        self._wait_deployed()

    def _wait_deployed(self) -> None:
        while not self.distribution.is_deployed():
            if self.remaining_seconds() < self.poll_seconds * 2:
                raise RotationError("distribution not deployed yet; the step will be retried")
            self.sleep(self.poll_seconds)

    def test_secret(self, secret_id: str, token: str) -> None:
        current = self._value(secret_id, VersionStage=CURRENT)
        pending = self._value(secret_id, VersionId=token, VersionStage=PENDING)
        for ref in self.config.web_acls:
            accepted = self.web_acls.accepted(ref)
            if not {current, pending} <= accepted:
                raise RotationError(f"web ACL {ref.name} ({ref.region}) lacks a value")
        if self.distribution.sent_value() != pending:
            raise RotationError("CloudFront does not send the pending value")
        self._wait_deployed()

    def finish_secret(self, secret_id: str, token: str) -> None:
        metadata = self.secrets.describe_secret(SecretId=secret_id)
        current_version = next(
            (v for v, stages in metadata["VersionIdsToStages"].items() if CURRENT in stages),
            None,
        )
        if current_version != token:
            self.secrets.update_secret_version_stage(
                SecretId=secret_id,
                VersionStage=CURRENT,
                MoveToVersionId=token,
                RemoveFromVersionId=current_version,
            )
            logger.info("AWSCURRENT moved to the new version")
        new = self._value(secret_id, VersionId=token)
        if self.distribution.sent_value() != new:
            raise RotationError("CloudFront does not send the new value; old values kept")
        self._wait_deployed()
        for ref in self.config.web_acls:
            self.web_acls.set_accepted(ref, {new})
