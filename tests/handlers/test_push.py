"""Push follows the device (R-MSG-3), on real PostgreSQL and moto's SNS in both regions.

The api reaches its own region's SNS only (its VPC endpoint); every call for an endpoint in
the other region must go through the push relay. The `relay` fixture runs the relay's own
code in process for the api's Lambda invokes, and refuses any SNS client the api would open
for the other region.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backend import push
from backend.identity import Caller
from backend.push_relay import InvalidRelayRequest, check_request
from handlers import common
from handlers.push_relay import main as relay_main
from tests.handlers.conftest import PEER_REGION, REGION, RELAY_FUNCTION, boto
from tests.handlers.helpers import ALICE, BOB, call, claims

FCM_TOKEN = "fcm-token:device-1"


@dataclass
class Relay:
    """The api's Lambda client: invokes of the relay run `handlers.push_relay` in process."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def invoke(self, FunctionName: str, Payload: str) -> dict[str, Any]:
        assert FunctionName == RELAY_FUNCTION
        request = json.loads(Payload)
        self.calls.append(request)
        if self.down:
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(b"{}")}
        answer = relay_main.relay(request, (REGION, PEER_REGION))
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


@pytest.fixture
def relay(env, monkeypatch) -> Iterator[Relay]:
    fake = Relay()
    original = common.aws_client
    relay_main._clients.clear()

    def aws_client(service: str, region: str | None = None) -> Any:
        if service == "lambda":
            return fake
        # No NAT and a VPC endpoint for this region only: the api cannot open another.
        assert not (service == "sns" and region != REGION), f"the api called SNS in {region}"
        return original(service, region)

    monkeypatch.setattr(common, "aws_client", aws_client)
    yield fake
    relay_main._clients.clear()


def peer_application() -> str:
    return boto("sns", PEER_REGION).create_platform_application(
        Name="fcm", Platform="GCM", Attributes={"PlatformCredential": "fake-key"}
    )["PlatformApplicationArn"]


def register(owner: str, token: str = FCM_TOKEN) -> tuple[int, dict[str, Any]]:
    return call(
        "POST", "/devices", authorizer=claims(owner), body={"platform": "fcm", "token": token}
    )


def notify(owner: str, target: str | None = None) -> tuple[int, dict[str, Any]]:
    body = {"user_sub": target or owner, "title": "Hello", "body": "You have a new message"}
    return call("POST", "/notifications", authorizer=claims(owner), body=body)


def endpoint_of(admin_conn, token: str = FCM_TOKEN) -> str:
    return admin_conn.execute(
        "SELECT endpoint_arn FROM device_tokens WHERE token = %s", (token,)
    ).fetchone()[0]


def attributes(arn: str) -> dict[str, str] | None:
    try:
        return boto("sns", push.region_of(arn)).get_endpoint_attributes(EndpointArn=arn)[
            "Attributes"
        ]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NotFound"
        return None


def register_in_peer_region(admin_conn, owner: str, token: str = FCM_TOKEN) -> str:
    """What the other region's api does: an endpoint there, the row in the shared database."""
    arn = boto("sns", PEER_REGION).create_platform_endpoint(
        PlatformApplicationArn=peer_application(), Token=token
    )["EndpointArn"]
    admin_conn.execute(
        "INSERT INTO device_tokens (id, sub, platform, token, endpoint_arn, created_at, "
        "updated_at) VALUES (%s, %s, 'fcm', %s, %s, now(), now())",
        (uuid.uuid4(), owner, token, arn),
    )
    return arn


# --- a token changing hands ----------------------------------------------------------------


def test_a_token_another_account_registered_moves_to_the_new_owner(relay, admin_conn):
    # GIVEN Alice's phone registered its token, then the phone goes to Bob
    status, alices = register(ALICE)
    assert status == 201
    # WHEN Bob signs in on it and registers the same token (SNS used to refuse: InvalidParameter)
    status, bobs = register(BOB)
    # THEN the device is Bob's, under a new id, on the same endpoint, and only Bob reaches it
    assert status == 201
    assert bobs["id"] != alices["id"]
    rows = admin_conn.execute("SELECT id, sub FROM device_tokens").fetchall()
    assert [(str(i), s) for i, s in rows] == [(bobs["id"], BOB)]
    assert notify(BOB) == (200, {"sent": 1, "failed": 0, "pruned": 0})
    assert notify(ALICE)[0] == 404
    # AND Alice's old id names nothing she can act on
    assert call("DELETE", f"/devices/{alices['id']}", authorizer=claims(ALICE))[0] == 404


