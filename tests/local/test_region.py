"""The local region is the synthesized dev region (R-DEV-2): every property the local cloud
holds comes from the graph, every function gets its stack's environment and policy through the
translation table, and whatever the graph names but the region lacks fails loudly."""

from __future__ import annotations

import copy
import json

import pytest
from botocore.exceptions import ClientError
from moto.moto_api._internal.models import moto_api_backend

from local.cloud import client
from local.region import Graph
from local.shapes import UnmappedProperty
from local.synthesis import Resource
from local.translation import References, Resolver, Translation, WiringGap
from tests.local.conftest import DB_PORT, WEB_ORIGIN, build

QUEUE = "aws:sqs/queue:Queue"


def _aws(region, service):
    return client(service, region.endpoint, region.region)


def _synthesized(graph: Graph, typ: str, **inputs) -> list[Resource]:
    return [
        r
        for r in graph.regional_stack.of_type(typ) + graph.global_stack.of_type(typ)
        if all(r.inputs.get(k) == v for k, v in inputs.items())
    ]


# --- the resources -----------------------------------------------------------------------------
def test_queues_carry_the_synthesized_attributes(graph, region):
    sqs = _aws(region, "sqs")
    queues = [q for q in graph.regional_stack.of_type(QUEUE)]
    assert {q.inputs["name"] for q in queues} == set(region.queues)
    for queue in queues:
        url = region.queues[queue.inputs["name"]]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert int(attributes["MessageRetentionPeriod"]) == queue.inputs["messageRetentionSeconds"]
        assert (
            int(attributes["ReceiveMessageWaitTimeSeconds"])
            == queue.inputs["receiveWaitTimeSeconds"]
        )
        if "visibilityTimeoutSeconds" in queue.inputs:
            assert int(attributes["VisibilityTimeout"]) == queue.inputs["visibilityTimeoutSeconds"]
        if "redrivePolicy" in queue.inputs:
            synthesized = json.loads(queue.inputs["redrivePolicy"])
            local = json.loads(attributes["RedrivePolicy"])
            assert local["maxReceiveCount"] == synthesized["maxReceiveCount"]
            dlq_name = local["deadLetterTargetArn"].rsplit(":", 1)[1]
            assert dlq_name in region.queues and dlq_name.endswith("-events-dlq")


def test_the_subscription_delivers_raw_messages_and_has_its_redrive(graph, region):
    (synthesized,) = _synthesized(
        graph, "aws:sns/topicSubscription:TopicSubscription", protocol="sqs"
    )
    source = region.event_sources[0]
    sns = _aws(region, "sns")
    topic = region.functions["api"].environment["EVENTS_TOPIC_ARN"]
    (subscription,) = [
        s
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if s["Protocol"] == "sqs"
    ]
    assert subscription["Endpoint"] == source.queue_arn
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
        "Attributes"
    ]
    assert attributes["RawMessageDelivery"] == str(synthesized.inputs["rawMessageDelivery"]).lower()
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":mobile-backend-dev-events-delivery-dlq")
    sns.publish(TopicArn=topic, Message=json.dumps({"hello": "raw"}))
    received = _aws(region, "sqs").receive_message(QueueUrl=source.queue_url, WaitTimeSeconds=1)
    assert [json.loads(m["Body"]) for m in received["Messages"]] == [{"hello": "raw"}]


