"""Build the Lambda artifacts the stacks deploy (``make build``).

Stages each function's code in a clean directory and builds one dependency layer per
architecture, in the layout ``stacks/artifacts.py`` reads::

    <out>/functions/<name>/handlers/__init__.py   shared handler modules (handlers/*.py)
    <out>/functions/<name>/handlers/<name>/...    the function's own handler package
    <out>/functions/<name>/backend/...            the plain-Python library
    <out>/functions/<name>/contract/...           names and environment schemas (contract/)
    <out>/layers/<arch>/python/...                third-party packages for <arch>

Layers are installed with pip's cross-platform flags (wheels only, for the runtime's Python
and glibc), so an arm64 layer is built correctly on an x86_64 machine. boto3/botocore come
from the Lambda runtime and are never shipped. Code is compiled with the runtime's
Python (``unchecked-hash``): ``/var/task`` and ``/opt`` are read-only, and without ``.pyc``
Python recompiles at every cold start.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stacks.artifacts import ARCHITECTURES, FUNCTIONS  # noqa: E402

RUNTIME_PYTHON = (3, 12)
# psycopg-binary 3.3 publishes aarch64 wheels only as manylinux_2_28: both tags are needed
# or pip silently falls back to an older release. The python3.12 runtime has glibc 2.34.
PLATFORMS = {
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", "tests")

# Packages the wheels bring that neither a handler nor any module kept in the layer imports
# (``slim_layer`` proves it on every build and fails if that stops being true).
UNUSED_MODULES = {
    "pydantic.v1": "Pydantic 1 compatibility copy; this code is Pydantic 2",
    "pydantic.mypy": "mypy plugin, used at type-checking time only",
    "aws_lambda_powertools.utilities.auth_alpha": "Powertools utility not used here",
    "aws_lambda_powertools.utilities.circuit_breaker": "Powertools utility not used here",
    "aws_lambda_powertools.utilities.data_masking": "Powertools utility not used here",
    "aws_lambda_powertools.utilities.feature_flags": "Powertools utility not used here",
    "aws_lambda_powertools.utilities.idempotency": "Powertools utility not used here",
    "aws_lambda_powertools.utilities.kafka": "Powertools utility not used here",
    "aws_lambda_powertools.utilities.streaming": "Powertools utility not used here",
    "pydantic.experimental": "Pydantic's experimental API, not used here",
    "psycopg.crdb": "CockroachDB adapter; the database is Aurora PostgreSQL",
    # X-Ray integrations for libraries that are in neither the layer nor the Lambda runtime:
    # the patcher loads one only after finding its library importable.
    **{
        f"aws_xray_sdk.ext.{name}": "X-Ray patcher for a library this code does not ship"
        for name in (
            "aiobotocore",
            "bottle",
            "django",
            "flask",
            "flask_sqlalchemy",
            "httpx",
            "mysql",
            "pg8000",
            "psycopg2",
            "pymongo",
            "pymysql",
            "pynamodb",
            "sqlalchemy",
            "sqlalchemy_core",
        )
    },
}
# A kept module that names a pruned one without ever importing it on our paths.
ALLOWED_REFERENCES = {
    # Redirects names Pydantic 2 removed (``pydantic.utils.X``) to ``pydantic.v1``: only
    # reached by V1-era code, which neither this code nor Powertools 3 is.
    ("pydantic._migration", "pydantic.v1"),
    # Imported only for a type with a V1-style ``__get_validators__`` (to word a warning);
    # the models here and Powertools' are Pydantic 2 throughout.
    ("pydantic._internal._generate_schema", "pydantic.v1"),
}
# Swagger UI's bundled assets are read only by ``enable_swagger(...)``.
SWAGGER_ASSETS = "aws_lambda_powertools/event_handler/openapi/swagger_ui"
# dist-info files only pip itself reads (METADATA, WHEEL, licences and entry points stay).
PIP_ONLY_METADATA = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "sboms")
NATIVE_SOURCES = ("*.c", "*.h", "*.cpp", "*.pyx", "*.pxd")


# Packages every function ships next to its handler package.
LIBRARIES = ("backend", "contract")


class BuildError(RuntimeError):
    """The build cannot produce a correct artifact; the message says what to fix."""


def runtime_python(explicit: str | None = None) -> str:
    """An interpreter of the Lambda runtime's version, for compiling ``.pyc``."""
    candidates = [explicit] if explicit else [sys.executable, "python3.12"]
    wanted = ".".join(map(str, RUNTIME_PYTHON))
    for candidate in candidates:
        path = shutil.which(candidate) if candidate else None
        if path is None:
            continue
        probe = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == wanted:
            return path
    raise BuildError(
        f"no Python {wanted} found (tried {', '.join(c for c in candidates if c)}): the .pyc "
        f"files must match the python{wanted} Lambda runtime. Fix: install python{wanted} "
        "or pass --python /path/to/python" + wanted
    )


