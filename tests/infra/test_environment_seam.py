"""R-SEAM-1/2: every function of every synthesized stack is deployed with an environment its
handler's own settings code accepts, and a component that forgets an assignment fails
synthesis naming the function and the variable."""

from __future__ import annotations

import dataclasses
import json
import os

import pulumi
import pytest

import components.function as function_module
from contract import environment as env
from contract import names
from contract.functions import FUNCTIONS, SPECS
from handlers import common
from tests.infra.harness import GLOBAL_STACK as GLOBAL
from tests.infra.harness import Synthesis, global_stack_name, synthesize

FUNCTION = "aws:lambda/function:Function"


def deployed_functions(synth: Synthesis) -> dict[str, tuple[str, dict[str, str], str]]:
    """spec name → (physical name, environment variables, region) as synthesized."""
    found = {}
    for resource in synth.of_type(FUNCTION):
        handler = resource.inputs["handler"]
        spec = next(s for s in SPECS.values() if s.handler == handler)
        variables = resource.inputs.get("environment", {}).get("variables", {})
        found[spec.name] = (resource.inputs["name"], variables, synth.region_of(resource))
    return found


def handler_settings(function: str) -> list[object]:
    """What the handler itself parses from ``os.environ`` at its first invocation."""
    if function == "api":
        return [common.db_settings(), common.api_settings(), env.Telemetry.from_env()]
    if function in ("subscriber", "user_directory", "migrations"):
        return [common.db_settings(), env.Telemetry.from_env()]
    if function == "dr_probe":
        from backend.dr_probe import writer_settings

        return [common.db_settings(), writer_settings(common.db_settings())]
    if function == "user_migration":
        return [common.migration_trigger_settings(), env.Telemetry.from_env()]
    if function == "authorizer":
        from handlers.authorizer import main

        main._settings = None
        return [main.settings()]
    if function == "push_relay":
        from handlers.push_relay import main

        main._settings = None
        return [main.settings()]
    if function == "db_rotation":
        from handlers.db_rotation import main

        return [main.settings(), env.Telemetry.from_env()]
    if function == "origin_verify_rotation":
        from handlers.origin_verify_rotation.rotation import RotationConfig

        return [RotationConfig.from_env(os.environ)]
    raise AssertionError(f"no handler settings known for {function}: add it here")


def test_every_function_is_deployed_and_every_handler_has_a_schema(all_synths):
    deployed = set()
    for synth in all_synths.values():
        deployed |= set(deployed_functions(synth))
    assert deployed == set(FUNCTIONS) == set(env.SCHEMAS)


def test_each_deployed_environment_parses_with_the_handlers_own_settings_code(
    all_synths, monkeypatch
):
    checked: dict[str, set[str]] = {}
    for stack, synth in all_synths.items():
        for function, (name, variables, region) in deployed_functions(synth).items():
            # What Lambda adds at run time; nothing else is written by hand here.
            runtime = {"AWS_REGION": region, "AWS_LAMBDA_FUNCTION_NAME": name}
            monkeypatch.setattr(os, "environ", {**variables, **runtime})
            common.reset()
            parsed = handler_settings(function)
            assert all(parsed), f"{stack} {function}"
            assert env.SCHEMAS[function].problems(variables) == [], f"{stack} {function}"
            checked.setdefault(stack, set()).add(function)
    common.reset()
    from handlers.authorizer import main as authorizer

    authorizer._settings = None  # parsed from this test's environments: forget them
    # dr_probe: every region, whatever its role (the Region switch plans' custom steps).
    app = {
        "api",
        "subscriber",
        "user_directory",
        "user_migration",
        "authorizer",
        "push_relay",
        "dr_probe",
    }
    # Migrations run in the writer region, DB secret rotation in the secret's home region.
    assert checked == {
        GLOBAL: {"origin_verify_rotation"},
        "prod-eu": app | {"migrations", "db_rotation"},
        "prod-us": app,
    }