def test_buckets_carry_versioning_cors_and_policy(graph, region):
    s3 = _aws(region, "s3")
    assets = next(b for b in region.buckets if "-assets-" in b)
    assert s3.get_bucket_versioning(Bucket=assets)["Status"] == "Enabled"
    (cors,) = s3.get_bucket_cors(Bucket=assets)["CORSRules"]
    (synthesized,) = [
        r
        for r in graph.global_stack.resources
        if r.type.startswith("aws:s3/bucketCors") and graph.global_stack.region_of(r) == "eu-west-1"
    ]
    rule = synthesized.inputs["corsRules"][0]
    # The site's https://<domain> and https://www.<domain> are this machine's web origin.
    assert set(cors["AllowedOrigins"]) == {WEB_ORIGIN}
    assert len(rule["allowedOrigins"]) == 2
    assert cors["AllowedMethods"] == rule["allowedMethods"]
    assert cors["AllowedHeaders"] == rule["allowedHeaders"]
    policy = json.loads(s3.get_bucket_policy(Bucket=assets)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport"]
    block = s3.get_public_access_block(Bucket=assets)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_the_pool_has_the_synthesized_schema_policy_mfa_and_clients(graph, region):
    (pool,) = graph.regional_stack.of_type("aws:cognito/userPool:UserPool")
    idp = _aws(region, "cognito-idp")
    local = idp.describe_user_pool(UserPoolId=region.user_pool_id)["UserPool"]
    assert local["Name"] == pool.inputs["name"] == "mobile-backend-dev-users"
    uid = next(a for a in local["SchemaAttributes"] if a["Name"] == "custom:uid")
    assert uid["Mutable"] is False
    assert uid["StringAttributeConstraints"] == {"MinLength": "36", "MaxLength": "36"}
    policy = local["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == pool.inputs["passwordPolicy"]["minimumLength"] == 12
    assert policy["RequireSymbols"] is True
    assert local["UsernameAttributes"] == ["email"]
    mfa = idp.get_user_pool_mfa_config(UserPoolId=region.user_pool_id)
    assert mfa["MfaConfiguration"] == pool.inputs["mfaConfiguration"] == "OPTIONAL"
    for synthesized in graph.regional_stack.of_type("aws:cognito/userPoolClient:UserPoolClient"):
        name = synthesized.inputs["name"]
        app = idp.describe_user_pool_client(
            UserPoolId=region.user_pool_id, ClientId=region.client_ids[name]
        )["UserPoolClient"]
        assert app["ExplicitAuthFlows"] == synthesized.inputs["explicitAuthFlows"], name
        assert app.get("WriteAttributes") == synthesized.inputs.get("writeAttributes"), name
        assert "custom:uid" not in (app.get("WriteAttributes") or []), name


def _new_user(region, email: str, uid: str | None = None) -> None:
    attributes = [{"Name": "email", "Value": email}]
    if uid:
        attributes.append({"Name": "custom:uid", "Value": uid})
    _aws(region, "cognito-idp").sign_up(
        ClientId=region.client_ids["web"],
        Username=email,
        Password="Signup-Passw0rd!",
        UserAttributes=attributes,
    )


def test_the_local_pool_refuses_custom_uid_at_sign_up(region):
    victim = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(ClientError) as refused:
        _new_user(region, "thief@example.com", uid=victim)
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert "unauthorized attribute" in refused.value.response["Error"]["Message"]


def test_the_local_pool_refuses_custom_uid_on_update_user_attributes(region):
    idp = _aws(region, "cognito-idp")
    _new_user(region, "updater@example.com")
    idp.admin_confirm_sign_up(UserPoolId=region.user_pool_id, Username="updater@example.com")
    access = idp.initiate_auth(
        ClientId=region.client_ids["web"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "updater@example.com", "PASSWORD": "Signup-Passw0rd!"},
    )["AuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as refused:
        idp.update_user_attributes(
            AccessToken=access,
            UserAttributes=[{"Name": "custom:uid", "Value": "11111111-2222-3333-4444-55555555"}],
        )
    assert refused.value.response["Error"]["Code"] in (
        "NotAuthorizedException",
        "InvalidParameterException",
    )
    user = idp.admin_get_user(UserPoolId=region.user_pool_id, Username="updater@example.com")
    assert "custom:uid" not in {a["Name"] for a in user["UserAttributes"]}


def test_db_secrets_point_at_the_local_server(region):
    secrets = _aws(region, "secretsmanager")
    app = json.loads(
        secrets.get_secret_value(SecretId=region.functions["api"].environment["DB_SECRET_ARN"])[
            "SecretString"
        ]
    )
    assert (app["host"], app["port"], app["username"]) == ("127.0.0.1", DB_PORT, "app_user")


# --- the functions ---------------------------------------------------------------------------
def _variables(graph: Graph, name: str) -> dict[str, str]:
    (function,) = _synthesized(graph, "aws:lambda/function:Function", name=name)
    return function.inputs["environment"]["variables"]


def test_functions_get_their_stack_environment_with_only_references_translated(graph, region):
    for key in ("api", "subscriber", "authorizer", "migrations"):
        local = region.functions[key]
        synthesized = _variables(graph, local.function_name)
        assert set(local.environment) == set(synthesized), key
        changed = {k for k in synthesized if local.environment[k] != synthesized[k]}
        # Only what names a resource, an endpoint or its port differs.
        assert changed <= {
            "EVENTS_TOPIC_ARN",
            "DB_SECRET_ARN",
            "DB_HOST",
            "DB_READER_HOST",
            "DB_PORT",
        }, key
    api = region.functions["api"].environment
    assert api["DB_HOST"] == api["DB_READER_HOST"] == "127.0.0.1"
    assert api["DB_PORT"] == str(DB_PORT)
    assert api["ASSETS_BUCKET"] == next(b for b in region.buckets if "-assets-" in b)


def test_policies_name_the_local_resources(region):
    def resources(key: str, sid: str) -> list[str]:
        (statement,) = [s for s in region.functions[key].statements if s.get("Sid") == sid]
        found = statement["Resource"]
        return found if isinstance(found, list) else [found]

    source = region.event_sources[0]
    assert resources("subscriber", "ConsumeEventsQueue") == [source.queue_arn]
    assert resources("api", "PublishDomainEvents") == [
        region.functions["api"].environment["EVENTS_TOPIC_ARN"]
    ]
    (connect,) = resources("api", "ConnectThroughRdsProxyWithIam")
    proxy_id = region.database.db_resource_ids["127.0.0.1"]
    assert connect == f"arn:aws:rds-db:eu-west-1:123456789012:dbuser:{proxy_id}/app_user"
    assert proxy_id.startswith("prx-")


def test_the_event_source_mapping_is_the_synthesized_one(graph, region):
    (mapping,) = graph.regional_stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    (queue,) = _synthesized(graph, QUEUE, name="mobile-backend-dev-events")
    (source,) = region.event_sources
    assert source.function == "subscriber"
    assert source.batch_size == mapping.inputs["batchSize"]
    assert source.window_seconds == mapping.inputs["maximumBatchingWindowInSeconds"]
    assert source.report_batch_item_failures is True
    assert source.visibility_timeout_seconds == queue.inputs["visibilityTimeoutSeconds"]
    assert source.max_receive_count == json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"]


# --- what the local region refuses -----------------------------------------------------------
def _mutated(graph: Graph, change) -> Graph:
    regional = copy.deepcopy(graph.regional_stack)
    change(regional)
    return Graph(graph.environment, graph.region, graph.global_stack, regional)


def _refused(graph: Graph, error: type[Exception]) -> str:
    moto_api_backend.reset()
    try:
        with pytest.raises(error) as refused:
            cloud, _ = build(graph)
            cloud.stop()
    finally:
        moto_api_backend.reset()
    return str(refused.value)


def test_a_function_wired_to_another_regions_bucket_is_a_wiring_gap(graph, region):
    us_bucket = next(
        r
        for r in graph.global_stack.of_type("aws:s3/bucket:Bucket")
        if "-assets-us-west-1-" in r.inputs["bucket"]
    )

    def wire_to_us(regional):
        (api,) = [
            f
            for f in regional.of_type("aws:lambda/function:Function")
            if f.inputs["name"].endswith("-api")
        ]
        api.inputs["environment"]["variables"]["ASSETS_BUCKET_ARN"] = us_bucket.outputs["arn"]

    message = _refused(_mutated(graph, wire_to_us), WiringGap)
    assert "function mobile-backend-dev-api environment ASSETS_BUCKET_ARN" in message
    assert "assets-us-west-1" in message and "does not have" in message


def test_a_property_the_local_cloud_cannot_apply_stops_the_build(graph, region):
    def add_property(regional):
        queue = regional.of_type(QUEUE)[0]
        queue.inputs["sqsFutureFeature"] = True

    message = _refused(_mutated(graph, add_property), UnmappedProperty)
    assert "sqsFutureFeature" in message and "NOT_APPLIED" in message


def test_a_resource_type_nobody_decided_on_stops_the_build(graph, region):
    def add_type(regional):
        extra = copy.deepcopy(regional.of_type(QUEUE)[0])
        extra.type = "aws:sqs/newThing:NewThing"
        regional.resources.append(extra)

    message = _refused(_mutated(graph, add_type), UnmappedProperty)
    assert "aws:sqs/newThing:NewThing" in message and "NOT_MODELLED" in message


# --- the translation table (pure) --------------------------------------------------------------
def test_translation_matches_whole_values_or_a_boundary_never_a_substring():
    table = Translation(aws_endpoint="http://127.0.0.1:5000")
    table.add("arn:aws:sqs:eu-west-1:1:messaging-queue", "arn:local:queue", "queue")
    assert table.lookup("arn:aws:sqs:eu-west-1:1:messaging-queue") == "arn:local:queue"
    assert table.lookup("arn:aws:sqs:eu-west-1:1:messaging-queue/x") == "arn:local:queue/x"
    assert table.lookup("arn:aws:sqs:eu-west-1:1:messaging-queue:*") == "arn:local:queue:*"
    assert table.lookup("arn:aws:sqs:eu-west-1:1:messaging-queue-dlq") is None
    assert table.lookup("https://cognito-idp.eu-west-1.amazonaws.com/") == "http://127.0.0.1:5000/"


def test_one_synthesized_value_cannot_name_two_local_ones():
    table = Translation()
    table.add("same-id", "local-a", "first")
    table.add("same-id", "local-a", "first again")  # the same answer twice is fine
    with pytest.raises(ValueError, match="two resources share one synthesized identifier"):
        table.add("same-id", "local-b", "second")


def test_the_resolver_passes_unmodelled_types_and_refuses_unrecorded_ones(graph):
    references = References([graph.global_stack, graph.regional_stack])
    resolver = Resolver(Translation(), references, {"aws:kms/key:Key": "not modelled"})
    key = graph.regional_stack.of_type("aws:kms/key:Key")[0].outputs["arn"]
    assert resolver.value(key, "x") == key
    queue = graph.regional_stack.of_type(QUEUE)[0].outputs["arn"]
    with pytest.raises(WiringGap, match="names aws:sqs/queue:Queue"):
        resolver.value(queue, "function f environment Q")
    assert resolver.value("INFO", "x") == "INFO"


def test_the_web_app_gets_the_edges_synthesized_headers(graph, region):
    (policy,) = graph.global_stack.of_type(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
    )
    synthesized = policy.inputs["securityHeadersConfig"]["contentSecurityPolicy"][
        "contentSecurityPolicy"
    ]
    csp = region.web_headers["Content-Security-Policy"]
    # The same policy, directive for directive, with the AWS hosts the page talks to (Cognito
    # and S3 of each region) replaced by the local cloud.
    assert [d.split()[0] for d in csp.split("; ")] == [
        d.split()[0] for d in synthesized.split("; ")
    ]
    img = next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert img == next(d for d in synthesized.split("; ") if d.startswith("img-src"))
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src")).split()
    assert region.endpoint in connect and not any("amazonaws.com" in s for s in connect)
    assert region.web_headers["X-Frame-Options"] == "DENY"
    assert region.web_headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=()"


def test_the_local_gateway_gets_the_app_keys_bound_to_the_stages_usage_plans(graph, region):
    # R-OPS-2: exactly the global stack's appKeys, which the web app's config.json carries too.
    assert region.api_keys == graph.global_stack.outputs["appKeys"]
    assert region.web_config["apiKey"] == region.api_keys["web"]
    body = region.api_document
    assert body["x-amazon-apigateway-api-key-source"] == "HEADER"


def test_a_secondary_region_is_refused_with_the_reason_and_nothing_left_running(
    tmp_path, monkeypatch
):
    import socket

    from local import backend as backend_module
    from local.region import UnsupportedRegion

    started = []
    original_start = backend_module.LocalPostgres.start

    def recording_start(self):
        started.append(self)
        return original_start(self)

    monkeypatch.setattr(backend_module.LocalPostgres, "start", recording_start)
    backend = backend_module.LocalBackend(tmp_path / "dev", region="us-west-1")
    with pytest.raises(UnsupportedRegion, match=r"secondary region; .* the primary, eu-west-1"):
        backend.start()
    # PostgreSQL had started alongside synthesis: the failed start stopped it again.
    assert len(started) == 1 and backend.pg is None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", started[0].port)) != 0, "PostgreSQL still listening"
