"""A function's own IAM policy, enforced locally (local/iam.py).

Three layers: the pure evaluator (IAM identity-policy rules), `request_of` (what AWS
authorizes for a boto3 call), and `enforce` on moto with the statements the stacks declare
(components.app_functions, components.messaging, components.data_rules), driven where possible by
the backend code the functions run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from backend import aws as backend_aws
from backend import rotation, uploads, user_migration
from backend.identity import Caller
from backend.models import UploadRequest
from components import data_rules
from components.app_functions import api_statements, user_migration_statements
from components.messaging import (
    PUSH_PLATFORMS,
    platform_application_arn,
    publisher_statements,
    push_statements,
    resource_names,
    subscriber_statements,
)
from contract.names import MIGRATION_CLIENT_NAME, function_name, user_pool_name
from local.iam import (
    DB_AUTH_TOKEN_OPERATION,
    Decision,
    NotModelled,
    PolicyEvaluator,
    Reason,
    enforce,
    exempt,
    request_of,
    unchecked,
)
from local.poller import poll_once

REGION = "eu-west-1"
PEER = "us-west-1"
ACCOUNT = "123456789012"  # moto's default account
ENV = "dev"
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/fn"
MESSAGING_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
ASSETS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/66666666-7777-8888-9999-000000000000"
PROXY_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:db-proxy:prx-0123456789abcdef0"
PROXY_HOST = "mobile-backend-dev-db.proxy-abc.eu-west-1.rds.amazonaws.com"


def refused(decision_or_exc: Any) -> tuple[str, int, str]:
    response = decision_or_exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def no_allow(action: str, resource: str) -> tuple[str, int, str]:
    return (
        "AccessDenied",
        403,
        f"User: {PRINCIPAL} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action",
    )


def without(statements: Sequence[Mapping[str, Any]], sid: str) -> list[Mapping[str, Any]]:
    kept = [s for s in statements if s.get("Sid") != sid]
    assert len(kept) == len(statements) - 1, f"no statement {sid}"
    return kept


# --- the evaluator ---------------------------------------------------------------------------
BUCKET = "arn:aws:s3:::assets"


def allow(sid: str, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_a_scoped_allow_covers_its_resource_only() -> None:
    evaluator = PolicyEvaluator([allow("Put", "s3:PutObject", f"{BUCKET}/uploads/*")])

    assert evaluator.decide("s3:PutObject", [f"{BUCKET}/uploads/a/b.txt"]) == Decision(
        True, "s3:PutObject", Reason.ALLOWED, None, ("Put",)
    )
    assert evaluator.decide("s3:PutObject", [f"{BUCKET}/private/a"]) == Decision(
        False, "s3:PutObject", Reason.NO_ALLOW, f"{BUCKET}/private/a"
    )
    assert not evaluator.decide("s3:GetObject", [f"{BUCKET}/uploads/a"]).allowed


def test_an_explicit_deny_beats_any_allow() -> None:
    evaluator = PolicyEvaluator(
        [
            allow("Everything", "s3:*", "*"),
            {"Sid": "NoPrivate", "Effect": "Deny", "Action": "s3:Get*", "Resource": "*/private/*"},
        ]
    )

    decision = evaluator.decide("s3:GetObject", [f"{BUCKET}/private/x"])

    assert decision == Decision(
        False, "s3:GetObject", Reason.EXPLICIT_DENY, f"{BUCKET}/private/x", ("NoPrivate",)
    )
    assert decision.message(PRINCIPAL) == (
        f"User: {PRINCIPAL} is not authorized to perform: s3:GetObject on resource: "
        f"{BUCKET}/private/x with an explicit deny in an identity-based policy"
    )
    assert evaluator.decide("s3:PutObject", [f"{BUCKET}/private/x"]).allowed


def test_not_action_and_not_resource_invert_the_match() -> None:
    evaluator = PolicyEvaluator(
        [
            {"Sid": "AllButIam", "Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"},
            {
                "Sid": "OnlyUploads",
                "Effect": "Deny",
                "Action": "s3:PutObject",
                "NotResource": [f"{BUCKET}/uploads/*"],
            },
        ]
    )

    assert evaluator.decide("sns:Publish", ["arn:aws:sns:eu-west-1:1:t"]).statements == (
        "AllButIam",
    )
    assert evaluator.decide("iam:PassRole", ["*"]).reason is Reason.NO_ALLOW
    assert evaluator.decide("s3:PutObject", [f"{BUCKET}/uploads/x"]).allowed
    assert evaluator.decide("s3:PutObject", [f"{BUCKET}/x"]).reason is Reason.EXPLICIT_DENY


def test_wildcards_and_case_rules() -> None:
    evaluator = PolicyEvaluator(
        [
            allow("Q", "SNS:publish", "arn:aws:sns:eu-west-1:123456789012:topic-?"),
            allow("Star", "sqs:Receive*", "arn:aws:sqs:*:123456789012:*"),
        ]
    )
    topic = "arn:aws:sns:eu-west-1:123456789012:topic-"

    # Actions are case-insensitive; `?` is exactly one character.
    assert evaluator.decide("sns:Publish", [f"{topic}a"]).allowed
    assert not evaluator.decide("sns:Publish", [f"{topic}ab"]).allowed
    assert not evaluator.decide("sns:Publish", [topic]).allowed
    # Resources are case-sensitive; `*` spans `:` and `/`.
    assert not evaluator.decide("sns:Publish", [f"{topic.upper()}A"]).allowed
    assert evaluator.decide(
        "sqs:ReceiveMessage", ["arn:aws:sqs:us-west-1:123456789012:a/b"]
    ).allowed
    # Specific ARNs never cover an action that AWS evaluates on "*".
    assert not evaluator.decide("sns:Publish", ["*"]).allowed


def test_every_resource_of_a_call_must_be_allowed() -> None:
    evaluator = PolicyEvaluator([allow("Del", "s3:DeleteObject", f"{BUCKET}/uploads/*")])

    decision = evaluator.decide("s3:DeleteObject", [f"{BUCKET}/uploads/a", f"{BUCKET}/b"])

    assert (decision.allowed, decision.resource) == (False, f"{BUCKET}/b")


def test_conditions_on_modelled_keys_are_evaluated() -> None:
    evaluator = PolicyEvaluator(
        [
            allow("List", "s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": "up/*"}}),
            allow(
                "Key",
                "kms:Decrypt",
                "*",
                Condition={"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            ),
            allow(
                "NotUs",
                "sns:Publish",
                "*",
                Condition={"StringNotEqualsIfExists": {"aws:RequestedRegion": "us-west-1"}},
            ),
        ]
    )

    assert evaluator.decide("s3:ListBucket", [BUCKET], {"s3:prefix": "up/x"}).allowed
    assert not evaluator.decide("s3:ListBucket", [BUCKET], {"s3:prefix": "down/"}).allowed
    # A positive test fails on a key the request does not carry.
    assert not evaluator.decide("s3:ListBucket", [BUCKET]).allowed
    assert evaluator.decide("kms:Decrypt", ["k"], {"kms:ViaService": "s3.eu-west-1.amazonaws.com"})
    assert not evaluator.decide("kms:Decrypt", ["k"]).allowed
    # Condition keys are case-insensitive.
    assert evaluator.decide("sns:Publish", ["t"], {"AWS:RequestedRegion": "eu-west-1"}).allowed
    assert not evaluator.decide("sns:Publish", ["t"], {"aws:requestedregion": "us-west-1"}).allowed
    assert evaluator.decide("sns:Publish", ["t"]).allowed


def test_negated_null_bool_and_set_operators() -> None:
    def decide(condition: dict[str, Any], context: dict[str, Any] | None = None) -> bool:
        return (
            PolicyEvaluator([allow("C", "s3:ListBucket", "*", Condition=condition)])
            .decide("s3:ListBucket", ["*"], context)
            .allowed
        )

    assert decide({"StringNotLike": {"s3:prefix": "private/*"}})  # absent key: negation holds
    assert not decide({"StringNotLike": {"s3:prefix": "private/*"}}, {"s3:prefix": "private/a"})
    assert decide({"Null": {"s3:prefix": "true"}})
    assert not decide({"Null": {"s3:prefix": "false"}})
    assert decide({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})
    assert decide({"ForAnyValue:StringLike": {"s3:prefix": ["a*", "b*"]}}, {"s3:prefix": "bx"})
    assert not decide({"ForAnyValue:StringLike": {"s3:prefix": "a*"}})
    assert decide({"ForAllValues:StringLike": {"s3:prefix": "a*"}})  # vacuous on no values
    # Several values of one key are ORed, several keys are ANDed.
    assert not decide(
        {"StringEquals": {"s3:prefix": ["a", "b"], "aws:RequestedRegion": "eu-west-1"}},
        {"s3:prefix": "b"},
    )


def test_unmodelled_conditions_are_assumed_satisfied_and_named() -> None:
    statements = [
        allow(
            "FromOffice",
            "s3:GetObject",
            "*",
            Condition={"IpAddress": {"aws:SourceIp": "1.2.3.0/24"}},
        ),
        allow(
            "Tagged",
            "s3:PutObject",
            "*",
            Condition={"StringEquals": {"s3:RequestObjectTag/x": "y"}},
        ),
        {
            "Sid": "NoOldTls",
            "Effect": "Deny",
            "Action": "s3:DeleteObject",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
        allow("Delete", "s3:DeleteObject", "*"),
    ]
    lenient, strict = PolicyEvaluator(statements), PolicyEvaluator(statements, strict=True)

    assert lenient.decide("s3:GetObject", ["o"]).unmodelled == (
        "FromOffice: IpAddress aws:sourceip",
    )
    assert lenient.decide("s3:PutObject", ["o"]).unmodelled == (
        "Tagged: StringEquals s3:requestobjecttag/x",
    )
    assert lenient.decide("s3:DeleteObject", ["o"]).reason is Reason.EXPLICIT_DENY
    # Strict reads an unknown the refusing way for both effects.
    assert strict.decide("s3:GetObject", ["o"]).reason is Reason.NO_ALLOW
    assert strict.decide("s3:DeleteObject", ["o"]).reason is Reason.EXPLICIT_DENY


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}, "Principal"),
        ({"Effect": "Allow", "Action": "s3:*"}, "Resource and NotResource"),
        ({"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}, "Action"),
        ({"Effect": "allow", "Action": "s3:*", "Resource": "*"}, "Effect must be"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": [object()]}, "expected strings"),
    ],
)
def test_malformed_statements_are_refused_up_front(statement: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as exc:
        PolicyEvaluator([allow("Fine", "s3:*", "*"), statement])

    assert "Statement[1]" in str(exc.value)


# --- request_of ------------------------------------------------------------------------------
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:events"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:events"
ENDPOINT = f"arn:aws:sns:{PEER}:{ACCOUNT}:endpoint/GCM/app/4c5d"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db/app-AbCdEf"


@pytest.mark.parametrize(
    ("service", "operation", "params", "action", "resources"),
    [
        ("sns", "Publish", {"TopicArn": TOPIC}, "sns:Publish", (TOPIC,)),
        ("sns", "Publish", {"TargetArn": ENDPOINT}, "sns:Publish", (ENDPOINT,)),
        ("sns", "Publish", {"PhoneNumber": "+15550100"}, "sns:Publish", ("*",)),
        (
            "sns",
            "CreatePlatformEndpoint",
            {"PlatformApplicationArn": "arn:aws:sns:eu-west-1:1:app/GCM/a", "Token": "t"},
            "sns:CreatePlatformEndpoint",
            ("arn:aws:sns:eu-west-1:1:app/GCM/a",),
        ),
        ("sns", "DeleteEndpoint", {"EndpointArn": ENDPOINT}, "sns:DeleteEndpoint", (ENDPOINT,)),
        (
            "sqs",
            "DeleteMessageBatch",
            {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/events", "Entries": []},
            "sqs:DeleteMessage",
            (QUEUE,),
        ),
        (
            "sqs",
            "ChangeMessageVisibilityBatch",
            {"QueueUrl": f"http://127.0.0.1:5000/{ACCOUNT}/events"},
            "sqs:ChangeMessageVisibility",
            (QUEUE,),
        ),
        (
            "s3",
            "HeadObject",
            {"Bucket": "assets", "Key": "uploads/a b"},
            "s3:GetObject",
            ("arn:aws:s3:::assets/uploads/a b",),
        ),
        (
            "s3",
            "GetObject",
            {"Bucket": "assets", "Key": "k", "VersionId": "v1"},
            "s3:GetObjectVersion",
            ("arn:aws:s3:::assets/k",),
        ),
        ("s3", "HeadBucket", {"Bucket": "assets"}, "s3:ListBucket", ("arn:aws:s3:::assets",)),
        (
            "s3",
            "ListObjectVersions",
            {"Bucket": "assets"},
            "s3:ListBucketVersions",
            ("arn:aws:s3:::assets",),
        ),
        (
            "secretsmanager",
            "GetSecretValue",
            {"SecretId": SECRET},
            "secretsmanager:GetSecretValue",
            (SECRET,),
        ),
        ("secretsmanager", "GetRandomPassword", {}, "secretsmanager:GetRandomPassword", ("*",)),
        ("cognito-idp", "ListUserPools", {"MaxResults": 60}, "cognito-idp:ListUserPools", ("*",)),
        (
            "cognito-idp",
            "AdminInitiateAuth",
            {"UserPoolId": f"{PEER}_AbC"},
            "cognito-idp:AdminInitiateAuth",
            (f"arn:aws:cognito-idp:{PEER}:{ACCOUNT}:userpool/{PEER}_AbC",),
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": "dir", "Qualifier": "live"},
            "lambda:InvokeFunction",
            (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dir:live",),
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": f"arn:aws:lambda:{PEER}:{ACCOUNT}:function:dir:live"},
            "lambda:InvokeFunction",
            (f"arn:aws:lambda:{PEER}:{ACCOUNT}:function:dir:live",),
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": f"{ACCOUNT}:function:dir"},
            "lambda:InvokeFunction",
            (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dir",),
        ),
        (
            "kms",
            "Decrypt",
            {"KeyId": "1234abcd"},
            "kms:Decrypt",
            (f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd",),
        ),
    ],
)
def test_request_of_derives_the_action_and_resource_arns(
    service: str, operation: str, params: dict, action: str, resources: tuple
) -> None:
    request = request_of(service, operation, params, region=REGION, account=ACCOUNT)

    assert (request.action, request.resources, request.also) == (action, resources, ())
    assert request.context["aws:SecureTransport"] == "true"


def test_request_of_carries_what_conditions_read() -> None:
    listing = request_of(
        "s3",
        "ListObjectsV2",
        {"Bucket": "assets", "Prefix": "uploads/"},
        region=REGION,
        account=ACCOUNT,
    )
    token = request_of(
        "rds",
        DB_AUTH_TOKEN_OPERATION,
        {"DBHostname": PROXY_HOST, "DBUsername": "app_user", "Region": PEER},
        region=REGION,
        account=ACCOUNT,
        db_resource_ids={PROXY_HOST: "prx-1"},
    )

    assert listing.context == {
        "aws:RequestedRegion": REGION,
        "aws:SecureTransport": "true",
        "aws:PrincipalAccount": ACCOUNT,
        "s3:prefix": "uploads/",
    }
    # A token signed for another region is presented there.
    assert token.context["aws:RequestedRegion"] == PEER
    assert token.resources == (f"arn:aws:rds-db:{PEER}:{ACCOUNT}:dbuser:prx-1/app_user",)


def test_request_of_splits_a_batch_delete_by_action() -> None:
    request = request_of(
        "s3",
        "DeleteObjects",
        {"Bucket": "assets", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "1"}]}},
        region=REGION,
        account=ACCOUNT,
    )

    assert (request.action, request.resources) == ("s3:DeleteObject", ("arn:aws:s3:::assets/a",))
    assert [(r.action, r.resources) for r in request.also] == [
        ("s3:DeleteObjectVersion", ("arn:aws:s3:::assets/b",))
    ]


def test_request_of_adds_the_kms_authorizations_aws_makes_for_the_caller() -> None:
    keys = {TOPIC: MESSAGING_KEY, "arn:aws:s3:::assets": ASSETS_KEY}

    publish = request_of(
        "sns", "Publish", {"TopicArn": TOPIC}, region=REGION, account=ACCOUNT, encryption_keys=keys
    )
    copy = request_of(
        "s3",
        "CopyObject",
        {"Bucket": "other", "Key": "b", "CopySource": "assets/a%20b?versionId=v2"},
        region=REGION,
        account=ACCOUNT,
        encryption_keys=keys,
    )

    assert [(r.action, r.resources, r.context["kms:ViaService"]) for r in publish.also] == [
        ("kms:GenerateDataKey", (MESSAGING_KEY,), f"sns.{REGION}.amazonaws.com"),
        ("kms:Decrypt", (MESSAGING_KEY,), f"sns.{REGION}.amazonaws.com"),
    ]
    assert (copy.action, copy.resources) == ("s3:PutObject", ("arn:aws:s3:::other/b",))
    (read,) = copy.also
    assert (read.action, read.resources) == ("s3:GetObjectVersion", ("arn:aws:s3:::assets/a b",))
    assert [(r.action, r.resources) for r in read.also] == [("kms:Decrypt", (ASSETS_KEY,))]


def test_request_of_resolves_secret_names_and_database_hosts() -> None:
    by_name = request_of(
        "secretsmanager",
        "DescribeSecret",
        {"SecretId": "db/app"},
        region=REGION,
        account=ACCOUNT,
        resolve_secret={"db/app": SECRET}.get,
    )
    unknown = request_of(
        "secretsmanager", "DescribeSecret", {"SecretId": "nope"}, region=REGION, account=ACCOUNT
    )
    token = request_of(
        "rds",
        DB_AUTH_TOKEN_OPERATION,
        {"DBHostname": PROXY_HOST, "DBUsername": "app_user", "Region": None},
        region=REGION,
        account=ACCOUNT,
        db_resource_ids={PROXY_HOST: "prx-0123456789abcdef0"},
    )

    assert by_name.resources == (SECRET,)
    assert unknown.resources == (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:nope",)
    assert (token.action, token.resources) == (
        "rds-db:connect",
        (data_rules.proxy_connect_arn(PROXY_ARN, "app_user"),),
    )


@pytest.mark.parametrize(
    ("service", "operation", "params", "message"),
    [
        ("sns", "ListTopics", {}, "sns:ListTopics: local.iam does not model sns.ListTopics"),
        ("s3", "PutBucketCors", {"Bucket": "b"}, "s3:PutBucketCors: local.iam does not model"),
        ("sns", "Publish", {"Message": "m"}, "sns.Publish without TopicArn"),
        ("kms", "Decrypt", {"KeyId": "alias/app"}, "the KMS alias 'alias/app'"),
        ("rds", DB_AUTH_TOKEN_OPERATION, {"DBHostname": "h", "DBUsername": "u"}, "host 'h'"),
    ],
)
def test_request_of_refuses_what_it_does_not_model(
    service: str, operation: str, params: dict, message: str
) -> None:
    with pytest.raises(NotModelled, match=message.replace(".", r"\.")):
        request_of(service, operation, params, region=REGION, account=ACCOUNT)


def test_cognito_calls_made_with_a_user_token_are_not_iam_authorized() -> None:
    request = request_of("cognito-idp", "InitiateAuth", {}, region=REGION, account=ACCOUNT)

    assert request.public
    assert PolicyEvaluator([]).decide_request(request).reason is Reason.NOT_IAM


# --- enforce on moto -------------------------------------------------------------------------
@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    backend_aws.reset_clients()
    with mock_aws():
        yield
    backend_aws.reset_clients()


def enforced(statements: Sequence[Mapping[str, Any]], **kwargs: Any):
    return enforce(
        PolicyEvaluator(statements),
        region=REGION,
        account=ACCOUNT,
        role_name="fn-role",
        function_name="fn",
        **kwargs,
    )


@pytest.fixture
def topics(aws: None) -> tuple[str, str]:
    sns = boto3.client("sns", region_name=REGION)
    return sns.create_topic(Name="events")["TopicArn"], sns.create_topic(Name="other")["TopicArn"]


def test_a_scoped_allow_permits_the_exact_call_and_refuses_another_arn(
    topics: tuple[str, str],
) -> None:
    events, other = topics
    sns = backend_aws.client("sns", REGION)

    with enforced(publisher_statements(events, MESSAGING_KEY, REGION)):
        sns.publish(TopicArn=events, Message="{}")
        with pytest.raises(ClientError) as exc:
            sns.publish(TopicArn=other, Message="{}")

    assert refused(exc) == no_allow("sns:Publish", other)
    assert exc.value.operation_name == "Publish"


def test_removing_one_statement_refuses_the_call_it_granted(topics: tuple[str, str]) -> None:
    events, _ = topics
    statements = publisher_statements(events, MESSAGING_KEY, REGION)
    keys = {events: MESSAGING_KEY}
    sns = boto3.client("sns", region_name=REGION)

    with (
        enforced(without(statements, "PublishDomainEvents"), encryption_keys=keys),
        pytest.raises(ClientError) as publish,
    ):
        sns.publish(TopicArn=events, Message="{}")
    with (
        enforced(without(statements, "EncryptDomainEvents"), encryption_keys=keys),
        pytest.raises(ClientError) as encrypt,
    ):
        sns.publish(TopicArn=events, Message="{}")
    with enforced(statements, encryption_keys=keys):
        sns.publish(TopicArn=events, Message="{}")

    assert refused(publish) == no_allow("sns:Publish", events)
    # Publishing to a CMK topic also needs the key, through SNS (kms:ViaService).
    assert refused(encrypt) == no_allow("kms:GenerateDataKey", MESSAGING_KEY)


def test_an_explicit_deny_refuses_a_call_an_allow_grants(topics: tuple[str, str]) -> None:
    events, _ = topics
    statements = [
        *publisher_statements(events, MESSAGING_KEY, REGION),
        {"Sid": "Freeze", "Effect": "Deny", "Action": "sns:*", "Resource": "*"},
    ]

    with enforced(statements), pytest.raises(ClientError) as exc:
        boto3.client("sns", region_name=REGION).publish(TopicArn=events, Message="{}")

    assert refused(exc)[2] == (
        f"User: {PRINCIPAL} is not authorized to perform: sns:Publish on resource: {events} "
        "with an explicit deny in an identity-based policy"
    )


def test_an_unmodelled_operation_is_refused_not_waved_through(aws: None) -> None:
    sns = boto3.client("sns", region_name=REGION)

    with enforced([allow("All", "*", "*")]), pytest.raises(ClientError) as exc:
        sns.list_topics()

    assert refused(exc) == (
        "AccessDenied",
        403,
        f"User: {PRINCIPAL} is not authorized to perform: sns:ListTopics on resource: unknown "
        "because local.iam does not model sns.ListTopics: no rule derives its action and "
        "resources",
    )


def test_clients_made_before_installation_and_uninstalling(topics: tuple[str, str]) -> None:
    events, _ = topics
    before = boto3.client("sns", region_name=REGION)
    installed = enforced([])

    with pytest.raises(ClientError):
        before.publish(TopicArn=events, Message="{}")
    with pytest.raises(RuntimeError, match="already installed"):
        enforced([])
    installed.uninstall()

    assert before.publish(TopicArn=events, Message="{}")["MessageId"]


def test_the_harness_can_exempt_its_own_clients(topics: tuple[str, str]) -> None:
    events, _ = topics
    harness = exempt(boto3.client("sns", region_name=REGION))
    function = boto3.client("sns", region_name=REGION)

    with enforced([]):
        harness.publish(TopicArn=events, Message="{}")
        with unchecked():
            function.publish(TopicArn=events, Message="{}")
        with pytest.raises(ClientError):
            function.publish(TopicArn=events, Message="{}")


def test_powertools_parameters_are_checked_with_names_resolved_to_arns(aws: None) -> None:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    sm = boto3.client("secretsmanager", region_name=REGION)
    master = sm.create_secret(Name=data_rules.secret_name(ENV), SecretString="m")["ARN"]
    app = sm.create_secret(Name=data_rules.app_secret_name(ENV), SecretString="a")["ARN"]
    other = sm.create_secret(Name="unrelated", SecretString="x")["ARN"]
    DEFAULT_PROVIDERS.clear()
    parameters.get_secret(data_rules.secret_name(ENV))  # a provider made before installation

    try:
        with enforced(data_rules.migration_statements(master, app, MESSAGING_KEY, REGION)):
            value = parameters.get_secret(data_rules.app_secret_name(ENV), force_fetch=True)
            with pytest.raises(parameters.exceptions.GetParameterError) as exc:
                parameters.get_secret("unrelated", force_fetch=True)
    finally:
        DEFAULT_PROVIDERS.clear()

    assert value == "a"
    # Powertools re-raises every provider error as GetParameterError with the same text.
    assert str(exc.value) == (
        "An error occurred (AccessDenied) when calling the GetSecretValue operation: "
        + no_allow("secretsmanager:GetSecretValue", other)[2]
    )


# --- the stacks' own policies, driven by the functions' code ---------------------------------
BUCKET_NAME = "mobile-backend-dev-assets-eu-west-1"


@pytest.fixture
def api_world(aws: None) -> dict[str, Any]:
    sns = boto3.client("sns", region_name=REGION)
    names = resource_names(ENV)
    topic = sns.create_topic(Name=names["topic"])["TopicArn"]
    fcm = sns.create_platform_application(
        Name=names["fcm"], Platform="GCM", Attributes={"PlatformCredential": "key"}
    )["PlatformApplicationArn"]
    assert fcm == platform_application_arn(REGION, ACCOUNT, "GCM", names["fcm"])
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET_NAME, CreateBucketConfiguration={"LocationConstraint": REGION})
    applications = {"fcm": (PUSH_PLATFORMS["fcm"], names["fcm"], fcm)}
    statements = [
        # components/database.py `app_statements` (not a pure function there).
        {
            "Sid": "ConnectThroughRdsProxyWithIam",
            "Effect": "Allow",
            "Action": ["rds-db:connect"],
            "Resource": data_rules.proxy_connect_arn(PROXY_ARN, data_rules.APP_USERNAME),
        },
        *api_statements(REGION, assets_bucket_name=BUCKET_NAME, assets_key_arn=ASSETS_KEY),
        *publisher_statements(topic, MESSAGING_KEY, REGION),
        *push_statements(REGION, ACCOUNT, applications),
    ]
    return {
        "topic": topic,
        "fcm": fcm,
        "statements": statements,
        "keys": {topic: MESSAGING_KEY, f"arn:aws:s3:::{BUCKET_NAME}": ASSETS_KEY},
    }


def api_enforced(world: dict[str, Any], statements: Sequence[Mapping[str, Any]] | None = None):
    return enforced(
        world["statements"] if statements is None else statements,
        encryption_keys=world["keys"],
        db_resource_ids={PROXY_HOST: PROXY_ARN.rsplit(":", 1)[1]},
    )


CALLER = Caller(sub="3f0c1b2a-7d4e-4a8b-9c1d-2e3f4a5b6c7d", email=None, groups=frozenset())


def test_the_api_role_presigns_only_inside_the_uploads_prefix(api_world: dict) -> None:
    s3 = backend_aws.client("s3", REGION)
    request = UploadRequest(filename="scan.pdf", content_type="application/pdf", size=10)

    with api_enforced(api_world):
        ticket = uploads.create_upload(s3, bucket=BUCKET_NAME, caller=CALLER, request=request)
        with pytest.raises(ClientError) as outside:
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET_NAME, "Key": "private/other/scan.pdf"}
            )

    assert ticket.key.startswith(f"uploads/{CALLER.sub}/")
    assert refused(outside) == no_allow(
        "s3:GetObject", f"arn:aws:s3:::{BUCKET_NAME}/private/other/scan.pdf"
    )


def test_the_api_role_downloads_with_head_and_presigned_get(api_world: dict) -> None:
    s3 = backend_aws.client("s3", REGION)
    key = f"uploads/{CALLER.sub}/{uuid.uuid4()}-scan.pdf"
    s3.put_object(Bucket=BUCKET_NAME, Key=key, Body=b"x")

    with api_enforced(api_world):
        ticket = uploads.create_download(
            s3, bucket=BUCKET_NAME, caller=CALLER, opaque_id=uploads.upload_id(key)
        )
    with (
        api_enforced(api_world, without(api_world["statements"], "EncryptUploadsWithTheBucketKey")),
        pytest.raises(ClientError) as no_key,
    ):
        uploads.create_download(
            s3, bucket=BUCKET_NAME, caller=CALLER, opaque_id=uploads.upload_id(key)
        )

    assert key in ticket.url
    # HEAD passed (no decryption); the presigned GET needs the bucket key through S3.
    assert refused(no_key) == no_allow("kms:Decrypt", ASSETS_KEY)


def test_the_api_role_cannot_list_the_bucket_not_even_its_uploads_prefix(api_world: dict) -> None:
    s3 = boto3.client("s3", region_name=REGION)

    with api_enforced(api_world), pytest.raises(ClientError) as own_prefix:
        s3.list_objects_v2(Bucket=BUCKET_NAME, Prefix=f"uploads/{CALLER.sub}/")

    assert refused(own_prefix) == no_allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET_NAME}")


def test_the_api_role_registers_devices_and_pushes_only_to_its_applications(
    api_world: dict,
) -> None:
    sns = boto3.client("sns", region_name=REGION)
    stranger = sns.create_platform_application(
        Name="someone-else", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )["PlatformApplicationArn"]

    with api_enforced(api_world):
        endpoint = sns.create_platform_endpoint(
            PlatformApplicationArn=api_world["fcm"], Token="device-token"
        )["EndpointArn"]
        sns.publish(
            TargetArn=endpoint, Message=json.dumps({"default": "hi"}), MessageStructure="json"
        )
        sns.get_endpoint_attributes(EndpointArn=endpoint)
        with pytest.raises(ClientError) as exc:
            sns.create_platform_endpoint(PlatformApplicationArn=stranger, Token="t")

    assert refused(exc) == no_allow("sns:CreatePlatformEndpoint", stranger)


def test_the_api_role_connects_to_the_proxy_as_the_app_user_only(api_world: dict) -> None:
    rds = boto3.client("rds", region_name=REGION)

    with api_enforced(api_world):
        token = rds.generate_db_auth_token(PROXY_HOST, 5432, data_rules.APP_USERNAME)
        with pytest.raises(ClientError) as master:
            rds.generate_db_auth_token(PROXY_HOST, 5432, data_rules.MASTER_USERNAME)
        with pytest.raises(ClientError) as unmapped:
            rds.generate_db_auth_token("elsewhere.example", 5432, data_rules.APP_USERNAME)

    assert token.startswith(f"{PROXY_HOST}:5432/?Action=connect&DBUser=app_user")
    assert refused(master) == no_allow(
        "rds-db:connect", data_rules.proxy_connect_arn(PROXY_ARN, data_rules.MASTER_USERNAME)
    )
    assert refused(unmapped)[2].endswith(
        "because local.iam does not model the resource id of database host "
        "'elsewhere.example' (see db_resource_ids)"
    )


def test_the_subscriber_role_consumes_its_queue_through_the_local_mapping(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=resource_names(ENV)["queue"])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    statements = subscriber_statements(arn, MESSAGING_KEY, REGION)

    with enforced(statements, encryption_keys={arn: MESSAGING_KEY}):
        result = poll_once(sqs, url, arn, REGION, lambda event, context: None, None, wait_seconds=0)
        with pytest.raises(ClientError) as send:
            sqs.send_message(QueueUrl=url, MessageBody="{}")

    assert (result.received, result.deleted) == (1, 1)
    assert refused(send) == no_allow("sqs:SendMessage", arn)


def test_the_rotation_role_runs_create_secret_on_its_secret_only(aws: None) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    body = json.dumps({"host": "h", "username": "app_user", "password": "old"})
    secret = sm.create_secret(Name=data_rules.app_secret_name(ENV), SecretString=body)["ARN"]
    origin = sm.create_secret(Name="origin-verify", SecretString="v")["ARN"]
    token = str(uuid.uuid4())
    statements = data_rules.rotation_statements([secret], MESSAGING_KEY, REGION)

    with enforced(statements):
        rotation.create_secret(sm, secret, token)
        with pytest.raises(ClientError) as exc:
            sm.get_secret_value(SecretId=origin)

    pending = sm.get_secret_value(SecretId=secret, VersionId=token, VersionStage="AWSPENDING")
    assert json.loads(pending["SecretString"])["password"] != "old"
    assert refused(exc) == no_allow("secretsmanager:GetSecretValue", origin)


def test_the_migration_trigger_reaches_peer_pools_and_the_directory_alias_only(aws: None) -> None:
    pools = {}
    for region in (REGION, PEER):
        idp = boto3.client("cognito-idp", region_name=region)
        pool_id = idp.create_user_pool(PoolName=user_pool_name(ENV))["UserPool"]["Id"]
        idp.create_user_pool_client(UserPoolId=pool_id, ClientName=MIGRATION_CLIENT_NAME)
        pools[region] = pool_id
    directory = function_name(ENV, "user_directory")
    alias = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{directory}:live"
    statements = user_migration_statements(ACCOUNT, [PEER], alias)
    idp_for = lambda region: boto3.client("cognito-idp", region_name=region)  # noqa: E731
    lam = boto3.client("lambda", region_name=REGION)

    with enforced(statements):
        (peer,) = user_migration.discover_peer_pools(
            user_pool_name(ENV), [PEER], MIGRATION_CLIENT_NAME, idp_for
        )
        found = user_migration.peer_pool_source(peer, idp_for(PEER))("nobody@example.com", None)
        with pytest.raises(ClientError) as own_pool:
            idp_for(REGION).admin_get_user(UserPoolId=pools[REGION], Username="nobody")
        with pytest.raises(ClientError) as alias_call:
            user_migration.lambda_invoker(lam, alias)({"username": "nobody"})
        with pytest.raises(ClientError) as unqualified:
            user_migration.lambda_invoker(lam, directory)({"username": "nobody"})

    assert (peer.region, peer.user_pool_id, found) == (PEER, pools[PEER], None)
    assert refused(own_pool) == no_allow(
        "cognito-idp:AdminGetUser",
        f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pools[REGION]}",
    )
    # The alias passed IAM and reached moto (which has no such function).
    assert alias_call.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert refused(unqualified) == no_allow(
        "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{directory}"
    )
