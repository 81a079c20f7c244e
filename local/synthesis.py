"""Offline synthesis of the real stacks under Pulumi mocks, with a record of every resource.

``synthesize("prod-eu", stack_outputs=...)`` loads ``Pulumi.yaml`` + ``Pulumi.prod-eu.yaml``
exactly as the CLI would merge them, runs the program with mocks, and returns a ``Synthesis``
listing every registered resource (type, name, inputs, parent, provider) plus the outputs the
program exported. No Pulumi CLI, no AWS account.

A runtime module, not only a test helper: ``make dev`` builds the local region from the
graph this returns (``local.region``), and the infrastructure tests assert on the same graph
(``tests/infra/harness.py`` is this module under its old name). Synthesis reads nothing from
the Lambda archives, so ``stage_build`` stages the layout ``make build`` produces with
empty function directories: ``make dev`` needs no ``make build``.
"""

from __future__ import annotations

import json
import runpy
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, _ensure_event_loop
from pulumi.runtime.settings import set_root_resource

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "mobile-backend"
ACCOUNT = "123456789012"
PROVIDER_TYPE = "pulumi:providers:aws"
# The staging labels every mocked secret's versions carry (one label per version): rotated
# once. A test can set it to e.g. ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING") (mid-rotation).
SECRET_STAGES: tuple[str, ...] = ("AWSCURRENT", "AWSPREVIOUS")


def stage_build(root: Path, *, migrations: Path | None = None) -> Path:
    """Stage ``make build``'s layout under ``root`` for synthesis (mocks never read archives).

    ``migrations`` is the SQL the migrations function would ship: the deploy-time invocation
    carries its checksum, so a local run that applies the real SQL passes the real directory
    (linked, not copied); tests that only look at the graph leave it out and get one file.
    """
    from stacks import artifacts

    for name in artifacts.FUNCTIONS:
        (root / "functions" / name / "handlers" / name).mkdir(parents=True, exist_ok=True)
    sql = root / "functions" / "migrations" / "backend" / "migrations"
    sql.parent.mkdir(parents=True, exist_ok=True)
    if migrations is not None:
        if sql.is_symlink() or sql.is_file():
            sql.unlink()
        elif sql.is_dir():
            shutil.rmtree(sql)
        sql.symlink_to(migrations.resolve(), target_is_directory=True)
    else:
        sql.mkdir(exist_ok=True)
        (sql / "0001_init.sql").write_text("CREATE TABLE example (id uuid PRIMARY KEY);\n")
    for arch in artifacts.ARCHITECTURES:
        (root / "layers" / arch / "python").mkdir(parents=True, exist_ok=True)
    return root


def _config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


GLOBAL_STACK = "prod-global"
REGIONAL_STACKS = ("prod-eu", "prod-us")


def load_stack_config(stack: str) -> dict[str, str]:
    """Merge project-level config (Pulumi.yaml) and the stack file, as the CLI does."""
    project_file = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    merged: dict[str, str] = {}
    for key, spec in (project_file.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(spec, dict) and ("value" in spec or "default" in spec):
            spec = spec.get("value", spec.get("default"))
        merged[full] = _config_text(spec)
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    for key, value in (stack_file.get("config") or {}).items():
        merged[key] = _config_text(value)
    return merged


def global_stack_name(stack: str) -> str:
    """The fully qualified global stack a regional stack references (its StackReference)."""
    return load_stack_config(stack)[f"{PROJECT}:globalStack"]


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str
    provider: str
    custom: bool
    # Resource options the engine receives (camelCase property names).
    ignore_changes: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    # URNs of explicit depends_on targets.
    dependencies: list[str] = field(default_factory=list)
    # What the mocks answered (id and outputs): what another resource's input holds when it
    # references this one.
    mock_id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.type} {self.name!r}"


@dataclass
class Synthesis:
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any]
    config: dict[str, str]
    stack_reference_reads: set[str] = field(default_factory=set)

    @property
    def role(self) -> str:
        return self.config.get(f"{PROJECT}:role", "")

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, predicate: Callable[[Resource], bool] = lambda r: True) -> Resource:
        found = [r for r in self.of_type(typ) if predicate(r)]
        assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name!r}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    @property
    def providers(self) -> list[Resource]:
        return self.of_type(PROVIDER_TYPE)

    def provider_of(self, resource: Resource) -> Resource | None:
        if not resource.provider:
            return None
        urn = resource.provider.rsplit("::", 1)[0]
        return self.by_urn(urn)

    def region_of(self, resource: Resource) -> str | None:
        provider = self.provider_of(resource)
        return provider.inputs.get("region") if provider else None

    def aws_resources(self) -> list[Resource]:
        return [r for r in self.resources if r.custom and r.type.startswith("aws:")]

    def children_of(self, component: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == component.urn]

    def stack_output_json(self) -> str:
        """The outputs as ``pulumi stack output --json -s <stack>`` prints them. The stacks
        export no secret (the CLI would print "[secret]"), and ``json`` refuses any value the
        CLI could not have printed."""
        return json.dumps(self.outputs, indent=2) + "\n"


