"""The api ↔ `push_relay` protocol: SNS endpoint operations in another region (standard library).

The api runs in private subnets with no NAT gateway; it reaches AWS through VPC interface
endpoints, which serve their own region only, and SNS offers no cross-region PrivateLink. A
device registered in the other region has its endpoint there, so the api asks the relay (a
function outside the VPC, invoked through the VPC endpoint for Lambda) to make the call in
the endpoint's region. The relay does exactly four endpoint operations, on endpoint ARNs of
the region it is asked about, in the serving regions only; its IAM policy says the same.

Answers carry SNS's own error (`{"error": {"Code", "Message"}}`), so the api handles a
relayed `EndpointDisabled` exactly like a local one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# action -> the parameters it may carry
ACTIONS: dict[str, frozenset[str]] = {
    "publish": frozenset({"TargetArn", "Message", "MessageStructure"}),
    "delete_endpoint": frozenset({"EndpointArn"}),
    "get_endpoint_attributes": frozenset({"EndpointArn"}),
    "set_endpoint_attributes": frozenset({"EndpointArn", "Attributes"}),
}
ATTRIBUTES = frozenset({"Token", "Enabled", "CustomUserData"})
ENDPOINT_ARN = re.compile(
    r"arn:aws[a-z-]*:sns:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:endpoint/[A-Z_]+/[^/\s]+/[^/\s]+"
)


class RelayUnavailableError(RuntimeError):
    """The relay function failed (not SNS refusing: that comes back as SNS's own error)."""


class InvalidRelayRequest(ValueError):
    """Not an operation the relay makes for the api."""


def check_request(event: Any, regions: Iterable[str]) -> tuple[str, str, dict[str, Any]]:
    """(region, action, params) of a valid request, else InvalidRelayRequest."""
    if not isinstance(event, dict):
        raise InvalidRelayRequest("the request is not an object")
    region, action, params = event.get("region"), event.get("action"), event.get("params")
    if region not in set(regions):
        raise InvalidRelayRequest(f"region {region!r} is not a serving region")
    if action not in ACTIONS:
        raise InvalidRelayRequest(f"action {action!r} is not relayed")
    if not isinstance(params, dict) or not set(params) <= ACTIONS[action]:
        raise InvalidRelayRequest(f"{action} takes only {sorted(ACTIONS[action])}")
    arn = params.get("TargetArn") or params.get("EndpointArn")
    match = ENDPOINT_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None or match["region"] != region:
        raise InvalidRelayRequest(f"{action} needs an endpoint ARN of {region}")
    attributes = params.get("Attributes", {})
    if not isinstance(attributes, dict) or not set(attributes) <= ATTRIBUTES:
        raise InvalidRelayRequest(f"endpoint attributes are limited to {sorted(ATTRIBUTES)}")
    return region, action, params


class RelayedSns:
    """The SNS endpoint operations for `region`, made by the `push_relay` function: the same
    method names and errors as a boto3 SNS client, so callers treat both alike."""

    def __init__(self, lambda_client: Any, function: str, region: str) -> None:
        self._lambda = lambda_client
        self._function = function
        self.region = region

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        response = self._lambda.invoke(
            FunctionName=self._function,
            Payload=json.dumps({"region": self.region, "action": action, "params": params}),
        )
        if response.get("FunctionError"):
            raise RelayUnavailableError(f"push relay failed ({response['FunctionError']})")
        answer = json.loads(response["Payload"].read())
        if "error" in answer:
            raise ClientError({"Error": answer["error"]}, action)
        return dict(answer.get("result", {}))

    def publish(self, **params: Any) -> dict[str, Any]:
        return self._call("publish", params)

    def delete_endpoint(self, **params: Any) -> dict[str, Any]:
        return self._call("delete_endpoint", params)

    def get_endpoint_attributes(self, **params: Any) -> dict[str, Any]:
        return self._call("get_endpoint_attributes", params)

    def set_endpoint_attributes(self, **params: Any) -> dict[str, Any]:
        return self._call("set_endpoint_attributes", params)
