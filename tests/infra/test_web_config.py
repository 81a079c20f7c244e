"""Each regional stack writes the web app's config.json, naming its own user pool and web
client, into its own region's web bucket (the global contract's ``webBuckets``)."""

from __future__ import annotations

import json

from components.web_content import web_config
from stacks import contract

OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
API_KEY = "aws:apigateway/apiKey:ApiKey"


def _plain(value):
    # The provider marks an ApiKey's value secret: the recorded input is the secret envelope.
    return value["value"] if isinstance(value, dict) else value


def test_config_json_names_the_regions_pool_in_the_regions_web_bucket(
    global_synth, regional_synths
):
    web_buckets = global_synth.outputs[contract.WEB_BUCKETS]
    for stack, synth in regional_synths.items():
        region = synth.outputs[contract.REGIONAL_REGION]
        config = synth.one(OBJECT, lambda r: r.inputs.get("key") == "config.json")
        pool = synth.one(POOL)
        web_client = synth.one(CLIENT, lambda r: r.inputs.get("name") == "web")
        web_key = synth.one(API_KEY, lambda r: r.inputs.get("name").endswith("-web"))
        assert config.inputs["bucket"] == web_buckets[region], f"{stack}: {config} bucket"
        assert synth.region_of(config) == region, f"{stack}: {config} written from another region"
        assert config.inputs["contentType"] == "application/json"
        assert config.inputs["cacheControl"] == "no-cache", f"{stack}: a stale pool id would stick"
        assert json.loads(config.inputs["content"]) == {
            "region": region,
            "userPoolId": pool.mock_id,
            "clientId": web_client.mock_id,
            "cognitoEndpoint": f"https://cognito-idp.{region}.amazonaws.com/",
            "apiBase": "/api",
            # The web app's key, the same value the region's web ApiKey has (R-OPS-2).
            "apiKey": _plain(web_key.inputs["value"]),
        }, f"{stack}: {config} content"


def test_the_web_files_never_ship_a_config_json(global_synth):
    # The regional object would fight the global stack's upload of the same key.
    keys = [r.inputs.get("key") for r in global_synth.of_type(OBJECT)]
    assert keys and "config.json" not in keys


def test_local_and_deployed_configs_have_the_same_keys():
    deployed = web_config("eu-west-1", "eu-west-1_abc", "client", "k" * 20)
    local = web_config("eu-west-1", "eu-west-1_abc", "client", "k" * 20, "http://127.0.0.1:5000")
    assert deployed.keys() == local.keys()
    assert local["cognitoEndpoint"] == "http://127.0.0.1:5000/"


def test_the_browser_may_put_presigned_uploads_from_the_web_apps_origin(global_synth):
    domain = global_synth.outputs[contract.DOMAIN]
    regions = global_synth.outputs[contract.REGIONS]
    policy = global_synth.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    csp = policy.inputs["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
    for region in regions:
        # backend.aws signs path-style URLs on the regional endpoint.
        assert f"https://s3.{region}.amazonaws.com" in connect, f"{policy}: {csp}"
        assert f"https://cognito-idp.{region}.amazonaws.com" in connect, f"{policy}: {csp}"
    cors = global_synth.of_type("aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2")
    assets = [global_synth.named(f"assets-{region}").mock_id for region in regions]
    assert sorted(r.inputs["bucket"] for r in cors) == sorted(assets), "one CORS per assets bucket"
    for resource in cors:
        (rule,) = resource.inputs["corsRules"]
        assert sorted(rule["allowedOrigins"]) == [f"https://{domain}", f"https://www.{domain}"]
        assert "*" not in rule["allowedOrigins"], f"{resource} admits every origin"
        assert rule["allowedMethods"] == ["PUT", "GET"]