# How the engine marks a secret value on the wire: an input computed from a secret arrives
# as ``{SECRET_SIGNATURE: <signature>, "value": ...}``.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def unwrap_secrets(value: Any) -> Any:
    """A recorded input with every secret marker removed, at any depth (for reading what the
    program declared; the values are mock values)."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def provider_tags(provider: Resource) -> dict[str, str]:
    default_tags = provider.inputs.get("defaultTags") or {}
    if isinstance(default_tags, str):
        default_tags = json.loads(default_tags)
    return default_tags.get("tags", {})


class _RecordingMonitor(MockMonitor):
    """MockMonitor that also records parent, provider and inputs of each registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.records: list[Resource] = []
        self._lock = threading.Lock()

    def _record(self, request, properties, custom: bool) -> None:
        _ensure_event_loop()
        record = Resource(
            urn=self.make_urn(request.parent, request.type, request.name),
            type=request.type,
            name=request.name,
            inputs=rpc.deserialize_properties(properties),
            parent=request.parent,
            provider=request.provider,
            custom=custom,
            ignore_changes=list(getattr(request, "ignoreChanges", []) or []),
            protect=bool(getattr(request, "protect", False)),
            retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            dependencies=list(getattr(request, "dependencies", []) or []),
        )
        with self._lock:
            self.records.append(record)

    def RegisterResource(self, request):  # gRPC method name
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, request.object, request.custom)
        return super().RegisterResource(request)

    def ReadResource(self, request):  # StackReferences are reads
        self._record(request, request.properties, True)
        return super().ReadResource(request)