def test_an_endpoint_carrying_a_previous_owners_user_data_is_taken_over(relay, stack):
    # GIVEN an endpoint an earlier version created with the owner's id as CustomUserData
    sns = boto("sns")
    arn = sns.create_platform_endpoint(
        PlatformApplicationArn=stack.platform_apps["fcm"], Token=FCM_TOKEN, CustomUserData=ALICE
    )["EndpointArn"]
    # WHEN another account registers the token THEN the same endpoint serves it
    assert register(BOB)[0] == 201
    assert attributes(arn)["Enabled"] == "true"
    assert notify(BOB)[1]["sent"] == 1


def test_a_token_moving_to_another_region_leaves_no_endpoint_behind(relay, admin_conn):
    # GIVEN Alice registered the token through the other region
    old = register_in_peer_region(admin_conn, ALICE)
    # WHEN Bob registers it here
    assert register(BOB)[0] == 201
    # THEN the device's endpoint is this region's, and the other region's one is deleted
    new = endpoint_of(admin_conn)
    assert (push.region_of(new), attributes(old)) == (REGION, None)
    assert [c["action"] for c in relay.calls] == ["delete_endpoint"]


# --- disabled endpoints ---------------------------------------------------------------------


def test_a_disabled_endpoint_is_enabled_again_when_the_token_registers_again(relay, admin_conn):
    # GIVEN FCM reported the token dead once and SNS disabled the endpoint
    register(ALICE)
    arn = endpoint_of(admin_conn)
    boto("sns").set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    # WHEN the app registers the token again (it does on every start)
    assert register(ALICE)[0] == 201
    # THEN the same endpoint is enabled and delivers
    assert endpoint_of(admin_conn) == arn
    assert attributes(arn)["Enabled"] == "true"
    assert notify(ALICE) == (200, {"sent": 1, "failed": 0, "pruned": 0})


def test_a_send_prunes_the_endpoints_sns_disabled(relay, admin_conn):
    # GIVEN two devices, one of which SNS disabled
    register(ALICE, "fcm-token:live")
    register(ALICE, "fcm-token:dead")
    dead = endpoint_of(admin_conn, "fcm-token:dead")
    boto("sns").set_endpoint_attributes(EndpointArn=dead, Attributes={"Enabled": "false"})
    # WHEN Alice is notified
    result = notify(ALICE)
    # THEN the live one got it, the dead one is gone from the database and from SNS
    assert result == (200, {"sent": 1, "failed": 0, "pruned": 1})
    tokens = admin_conn.execute("SELECT token FROM device_tokens").fetchall()
    assert tokens == [("fcm-token:live",)]
    assert attributes(dead) is None
    # AND the next send does not try it again
    assert notify(ALICE) == (200, {"sent": 1, "failed": 0, "pruned": 0})


def test_an_endpoint_deleted_behind_our_back_is_pruned(relay, admin_conn):
    register(ALICE)
    boto("sns").delete_endpoint(EndpointArn=endpoint_of(admin_conn))
    assert notify(ALICE) == (200, {"sent": 0, "failed": 0, "pruned": 1})
    assert admin_conn.execute("SELECT count(*) FROM device_tokens").fetchone() == (0,)


def test_a_device_registered_again_during_a_send_is_not_pruned(relay, admin_conn):
    register(ALICE)
    arn = endpoint_of(admin_conn)
    started = push.datetime.now(push.UTC)
    # The app re-registered (re-enabling the endpoint) after the send found it disabled.
    register(ALICE)
    cleanup = common.database().run(
        lambda c: push.prune(c, [arn], found_before=started), write=True
    )
    assert cleanup.endpoint_arns == []
    assert admin_conn.execute("SELECT count(*) FROM device_tokens").fetchone() == (1,)


# --- the other region's devices -----------------------------------------------------------


def test_a_device_registered_in_the_other_region_gets_the_push_through_the_relay(relay, admin_conn):
    # GIVEN Alice's phone registered through the other region (its endpoint lives there)
    arn = register_in_peer_region(admin_conn, ALICE)
    # WHEN this region's api notifies her (the fixture refuses a direct call to the other SNS)
    result = notify(ALICE)
    # THEN it reached the device through the relay, in the endpoint's region
    assert result == (200, {"sent": 1, "failed": 0, "pruned": 0})
    assert [(c["region"], c["action"], c["params"]["TargetArn"]) for c in relay.calls] == [
        (PEER_REGION, "publish", arn)
    ]


def test_a_disabled_endpoint_in_the_other_region_is_pruned_there(relay, admin_conn):
    arn = register_in_peer_region(admin_conn, ALICE)
    boto("sns", PEER_REGION).set_endpoint_attributes(
        EndpointArn=arn, Attributes={"Enabled": "false"}
    )
    assert notify(ALICE) == (200, {"sent": 0, "failed": 0, "pruned": 1})
    assert [c["action"] for c in relay.calls] == ["publish", "delete_endpoint"]
    assert attributes(arn) is None