def test_the_api_gets_its_regions_assets_bucket_and_only_the_grants_its_routes_use(
    global_synth, regional_synths
):
    buckets = global_synth.outputs["assetsBuckets"]
    keys = global_synth.outputs["assetsKeyArns"]
    for stack, synth in regional_synths.items():
        _, variables, region = deployed_functions(synth)["api"]
        bucket = buckets[region]
        assert variables["ASSETS_BUCKET"] == bucket["name"], stack
        policy = json.loads(synth.named("logic-api-policy").inputs["policy"])
        by_sid = {s.get("Sid"): s for s in policy["Statement"]}
        assert by_sid["PresignUploadsAndDownloads"]["Resource"] == [
            f"{bucket['arn']}/{names.UPLOADS_PREFIX}*"
        ], stack
        assert by_sid["PresignUploadsAndDownloads"]["Action"] == ["s3:PutObject", "s3:GetObject"]
        assert by_sid["EncryptUploadsWithTheBucketKey"]["Resource"] == [keys[region]], stack
        s3_actions = {a for s in policy["Statement"] for a in s["Action"] if a.startswith("s3:")}
        assert s3_actions == {"s3:PutObject", "s3:GetObject"}, stack
        identity = json.loads(synth.named("identity-authenticated-own-prefix").inputs["policy"])
        resources = {r for s in identity["Statement"] for r in s["Resource"]}
        assert f"{bucket['arn']}/private/${{cognito-identity.amazonaws.com:sub}}/*" in resources
        assert keys[region] in resources, stack


# One assignment per component that builds an environment: the data tier's DB_* variables,
# the app functions', the data tier's own functions' and the edge's rotation function's.
DELETIONS = [
    ("prod-eu", "api", env.ASSETS_BUCKET),
    ("prod-eu", "api", env.EVENTS_TOPIC_ARN),
    ("prod-eu", "api", env.PUSH_PLATFORM_APPLICATIONS),
    ("prod-us", "subscriber", env.DB_HOST),
    ("prod-eu", "user_directory", env.DB_READER_HOST),
    ("prod-eu", "user_migration", env.USER_DIRECTORY_FUNCTION),
    ("prod-us", "authorizer", env.USER_POOL_REGIONS),
    ("prod-eu", "migrations", env.DB_USER),
    ("prod-eu", "db_rotation", env.DB_SSLMODE),
    ("prod-us", "dr_probe", env.DB_HOST),
    (GLOBAL, "origin_verify_rotation", env.WEB_ACLS),
]


@pytest.mark.parametrize(("stack", "function", "variable"), DELETIONS)
def test_a_component_that_forgets_an_assignment_fails_synthesis(
    stack, function, variable, global_synth, monkeypatch
):
    original = function_module.Function.__init__

    def forgetful(self, name, args, opts=None):
        if args.spec.name == function:
            kept = {k: v for k, v in args.environment.items() if k != variable}
            assert len(kept) < len(args.environment), f"{function} never set {variable.name}"
            args = dataclasses.replace(args, environment=kept)
        original(self, name, args, opts)

    monkeypatch.setattr(function_module.Function, "__init__", forgetful)
    outputs = {} if stack == GLOBAL else {global_stack_name(stack): global_synth.outputs}
    with pytest.raises(pulumi.RunError) as failure:
        synthesize(stack, stack_outputs=outputs)
    message = str(failure.value)
    assert f"function {function}: {variable.name} is not set" in message
    assert names.function_name(load_environment(stack), function) in message


def load_environment(stack: str) -> str:
    from tests.infra.harness import load_stack_config

    return load_stack_config(stack)["mobile-backend:environment"]


@pytest.mark.parametrize("stack", ["prod-eu", "prod-us"])
def test_every_required_variable_deleted_from_a_synthesized_environment_is_reported(
    stack, regional_synths
):
    for function, (_, variables, _) in deployed_functions(regional_synths[stack]).items():
        schema = env.SCHEMAS[function]
        for variable in schema.required:
            remaining = {k: v for k, v in variables.items() if k != variable.name}
            problems = schema.problems(remaining)
            assert problems == [
                f"{variable.name} is not set ({variable.hint or 'the handler requires it'})"
            ], f"{stack} {function} without {variable.name}"


def test_each_schema_lists_exactly_what_its_parser_reads(all_synths):
    """A variable the parser reads but the schema omits would be refused as unknown; one the
    schema lists but the parser never reads would be a dead assignment."""

    class Recording(dict):
        def __init__(self, data):
            super().__init__(data)
            self.read: set[str] = set()

        def get(self, key, default=None):
            self.read.add(key)
            return super().get(key, default)

    for synth in all_synths.values():
        for function, (_, variables, region) in deployed_functions(synth).items():
            schema = env.SCHEMAS[function]
            recording = Recording({**variables, "AWS_REGION": region})
            schema.parse(recording)
            # Optional sources a deployed stack leaves unset (e.g. PEER_USER_POOLS) are still
            # read: the parser must look at every variable the schema names.
            assert recording.read >= {v.name for v in schema.required | schema.optional}, function
            assert recording.read <= schema.names, function