class AwsMocks(pulumi.runtime.Mocks):
    """Answers resource registrations with their inputs plus ARN-like ids, the invokes the
    program makes (caller identity, AZs), and StackReferences from given outputs."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]]):
        self.stack_outputs = stack_outputs
        self.provider_regions: dict[str, str] = {}
        self.answers: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}

    def _region(self, provider_ref: str | None) -> str:
        if not provider_ref:
            return "us-east-1"
        # "<urn>::<id>", and a URN ends in "::<name>": providers are keyed by name.
        return self.provider_regions.get(provider_ref.split("::")[-2], "us-east-1")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs.get("name") or args.name
            if name not in self.stack_outputs:
                raise KeyError(f"no outputs mocked for stack reference {name!r}")
            return f"{args.name}-id", {
                "name": name,
                "outputs": dict(self.stack_outputs[name]),
                "secretOutputNames": [],
            }
        resource_id = f"{args.name}-id"
        if args.typ == PROVIDER_TYPE:
            self.provider_regions[args.name] = args.inputs.get("region", "us-east-1")
            return resource_id, dict(args.inputs)
        region = self._region(args.provider)
        service = args.typ.split(":")[1].split("/")[0]
        outputs = {
            "arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{args.name}",
            "name": args.name,
            "keyId": resource_id,
            **args.inputs,
            **_computed_outputs(args.typ, args.name, args.inputs),
        }
        # Endpoints AWS assigns (DNS names the handlers and functions are given).
        if args.typ == "aws:rds/cluster:Cluster":
            outputs["endpoint"] = f"{args.name}.cluster-abc.{region}.rds.amazonaws.com"
            outputs["readerEndpoint"] = f"{args.name}.cluster-ro-abc.{region}.rds.amazonaws.com"
        if args.typ in ("aws:rds/proxy:Proxy", "aws:rds/proxyEndpoint:ProxyEndpoint"):
            outputs["endpoint"] = f"{args.name}.proxy-abc.{region}.rds.amazonaws.com"
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = f"mock-password-of-{args.name}"
        extra = _COMPUTED_OUTPUTS.get(args.typ)
        if extra is not None:
            outputs.update(extra(args, region, outputs["arn"], resource_id))
        self.answers[(args.typ, args.name)] = (resource_id, outputs)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        region = self._region(args.provider)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT,
            }, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            # us-west-1 really has only two AZs for most accounts.
            letters = "bc" if region == "us-west-1" else "abc"
            names = [f"{region}{letter}" for letter in letters]
            return {"names": names, "zoneIds": names, "id": region}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if args.token == "aws:ec2/getPrefixList:getPrefixList":
            name = args.args.get("name", "")
            return {
                "id": f"pl-{name.rsplit('.', 1)[-1]}-{region}",
                "name": name,
                "cidrBlocks": [],
            }, []
        if args.token == "aws:secretsmanager/getSecretVersions:getSecretVersions":
            # By default a secret that has been rotated once (SECRET_STAGES).
            return {
                "arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{args.args['secretId']}",
                "id": args.args["secretId"],
                "name": args.args["secretId"],
                "secretId": args.args["secretId"],
                "versions": [
                    {
                        "versionId": f"v-{stage}",
                        "versionStages": [stage],
                        "createdTime": "t",
                        "lastAccessedDate": "t",
                    }
                    for stage in SECRET_STAGES
                ],
            }, []
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            stage = args.args.get("versionStage") or "AWSCURRENT"
            return {
                "arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{args.args['secretId']}",
                "id": args.args["secretId"],
                "secretId": args.args["secretId"],
                "secretString": f"mock-{args.args['secretId']}-{stage}",
                "versionStage": stage,
                "versionId": "v2" if stage == "AWSCURRENT" else "v1",
                "versionStages": [stage],
            }, []
        if args.token == "aws:route53/getZone:getZone":
            return {"zoneId": "Z0MOCKZONE", "id": "Z0MOCKZONE", "name": args.args.get("name")}, []
        if args.token == "aws:arcregionswitch/getRoute53HealthChecks:getRoute53HealthChecks":
            # ARC creates one health check per region of the plan (docs/dr.md).
            plan = next(
                (
                    outputs
                    for (typ, _), (_, outputs) in self.answers.items()
                    if typ == REGION_SWITCH_PLAN and outputs["arn"] == args.args.get("planArn")
                ),
                None,
            )
            if plan is None:
                return {"planArn": args.args.get("planArn"), "healthChecks": []}, []
            return {
                "planArn": plan["arn"],
                "healthChecks": [
                    {
                        "healthCheckId": f"arc-{plan['name']}-{region}",
                        "hostedZoneId": "Z0MOCKZONE",
                        "recordName": "api",
                        "region": region,
                        "status": "healthy",
                    }
                    for region in plan["regions"]
                ],
            }, []
        if args.token == "aws:s3/getCanonicalUserId:getCanonicalUserId":
            return {"id": "79a59df900b949e55d96a1e698fbaced", "displayName": "ci"}, []
        return {}, []


def _alias_outputs(args, region, arn, resource_id):
    # As Lambda names them: the alias ARN is the function's ARN qualified by the alias name.
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{args.inputs.get('functionName')}:" + str(
        args.inputs.get("name")
    )
    return {
        "arn": arn,
        "invokeArn": (
            f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
    }


REGION_SWITCH_PLAN = "aws:arcregionswitch/plan:Plan"

# Outputs AWS computes that the programs read (mock values shaped like the real ones).
_COMPUTED_OUTPUTS: dict[str, Callable[..., dict[str, Any]]] = {
    "aws:lambda/alias:Alias": _alias_outputs,
    # S3 ARNs carry neither region nor account: arn:aws:s3:::<bucket>.
    "aws:s3/bucket:Bucket": lambda args, region, arn, rid: {
        "arn": f"arn:aws:s3:::{args.inputs.get('bucket') or args.name}",
        "bucket": args.inputs.get("bucket") or args.name,
    },
    "aws:lambda/function:Function": lambda args, region, arn, rid: {
        "version": "1",
        "arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{args.inputs.get('name')}",
    },
    "aws:apigateway/restApi:RestApi": lambda args, region, arn, rid: {
        "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT}:{rid}",
        "rootResourceId": f"{rid}-root",
    },
    "aws:apigateway/stage:Stage": lambda args, region, arn, rid: {
        "arn": f"arn:aws:apigateway:{region}::/restapis/{args.inputs.get('restApi')}/stages/"
        f"{args.inputs.get('stageName')}",
        "invokeUrl": f"https://{args.inputs.get('restApi')}.execute-api.{region}.amazonaws.com/"
        f"{args.inputs.get('stageName')}",
    },
    "aws:apigateway/domainName:DomainName": lambda args, region, arn, rid: {
        "regionalDomainName": f"d-{rid}.execute-api.{region}.amazonaws.com",
        "regionalZoneId": "Z0APIGATEWAY",
    },
    # S3 hands out a version id per upload; Signer writes the signed zip under the prefix it
    # was given, named after the job; a profile's version ARN is what Lambda allows.
    "aws:s3/bucketObjectv2:BucketObjectv2": lambda args, region, arn, rid: {
        "versionId": f"v-{args.name}",
    },
    "aws:signer/signingJob:SigningJob": lambda args, region, arn, rid: {
        "jobId": rid,
        "signedObjects": [
            {
                "s3s": [
                    {
                        "bucket": args.inputs["destination"]["s3"]["bucket"],
                        "key": f"{args.inputs['destination']['s3'].get('prefix', '')}{rid}.zip",
                    }
                ]
            }
        ],
    },
    "aws:signer/signingProfile:SigningProfile": lambda args, region, arn, rid: {
        "name": f"{args.inputs.get('namePrefix', '')}0001",
        "versionArn": f"arn:aws:signer:{region}:{ACCOUNT}:/signing-profiles/{args.name}/v1",
    },
    # Route 53 computes the DS record (key tag, algorithm 13 = ECDSA P-256, SHA-256 digest).
    "aws:route53/keySigningKey:KeySigningKey": lambda args, region, arn, rid: {
        "dsRecord": f"12345 13 2 {rid.upper().replace('-', '')}",
        "keyTag": 12345,
    },
    # Region switch plans are global: no region in the ARN, a 6-character suffix after the name.
    REGION_SWITCH_PLAN: lambda args, region, arn, rid: {
        "arn": f"arn:aws:arc-region-switch::{ACCOUNT}:plan/{args.inputs.get('name')}:a1b2c3",
    },
    "aws:cognito/userPool:UserPool": lambda args, region, arn, rid: {
        "endpoint": f"cognito-idp.{region}.amazonaws.com/{region}_{rid.replace('-', '')}",
        "arn": f"arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/{region}_{rid}",
    },
}


def _computed_outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs AWS computes that programs wire onward (so tests can follow the wiring)."""
    if typ == "aws:acm/certificate:Certificate":
        domains = [inputs.get("domainName"), *(inputs.get("subjectAlternativeNames") or [])]
        return {
            "domainValidationOptions": [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_validation.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_token.{domain}.acm-validations.aws.",
                }
                for domain in domains
            ]
        }
    if typ == "aws:route53/zone:Zone":
        return {"zoneId": f"Z{name.upper().replace('-', '')}"}
    if typ == "aws:route53/record:Record":
        return {"fqdn": str(inputs.get("name", "")).rstrip(".")}
    if typ == "random:index/randomPassword:RandomPassword":
        return {"result": "R" * int(inputs.get("length", 16))}
    if typ == "aws:cloudfront/distribution:Distribution":
        return {"domainName": f"{name}.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"}
    return {}