def test_a_relay_outage_counts_as_failed_not_as_an_error(relay, admin_conn):
    register_in_peer_region(admin_conn, ALICE)
    register(ALICE, "fcm-token:here")
    relay.down = True
    assert notify(ALICE) == (200, {"sent": 1, "failed": 1, "pruned": 0})
    assert admin_conn.execute("SELECT count(*) FROM device_tokens").fetchone() == (2,)


# --- unregistering --------------------------------------------------------------------------


def test_a_device_is_unregistered_by_its_owner_only(relay, admin_conn):
    _, device = register(ALICE)
    arn = endpoint_of(admin_conn)
    # Bob cannot, and learns nothing (404, not 403)
    status, body = call("DELETE", f"/devices/{device['id']}", authorizer=claims(BOB))
    assert (status, body["error"]["code"], body["error"]["fields"]) == (404, "not_found", ["id"])
    # Alice can: the row and the endpoint are gone, and so are her pushes
    status, body = call("DELETE", f"/devices/{device['id']}", authorizer=claims(ALICE))
    assert (status, body) == (204, None)
    assert admin_conn.execute("SELECT count(*) FROM device_tokens").fetchone() == (0,)
    assert attributes(arn) is None
    assert notify(ALICE)[0] == 404
    # Twice is "not found"; a malformed id is the client's error
    assert call("DELETE", f"/devices/{device['id']}", authorizer=claims(ALICE))[0] == 404
    status, body = call("DELETE", "/devices/not-a-uuid", authorizer=claims(ALICE))
    assert (status, body["error"]["fields"]) == (400, ["id"])


def test_unregistering_a_device_of_the_other_region_deletes_its_endpoint_there(relay, admin_conn):
    arn = register_in_peer_region(admin_conn, ALICE)
    device_id = admin_conn.execute("SELECT id FROM device_tokens").fetchone()[0]
    assert call("DELETE", f"/devices/{device_id}", authorizer=claims(ALICE))[0] == 204
    assert attributes(arn) is None
    assert [c["action"] for c in relay.calls] == ["delete_endpoint"]


def test_unregistering_while_the_other_region_is_unreachable_still_forgets_the_device(
    relay, admin_conn
):
    arn = register_in_peer_region(admin_conn, ALICE)
    device_id = admin_conn.execute("SELECT id FROM device_tokens").fetchone()[0]
    relay.down = True
    assert call("DELETE", f"/devices/{device_id}", authorizer=claims(ALICE))[0] == 204
    assert admin_conn.execute("SELECT count(*) FROM device_tokens").fetchone() == (0,)
    # Left for lack of a way there: referenced by nothing, so it receives nothing from us.
    assert attributes(arn) is not None


# --- the token the push service refuses, and the relay's own checks --------------------------


class RefusingSns:
    """SNS refusing a token it cannot parse (moto accepts any token)."""

    def create_platform_endpoint(self, **_: Any) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": "InvalidParameter", "Message": "Invalid parameter: Token"}},
            "CreatePlatformEndpoint",
        )


def test_a_token_the_push_service_refuses_is_400_naming_the_token():
    from backend.errors import ValidationFailedError
    from backend.models import FcmDeviceRequest

    request = FcmDeviceRequest(platform="fcm", token="x")
    caller = Caller(sub=ALICE, email=None, groups=frozenset())
    with pytest.raises(ValidationFailedError) as refused:
        push.register_device(
            None, RefusingSns(), caller=caller, request=request, platform_applications={"fcm": "a"}
        )
    assert refused.value.fields == ["token"]


ARN = f"arn:aws:sns:{PEER_REGION}:123456789012:endpoint/GCM/mobile-backend-prod-fcm/0f0e-1"


@pytest.mark.parametrize(
    "event",
    [
        {"region": "ap-south-1", "action": "publish", "params": {"TargetArn": ARN}},
        {"region": PEER_REGION, "action": "create_topic", "params": {"Name": "x"}},
        {"region": PEER_REGION, "action": "publish", "params": {"TopicArn": ARN}},
        {"region": REGION, "action": "delete_endpoint", "params": {"EndpointArn": ARN}},
        {
            "region": PEER_REGION,
            "action": "delete_endpoint",
            "params": {"EndpointArn": ARN.replace("endpoint/GCM", "app/GCM")},
        },
        {
            "region": PEER_REGION,
            "action": "set_endpoint_attributes",
            "params": {"EndpointArn": ARN, "Attributes": {"Owner": "x"}},
        },
        ["not", "an", "object"],
    ],
    ids=[
        "unserved-region",
        "other-action",
        "other-parameter",
        "arn-of-another-region",
        "not-an-endpoint",
        "other-attribute",
        "not-an-object",
    ],
)
def test_the_relay_makes_only_the_four_endpoint_calls_in_the_serving_regions(event):
    with pytest.raises(InvalidRelayRequest):
        check_request(event, (REGION, PEER_REGION))