def compile_tree(python: str, directory: Path, runtime_path: str, *, sourceless: bool) -> None:
    """Compile every module for the runtime's Python; ``runtime_path`` is where the tree lives
    in Lambda, so tracebacks name real paths. A sourceless tree keeps ``x.pyc`` beside each
    module (the only layout Python imports without the ``.py``) and drops the sources.

    Third-party bytecode is compiled without column tables (``-X no_debug_ranges``, ~5 % of
    the layer zipped): tracebacks through it lose only the ``^^^`` markers, and a sourceless
    tree has no source lines for them to underline anyway."""
    argv = [python, *(["-X", "no_debug_ranges"] if sourceless else [])]
    argv += ["-m", "compileall", "-q", "-j", "1", "--invalidation-mode", "unchecked-hash"]
    argv += ["-d", runtime_path, *(["-b"] if sourceless else []), str(directory)]
    subprocess.run(argv, check=True)  # noqa: S603 - fixed argv, no shell
    if sourceless:
        for source in directory.rglob("*.py"):
            if source.with_suffix(".pyc").is_file():
                source.unlink()


def stage_function(source: Path, output: Path, name: str, python: str) -> Path:
    """Copy the handler package, the shared handler modules and the library into a fresh
    ``<output>/functions/<name>``; nothing else (tests, other handlers) is shipped."""
    handlers = source / "handlers"
    package = handlers / name
    if not (package / "main.py").is_file():
        raise BuildError(
            f"function {name!r}: handler package {package}/main.py is missing (the handler "
            f"string is handlers.{name}.main.handler). Fix: add it, or build only the "
            "functions that exist with --functions."
        )
    target = output / "functions" / name
    shutil.rmtree(target, ignore_errors=True)
    (target / "handlers").mkdir(parents=True)
    init = handlers / "__init__.py"
    (target / "handlers" / "__init__.py").write_bytes(init.read_bytes() if init.is_file() else b"")
    for module in sorted(handlers.glob("*.py")):
        shutil.copy2(module, target / "handlers" / module.name)
    shutil.copytree(package, target / "handlers" / name, ignore=IGNORED)
    # The plain library and the contract both halves share (names, environment schemas).
    for library in LIBRARIES:
        if (source / library).is_dir():
            shutil.copytree(source / library, target / library, ignore=IGNORED)
    compile_tree(python, target, "/var/task", sourceless=False)
    return target


def _pip(args: Sequence[str]) -> None:
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "install", "--quiet", *args],
        check=True,
    )


def build_layer(
    source: Path, output: Path, arch: str, python: str, cache: Path | None = None
) -> Path:
    """pip-install the layer requirements for ``arch`` into ``<output>/layers/<arch>/python``."""
    if arch not in PLATFORMS:
        raise BuildError(f"unknown architecture {arch!r}; expected one of {sorted(PLATFORMS)}")
    requirements = source / "requirements-lambda.txt"
    if not requirements.is_file():
        raise BuildError(f"{requirements} is missing: it lists the layer's packages")
    target = output / "layers" / arch
    shutil.rmtree(target, ignore_errors=True)
    site = target / "python"
    site.mkdir(parents=True)
    # --no-compile: pip would write timestamp-checked .pyc with *this* interpreter.
    common = ["--target", str(site), "--no-compile", "--only-binary=:all:", "--implementation"]
    common += ["cp"]
    common += ["--python-version", ".".join(map(str, RUNTIME_PYTHON))]
    for platform in PLATFORMS[arch]:
        common += ["--platform", platform]
    if cache is not None:
        common += ["--cache-dir", str(cache)]
    _pip([*common, "-r", str(requirements)])
    nodeps = source / "requirements-lambda-nodeps.txt"
    if nodeps.is_file():
        # --target does not see what the first pass installed: --no-deps keeps pip from
        # fetching botocore for aws-xray-sdk (the runtime ships it).
        _pip([*common, "--no-deps", "-r", str(nodeps)])
    slim_layer(site, source)
    # Third-party code ships as bytecode only: the layer stays small (its native code alone,
    # libcrypto and pydantic-core, is ~6 MB zipped) and nothing is compiled at cold start.
    compile_tree(python, site, "/opt/python", sourceless=True)
    return target