def synthesize(
    stack: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    remove: Iterable[str] = (),
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    via_main: bool = False,
    program_fn: Callable[[Any], Mapping[str, Any]] | None = None,
    secret_keys: Iterable[str] = (),
) -> Synthesis:
    """Run the real program for ``stack`` under mocks and return what it declared.

    ``program_fn(settings)`` replaces the stack program (component tests build one
    component with the stack's real settings); it returns the outputs to resolve.
    """
    config = load_stack_config(stack)
    for key in remove:
        config.pop(key, None)
    for key, value in (overrides or {}).items():
        config[key] = _config_text(value)

    # The root Stack resource outlives set_mocks; drop it so this stack gets its own.
    set_root_resource(None)
    mocks = AwsMocks(stack_outputs or {})
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    # Keys a stack file holds as `secure:` values (the CLI passes their names the same way).
    pulumi.runtime.set_all_config(config, list(secret_keys))

    import settings as settings_module
    import stacks
    from stacks import contract

    exported: dict[str, Any] = {}
    reads: set[str] = set()
    original_require = contract.GlobalStack.require

    def recording_require(self, output: str):
        reads.add(output)
        return original_require(self, output)

    @pulumi.runtime.test
    def program():
        contract.GlobalStack.require = recording_require
        original_export = pulumi.export
        collected: dict[str, Any] = {}
        try:
            if program_fn is not None:
                outputs = program_fn(settings_module.load())
            elif via_main:
                pulumi.export = collected.__setitem__
                runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
                outputs = collected
            else:
                outputs = stacks.build(settings_module.load())
        finally:
            contract.GlobalStack.require = original_require
            pulumi.export = original_export
        return pulumi.Output.from_input(outputs).apply(exported.update)

    program()
    for record in monitor.records:
        record.mock_id, record.outputs = mocks.answers.get((record.type, record.name), ("", {}))
    return Synthesis(stack, list(monitor.records), exported, config, reads)
