"""R-EDGE-6: the origin-verify rotation keeps every regional WAF accepting what CloudFront
sends, at every step (moto for Secrets Manager, WAFv2 and CloudFront; botocore Stubber where
moto does not check what matters: CloudFront ETags, the step guards)."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from contract.environment import SettingsError
from handlers.origin_verify_rotation import rotation
from handlers.origin_verify_rotation.rotation import (
    CURRENT,
    PENDING,
    Distribution,
    RotationConfig,
    RotationError,
    Rotator,
    WebAclRef,
    WebAcls,
    accepted_values,
    with_accepted_values,
)

HEADER = "X-Origin-Verify"
REGIONS = ("eu-west-1", "us-west-1")
SECRET_NAME = "mobile-backend/prod/origin-verify"
INITIAL = "initial0value0from0pulumi0random0password0letters0and0digits00"


def header_match(value: str, header: str = "x-origin-verify") -> dict:
    return {
        "ByteMatchStatement": {
            "SearchString": value.encode(),
            "FieldToMatch": {"SingleHeader": {"Name": header}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "EXACTLY",
        }
    }


HEALTH_PATH = {
    "ByteMatchStatement": {
        "SearchString": b"/health",
        "FieldToMatch": {"UriPath": {}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        "PositionalConstraint": "ENDS_WITH",
    }
}


def visibility(metric: str) -> dict:
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": metric,
    }


def origin_verify_statement(region: str, value: str) -> dict:
    # Two shapes the regional web ACL may take: block unless (header ok OR /health), and
    # block unless header ok.
    if region == "eu-west-1":
        return {"NotStatement": {"Statement": {"OrStatement": {"Statements": [
            header_match(value), HEALTH_PATH]}}}}  # fmt: skip
    return {"NotStatement": {"Statement": header_match(value)}}


@pytest.fixture
def aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


class World:
    """The secret, one distribution and a web ACL per region, all in moto."""

    def __init__(self):
        self.secrets = boto3.client("secretsmanager", region_name="us-east-1")
        self.secret_arn = self.secrets.create_secret(Name=SECRET_NAME, SecretString=INITIAL)["ARN"]
        self.cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        created = self.cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "mobile-backend-prod",
                "Comment": "test",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "api",
                            "DomainName": "api.mobile.examplehealth.eu",
                            "CustomOriginConfig": {
                                "HTTPPort": 80,
                                "HTTPSPort": 443,
                                "OriginProtocolPolicy": "https-only",
                            },
                            "CustomHeaders": {
                                "Quantity": 1,
                                "Items": [{"HeaderName": HEADER, "HeaderValue": INITIAL}],
                            },
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "api",
                    "ViewerProtocolPolicy": "redirect-to-https",
                },
            }
        )
        self.distribution_id = created["Distribution"]["Id"]
        self.waf = {r: boto3.client("wafv2", region_name=r) for r in REGIONS}
        for region, client in self.waf.items():
            client.create_web_acl(
                Name=f"mobile-backend-prod-api-{region}",
                Scope="REGIONAL",
                DefaultAction={"Allow": {}},
                Description="regional API web ACL",
                Rules=[
                    {
                        "Name": "origin-verify",
                        "Priority": 0,
                        "Action": {"Block": {}},
                        "Statement": origin_verify_statement(region, INITIAL),
                        "VisibilityConfig": visibility("origin-verify"),
                    },
                    {
                        "Name": "common",
                        "Priority": 1,
                        "OverrideAction": {"None": {}},
                        "Statement": {
                            "ManagedRuleGroupStatement": {
                                "VendorName": "AWS",
                                "Name": "AWSManagedRulesCommonRuleSet",
                            }
                        },
                        "VisibilityConfig": visibility("common"),
                    },
                ],
                VisibilityConfig=visibility("api"),
            )
        self.config = RotationConfig(
            distribution_id=self.distribution_id,
            origin_id="api",
            header_name=HEADER,
            rule_name="origin-verify",
            web_acls=tuple(WebAclRef(r, f"mobile-backend-prod-api-{r}") for r in REGIONS),
            waf_propagation_seconds=60,
        )
        self.web_acls = WebAcls(self.waf, self.config)
        self.distribution = Distribution(self.cloudfront, self.config)
        self.sleeps: list[float] = []
        self.rotator = Rotator(
            self.secrets,
            self.web_acls,
            self.distribution,
            self.config,
            sleep=self.sleeps.append,
            poll_seconds=1,
        )

    def accepted(self) -> dict[str, set[str]]:
        return {ref.region: self.web_acls.accepted(ref) for ref in self.config.web_acls}

    def sent(self) -> str | None:
        return self.distribution.sent_value()

    def value(self, **version) -> str:
        return self.secrets.get_secret_value(SecretId=self.secret_arn, **version)["SecretString"]

    def stages(self) -> dict[str, list[str]]:
        return self.secrets.describe_secret(SecretId=self.secret_arn)["VersionIdsToStages"]

    def rule(self, region: str) -> dict:
        client = self.waf[region]
        summary = client.list_web_acls(Scope="REGIONAL", Limit=100)["WebACLs"][0]
        acl = client.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])
        return acl["WebACL"]


@pytest.fixture
def world(aws_env) -> World:
    return World()


def assert_every_waf_accepts(world: World, values: set[str], when: str) -> None:
    for region, accepted in world.accepted().items():
        assert values <= accepted, f"{when}: web ACL in {region} rejects {values - accepted}"


def test_four_steps_keep_every_waf_accepting_what_cloudfront_sends(world, monkeypatch):
    token = str(uuid.uuid4())
    observed: list[str] = []

    # While CloudFront deploys a new header, edges send the old or the new value: at the
    # moment of the switch, every web ACL must accept both.
    original_send = Distribution.send

    def checked_send(self, value):
        before = world.sent()
        assert_every_waf_accepts(world, {before, value}, "CloudFront switch")
        observed.append("switch")
        return original_send(self, value)

    monkeypatch.setattr(Distribution, "send", checked_send)

    # Every change to a web ACL keeps accepting what CloudFront sends at that moment.
    original_set = WebAcls.set_accepted

    def checked_set(self, ref, values):
        changed = original_set(self, ref, values)
        assert_every_waf_accepts(world, {world.sent()}, f"web ACL update {ref.region}")
        observed.append(f"waf:{ref.region}:{len(values)}")
        return changed

    monkeypatch.setattr(WebAcls, "set_accepted", checked_set)

    # GIVEN the initial value in the secret, CloudFront and both web ACLs
    assert world.sent() == INITIAL
    assert world.accepted() == {r: {INITIAL} for r in REGIONS}

    # createSecret: a new pending value, nothing else touched
    world.rotator.create_secret(world.secret_arn, token)
    new = world.value(VersionId=token, VersionStage=PENDING)
    assert new != INITIAL and len(new) == 64 and new.isalnum()
    assert world.sent() == INITIAL
    assert world.accepted() == {r: {INITIAL} for r in REGIONS}
    world.rotator.create_secret(world.secret_arn, token)  # idempotent on retry
    assert world.value(VersionId=token, VersionStage=PENDING) == new

    # setSecret: web ACLs first (both values), a propagation pause, then CloudFront
    world.rotator.set_secret(world.secret_arn, token)
    assert world.accepted() == {r: {INITIAL, new} for r in REGIONS}
    assert world.sent() == new
    assert observed == ["waf:eu-west-1:2", "waf:us-west-1:2", "switch"]
    assert world.sleeps[0] == 60
    assert world.value(VersionStage=CURRENT) == INITIAL

    # testSecret: passes, changes nothing
    world.rotator.test_secret(world.secret_arn, token)
    assert world.accepted() == {r: {INITIAL, new} for r in REGIONS}

    # finishSecret: AWSCURRENT moves, only then the old value is retired
    world.rotator.finish_secret(world.secret_arn, token)
    assert world.value(VersionStage=CURRENT) == new
    assert CURRENT in world.stages()[token]
    assert world.accepted() == {r: {new} for r in REGIONS}
    assert world.sent() == new
    assert observed[-2:] == ["waf:eu-west-1:1", "waf:us-west-1:1"]


def test_narrowed_rules_keep_their_shape_and_the_other_rules(world):
    token = str(uuid.uuid4())
    for step in ("create_secret", "set_secret", "test_secret", "finish_secret"):
        getattr(world.rotator, step)(world.secret_arn, token)
    new = world.value(VersionStage=CURRENT)
    for region in REGIONS:
        acl = world.rule(region)
        assert [r["Name"] for r in acl["Rules"]] == ["origin-verify", "common"], region
        assert acl["Description"] == "regional API web ACL", region
        rule = acl["Rules"][0]
        assert rule["Action"] == {"Block": {}}
        assert rule["Statement"] == origin_verify_statement(region, new), region


def test_a_second_rotation_retires_the_first_value(world):
    values = []
    for _ in range(2):
        token = str(uuid.uuid4())
        for step in ("create_secret", "set_secret", "test_secret", "finish_secret"):
            getattr(world.rotator, step)(world.secret_arn, token)
        values.append(world.value(VersionStage=CURRENT))
    assert world.accepted() == {r: {values[1]} for r in REGIONS}
    assert world.sent() == values[1]


def test_missing_web_acl_stops_set_secret_before_cloudfront_switches(world):
    token = str(uuid.uuid4())
    world.rotator.create_secret(world.secret_arn, token)
    missing = WebAclRef("us-west-1", "mobile-backend-prod-api-nowhere")
    config = RotationConfig(
        **{**world.config.__dict__, "web_acls": (*world.config.web_acls, missing)}
    )
    rotator = Rotator(
        world.secrets,
        WebAcls(world.waf, config),
        Distribution(world.cloudfront, config),
        config,
        sleep=lambda s: None,
    )
    with pytest.raises(RotationError, match="not found"):
        rotator.set_secret(world.secret_arn, token)
    assert world.sent() == INITIAL


def test_finish_keeps_old_values_when_cloudfront_does_not_send_the_new_one(world):
    token = str(uuid.uuid4())
    world.rotator.create_secret(world.secret_arn, token)
    world.rotator.set_secret(world.secret_arn, token)
    world.distribution.send(INITIAL)  # someone reverted CloudFront by hand
    with pytest.raises(RotationError, match="old values kept"):
        world.rotator.finish_secret(world.secret_arn, token)
    new = world.value(VersionId=token)
    assert world.accepted() == {r: {INITIAL, new} for r in REGIONS}


def test_test_secret_fails_when_a_waf_lacks_the_pending_value(world):
    token = str(uuid.uuid4())
    world.rotator.create_secret(world.secret_arn, token)
    with pytest.raises(RotationError, match="lacks a value"):
        world.rotator.test_secret(world.secret_arn, token)


class FakeDistribution:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def is_deployed(self):
        return self.statuses.pop(0)


def test_set_secret_waits_for_deployment_and_gives_up_before_the_lambda_timeout(world):
    sleeps = []
    rotator = Rotator(
        world.secrets,
        world.web_acls,
        FakeDistribution([False, False, True]),
        world.config,
        sleep=sleeps.append,
        poll_seconds=20,
    )
    rotator._wait_deployed()
    assert sleeps == [20, 20]
    impatient = Rotator(
        world.secrets,
        world.web_acls,
        FakeDistribution([False]),
        world.config,
        sleep=sleeps.append,
        remaining_seconds=lambda: 30,
        poll_seconds=20,
    )
    with pytest.raises(RotationError, match="retried"):
        impatient._wait_deployed()


def test_cloudfront_update_sends_the_etag_it_read():
    client = boto3.client(
        "cloudfront",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    config = {
        "CallerReference": "ref",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "api",
                    "DomainName": "api.example.com",
                    "CustomHeaders": {
                        "Quantity": 1,
                        "Items": [{"HeaderName": HEADER, "HeaderValue": "old"}],
                    },
                }
            ],
        },
        "DefaultCacheBehavior": {"TargetOriginId": "api", "ViewerProtocolPolicy": "https-only"},
    }
    updated = json.loads(json.dumps(config))
    updated["Origins"]["Items"][0]["CustomHeaders"]["Items"][0]["HeaderValue"] = "new"
    with Stubber(client) as stub:
        stub.add_response(
            "get_distribution_config",
            {"DistributionConfig": config, "ETag": "E2QWRUHEXAMPLE"},
            {"Id": "EDFDVBD6EXAMPLE"},
        )
        stub.add_response(
            "update_distribution",
            {"ETag": "E3NEXT"},
            {"Id": "EDFDVBD6EXAMPLE", "IfMatch": "E2QWRUHEXAMPLE", "DistributionConfig": updated},
        )
        cfg = RotationConfig("EDFDVBD6EXAMPLE", "api", HEADER, "origin-verify", ())
        assert Distribution(client, cfg).send("new") is True
        stub.assert_no_pending_responses()


TOKEN = "a" * 32
OTHER = "b" * 32


def stubbed_rotator(describe: dict) -> tuple[Rotator, Stubber]:
    client = boto3.client(
        "secretsmanager", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    stub.add_response("describe_secret", describe, {"SecretId": "arn:secret"})
    config = RotationConfig("D", "api", HEADER, "origin-verify", ())
    return Rotator(client, None, None, config), stub


def test_run_refuses_a_secret_without_rotation_enabled():
    rotator, stub = stubbed_rotator({"RotationEnabled": False, "VersionIdsToStages": {}})
    with stub, pytest.raises(RotationError, match="not enabled"):
        rotator.run("createSecret", "arn:secret", TOKEN)


def test_run_refuses_an_unknown_version_and_skips_a_current_one():
    rotator, stub = stubbed_rotator(
        {"RotationEnabled": True, "VersionIdsToStages": {OTHER: [CURRENT]}}
    )
    with stub, pytest.raises(RotationError, match="not a version"):
        rotator.run("setSecret", "arn:secret", TOKEN)
    rotator, stub = stubbed_rotator(
        {"RotationEnabled": True, "VersionIdsToStages": {TOKEN: [CURRENT]}}
    )
    with stub:
        rotator.run("setSecret", "arn:secret", TOKEN)  # nothing left to do: no other call
        stub.assert_no_pending_responses()


def test_run_dispatches_finish_even_when_the_version_is_already_current(monkeypatch):
    rotator, stub = stubbed_rotator(
        {"RotationEnabled": True, "VersionIdsToStages": {TOKEN: [CURRENT]}}
    )
    calls = []
    monkeypatch.setattr(rotator, "finish_secret", lambda s, t: calls.append((s, t)))
    with stub:
        rotator.run("finishSecret", "arn:secret", TOKEN)
    assert calls == [("arn:secret", TOKEN)]


def test_with_accepted_values_rewrites_only_header_matches():
    statement = {"NotStatement": {"Statement": {"OrStatement": {"Statements": [
        header_match("a"), HEALTH_PATH]}}}}  # fmt: skip
    assert accepted_values(statement, HEADER) == {"a"}
    widened = with_accepted_values(statement, HEADER, {"a", "b"})
    assert accepted_values(widened, HEADER) == {"a", "b"}
    inner = widened["NotStatement"]["Statement"]["OrStatement"]["Statements"]
    assert HEALTH_PATH in inner and len(inner) == 3
    single = with_accepted_values({"NotStatement": {"Statement": header_match("a")}}, HEADER, {"b"})
    assert single == {"NotStatement": {"Statement": header_match("b")}}
    pair = with_accepted_values(header_match("a"), HEADER, {"a", "b"})
    assert pair == {"OrStatement": {"Statements": [header_match("a"), header_match("b")]}}
    with pytest.raises(RotationError, match="no exact match"):
        with_accepted_values(HEALTH_PATH, HEADER, {"a"})
    with pytest.raises(ValueError, match="at least one"):
        with_accepted_values(header_match("a"), HEADER, set())


def test_config_from_environment_names_what_is_missing():
    env = {
        "DISTRIBUTION_ID": "D",
        "ORIGIN_ID": "api",
        "HEADER_NAME": HEADER,
        "RULE_NAME": "origin-verify",
        "WEB_ACLS": json.dumps([{"region": "eu-west-1", "name": "acl"}]),
    }
    config = RotationConfig.from_env(env)
    assert config.web_acls == (WebAclRef("eu-west-1", "acl"),)
    assert config.waf_propagation_seconds == 60
    with pytest.raises(SettingsError, match="DISTRIBUTION_ID"):
        RotationConfig.from_env({k: v for k, v in env.items() if k != "DISTRIBUTION_ID"})
    assert rotation.VALUE_LENGTH >= 48


class FakeContext:
    def get_remaining_time_in_millis(self) -> int:
        return 42_000


def test_handler_builds_regional_clients_from_its_environment_once(aws_env, monkeypatch):
    from handlers.origin_verify_rotation import main

    for key, value in {
        "DISTRIBUTION_ID": "EDFDVBD6EXAMPLE",
        "ORIGIN_ID": "api",
        "HEADER_NAME": HEADER,
        "RULE_NAME": "origin-verify",
        "WEB_ACLS": json.dumps([{"region": r, "name": f"acl-{r}"} for r in REGIONS]),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(main, "_rotator", None)
    calls = []
    monkeypatch.setattr(
        Rotator, "run", lambda self, *args: calls.append((args, self.remaining_seconds()))
    )
    event = {"Step": "setSecret", "SecretId": "arn:secret", "ClientRequestToken": TOKEN}
    main.handler(event, FakeContext())
    first = main._rotator
    main.handler(event, FakeContext())
    assert main._rotator is first, "clients are built once per container"
    assert calls == [(("setSecret", "arn:secret", TOKEN), 42.0)] * 2
    clients = first.web_acls.clients
    assert {r: c.meta.region_name for r, c in clients.items()} == {r: r for r in REGIONS}
    assert first.distribution.config.distribution_id == "EDFDVBD6EXAMPLE"


def _web_acl_response(value: str, lock_token: str) -> dict:
    return {
        "WebACL": {
            "Name": "acl",
            "Id": "11111111-1111-4111-8111-111111111111",
            "ARN": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/acl/1111",
            "DefaultAction": {"Allow": {}},
            "Description": "kept",
            "Rules": [
                {
                    "Name": "origin-verify",
                    "Priority": 0,
                    "Action": {"Block": {}},
                    "Statement": {"NotStatement": {"Statement": header_match(value)}},
                    "VisibilityConfig": visibility("origin-verify"),
                }
            ],
            "VisibilityConfig": visibility("acl"),
            "Capacity": 2,
        },
        "LockToken": lock_token,
    }


def test_web_acl_update_reads_again_after_a_concurrent_modification():
    client = boto3.client(
        "wafv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    listing = {
        "WebACLs": [
            {
                "Name": "acl",
                "Id": "11111111-1111-4111-8111-111111111111",
                "LockToken": "t",
                "ARN": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/acl/1111",
            }
        ]
    }
    with Stubber(client) as stub:
        for lock_token, fails in (("lock-1", True), ("lock-2", False)):
            stub.add_response("list_web_acls", listing, {"Scope": "REGIONAL", "Limit": 100})
            stub.add_response("get_web_acl", _web_acl_response("old", lock_token))
            if fails:
                stub.add_client_error("update_web_acl", "WAFOptimisticLockException")
            else:
                stub.add_response(
                    "update_web_acl",
                    {"NextLockToken": "lock-3"},
                    {
                        "Name": "acl",
                        "Id": "11111111-1111-4111-8111-111111111111",
                        "Scope": "REGIONAL",
                        "DefaultAction": {"Allow": {}},
                        "Description": "kept",
                        "Rules": [
                            {
                                **_web_acl_response("old", "x")["WebACL"]["Rules"][0],
                                "Statement": {
                                    "NotStatement": {
                                        "Statement": {
                                            "OrStatement": {
                                                "Statements": [
                                                    header_match("new"),
                                                    header_match("old"),
                                                ]
                                            }
                                        }
                                    }
                                },
                            }
                        ],
                        "VisibilityConfig": visibility("acl"),
                        "LockToken": "lock-2",
                    },
                )
        config = RotationConfig("D", "api", HEADER, "origin-verify", ())
        acls = WebAcls({"eu-west-1": client}, config)
        assert acls.set_accepted(WebAclRef("eu-west-1", "acl"), {"old", "new"}) is True
        stub.assert_no_pending_responses()


def test_a_persistent_conflict_is_raised_after_a_few_attempts():
    client = boto3.client(
        "cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    config = {
        "CallerReference": "ref",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [{"Id": "api", "DomainName": "api.example.com"}],
        },
        "DefaultCacheBehavior": {"TargetOriginId": "api", "ViewerProtocolPolicy": "https-only"},
    }
    with Stubber(client) as stub:
        for _ in range(rotation.OPTIMISTIC_LOCK_ATTEMPTS):
            # A fresh response each time, as the service sends (the code edits it in place).
            fresh = json.loads(json.dumps(config))
            stub.add_response(
                "get_distribution_config", {"DistributionConfig": fresh, "ETag": "E1"}
            )
            stub.add_client_error("update_distribution", "PreconditionFailed", http_status_code=412)
        cfg = RotationConfig("EDFDVBD6EXAMPLE", "api", HEADER, "origin-verify", ())
        with pytest.raises(ClientError, match="PreconditionFailed"):
            Distribution(client, cfg).send("new")
        stub.assert_no_pending_responses()