def _module_name(site: Path, path: Path) -> tuple[str, bool]:
    """(dotted module name, is a package) of a source file under ``site``."""
    parts = list(path.relative_to(site).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def referenced_modules(path: Path, module: str, is_package: bool) -> set[str]:
    """Every module name ``path`` imports (relative imports resolved) or spells out in a
    string constant (``importlib.import_module("a.b")``, ``"a.b:attr"`` lazy-import tables)."""
    tree = ast.parse(path.read_bytes(), str(path))
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.split(":")[0]
            if "." in text and " " not in text and len(text) < 200:
                names.add(text)
    return names


def slim_layer(site: Path, source: Path) -> None:
    """Delete what no handler can reach: console scripts, stubs, caches, C sources, pip's
    bookkeeping, long descriptions, Swagger UI assets and ``UNUSED_MODULES``. The pruned
    modules are checked against every kept module's imports and the repository's own
    handlers and library; a reference fails the build instead of failing in Lambda."""
    for unused in [*site.glob("bin"), *site.glob("*-stubs"), *site.rglob("__pycache__")]:
        shutil.rmtree(unused, ignore_errors=True)
    for pattern in ("*.pyi", *NATIVE_SOURCES):
        for path in site.rglob(pattern):
            path.unlink()
    for info in site.glob("*.dist-info"):
        for name in PIP_ONLY_METADATA:
            target = info / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.is_file():
                target.unlink()
        metadata = info / "METADATA"
        if metadata.is_file():
            # The headers are what importlib.metadata reads; the body is the project's README.
            headers = metadata.read_text(encoding="utf-8").split("\n\n", 1)[0]
            metadata.write_text(headers + "\n", encoding="utf-8")
    own_code = [p for d in ("handlers", *LIBRARIES) for p in (source / d).rglob("*.py")]
    if any("enable_swagger" in p.read_text(encoding="utf-8") for p in own_code):
        raise BuildError(f"a handler enables Swagger UI: keep {SWAGGER_ASSETS} in the layer")
    for asset in [*(site / SWAGGER_ASSETS).glob("*.js"), *(site / SWAGGER_ASSETS).glob("*.css")]:
        asset.unlink()
    pruned: set[str] = set()
    for module in UNUSED_MODULES:
        path = site.joinpath(*module.split("."))
        if path.is_dir():
            shutil.rmtree(path)
            pruned.add(module)
        elif path.with_suffix(".py").is_file():
            path.with_suffix(".py").unlink()
            pruned.add(module)
    kept = [(p, *_module_name(site, p)) for p in site.rglob("*.py")]
    kept += [(p, *_module_name(source, p)) for p in own_code]
    for path, module, is_package in kept:
        for name in referenced_modules(path, module, is_package):
            for gone in pruned:
                if (
                    (name == gone or name.startswith(gone + "."))
                    and (
                        module.rpartition(".")[0] if not is_package else module,
                        gone,
                    )
                    not in ALLOWED_REFERENCES
                    and (module, gone) not in ALLOWED_REFERENCES
                ):
                    raise BuildError(
                        f"{module} ({path}) references {name}, which the layer prunes as "
                        f"{UNUSED_MODULES[gone]!r}. Fix: remove {gone!r} from UNUSED_MODULES."
                    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="repository root to build")
    parser.add_argument("--output", type=Path, default=ROOT / "build", help="build directory")
    parser.add_argument(
        "--functions", default=",".join(FUNCTIONS), help="comma-separated function names"
    )
    parser.add_argument(
        "--architectures", default=",".join(ARCHITECTURES), help="layers to build ('' = none)"
    )
    parser.add_argument("--python", help=f"python{'.'.join(map(str, RUNTIME_PYTHON))} to use")
    parser.add_argument("--pip-cache", type=Path, help="pip cache (default <output>/.pip-cache)")
    args = parser.parse_args(argv)

    try:
        python = runtime_python(args.python)
        names = [n for n in args.functions.split(",") if n]
        unknown = sorted(set(names) - set(FUNCTIONS))
        if unknown:
            raise BuildError(f"unknown functions {unknown}; known: {', '.join(FUNCTIONS)}")
        missing = [n for n in names if not (args.source / "handlers" / n / "main.py").is_file()]
        if missing:
            raise BuildError(
                f"handler packages missing under {args.source / 'handlers'}: "
                f"{', '.join(missing)} (each needs handlers/<name>/main.py). Fix: add them, or "
                "pass --functions with the ones that exist."
            )
        for name in names:
            stage_function(args.source, args.output, name, python)
        cache = args.pip_cache or args.output / ".pip-cache"
        for arch in (a for a in args.architectures.split(",") if a):
            build_layer(args.source, args.output, arch, python, cache)
    except BuildError as exc:
        print(f"build_lambda: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
