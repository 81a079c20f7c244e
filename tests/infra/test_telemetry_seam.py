"""The telemetry seam (R-OBS-4, R-SEAM-1): what the alarms and dashboards watch is what the
functions publish.

Powertools publishes a handler's EMF metrics into the function's
``POWERTOOLS_METRICS_NAMESPACE``, with one dimension, ``service`` = its
``POWERTOOLS_SERVICE_NAME``, in the function's region. A CloudWatch alarm or dashboard line on a
custom (non-``AWS/``) namespace that differs in any of these — namespace, service, metric name,
dimensions, region — watches a series that never exists: the alarm sits in OK (missing data is
not breaching) and the graph stays empty. ``seam_problems`` compares both sides of every
synthesized stack; the unit tests below feed it broken copies to show each break is reported.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from contract import telemetry
from tests.infra.harness import ROOT, Resource, Synthesis

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
FUNCTION = "aws:lambda/function:Function"
HANDLERS = ROOT / "handlers"
SUBSCRIBER_METRICS = {
    telemetry.MESSAGES_APPLIED,
    telemetry.MESSAGES_FAILED,
    telemetry.DUPLICATE_MESSAGES_SKIPPED,
    telemetry.USERS_CREATED,
}


@dataclass(frozen=True)
class Watched:
    """One metric an alarm or a dashboard line reads."""

    source: str
    region: str | None
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]

    @property
    def custom(self) -> bool:
        return not self.namespace.startswith("AWS/")


@dataclass(frozen=True)
class Publisher:
    """What one deployed function publishes: its handler package's ``add_metric`` names."""

    function: str
    region: str | None
    namespace: str | None
    service: str | None
    metrics: frozenset[str]


# --- what the infrastructure watches ---------------------------------------------------------
def _dims(value: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (value or {}).items()))


def alarm_watches(synth: Synthesis, alarm: Resource) -> list[Watched]:
    """The single metric of an alarm, or each metric of its ``metricQueries``."""
    inputs = alarm.inputs
    region = synth.region_of(alarm)
    source = f"MetricAlarm {inputs.get('name') or alarm.name!r}"
    metrics = []
    if inputs.get("metricName"):
        metrics.append((inputs["namespace"], inputs["metricName"], inputs.get("dimensions")))
    for query in inputs.get("metricQueries") or []:
        metric = query.get("metric")
        if metric:
            metrics.append((metric["namespace"], metric["metricName"], metric.get("dimensions")))
    return [Watched(source, region, ns, name, _dims(dims)) for ns, name, dims in metrics]


def dashboard_watches(source: str, body: Mapping[str, Any], region: str | None) -> list[Watched]:
    """Every metric line of a dashboard body: ``[namespace, name, dim, value, …, {options}]``;
    expression lines (``[{"expression": …}]``) read nothing of their own."""
    found = []
    for widget in body.get("widgets", []):
        properties = widget.get("properties", {})
        for line in properties.get("metrics", []):
            head = [item for item in line if isinstance(item, str)]
            if not head:
                continue
            if head[0] in (".", "..."):
                # CloudWatch's repeat-the-line-above shorthand: not something we emit; refuse
                # rather than misread it.
                raise ValueError(f"{source}: shorthand metric line {line} not understood")
            namespace, name, *pairs = head
            dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
            widget_region = properties.get("region", region)
            found.append(Watched(source, widget_region, namespace, name, _dims(dims)))
    return found


def watched(synth: Synthesis) -> list[Watched]:
    found = [w for alarm in synth.of_type(ALARM) for w in alarm_watches(synth, alarm)]
    for dashboard in synth.of_type(DASHBOARD):
        body = json.loads(dashboard.inputs["dashboardBody"])
        source = f"Dashboard {dashboard.inputs.get('dashboardName') or dashboard.name!r}"
        found += dashboard_watches(source, body, synth.region_of(dashboard))
    return found


# --- what the functions publish --------------------------------------------------------------
def _add_metric_names(tree: ast.AST, path: Path) -> list[ast.expr]:
    names = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_metric"
        ):
            continue
        keyword = next((k.value for k in node.keywords if k.arg == "name"), None)
        if keyword is None and node.args:
            keyword = node.args[0]
        if keyword is None:
            raise ValueError(f"{path}:{node.lineno}: add_metric without a name")
        names.append(keyword)
    return names


def _metric_name(expr: ast.expr, where: str) -> str:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == "telemetry"
    ):
        return getattr(telemetry, expr.attr)
    raise ValueError(
        f"{where}: metric name {ast.unparse(expr)} is neither a literal nor telemetry.*"
    )


def published_names(package: Path) -> frozenset[str]:
    """The metric names a handler package passes to ``add_metric`` (literals or
    ``contract.telemetry`` constants, resolved)."""
    names = set()
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for expr in _add_metric_names(tree, path):
            names.add(_metric_name(expr, f"{path}:{expr.lineno}"))
    return frozenset(names)


def publishers(synth: Synthesis) -> list[Publisher]:
    found = []
    for function in synth.of_type(FUNCTION):
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        # "handlers.<package>.main.handler": the package is the function's code.
        package = function.inputs["handler"].split(".")[1]
        found.append(
            Publisher(
                function=function.name,
                region=synth.region_of(function),
                namespace=variables.get("POWERTOOLS_METRICS_NAMESPACE"),
                service=variables.get("POWERTOOLS_SERVICE_NAME"),
                metrics=published_names(HANDLERS / package),
            )
        )
    return found


# --- the comparison --------------------------------------------------------------------------
def seam_problems(watches: Iterable[Watched], functions: Sequence[Publisher]) -> list[str]:
    """Every custom metric watched must be one a function in the same region publishes, under
    the same namespace and ``service``; and a function that publishes needs a namespace."""
    problems = [
        f"function {p.function} calls add_metric ({', '.join(sorted(p.metrics))}) but sets no "
        "POWERTOOLS_METRICS_NAMESPACE: Powertools refuses to flush them"
        for p in functions
        if p.metrics and not p.namespace
    ]
    for w in watches:
        if not w.custom:
            continue
        what = f"{w.source} watches {w.namespace}/{w.metric} {dict(w.dimensions)} in {w.region}"
        here = [p for p in functions if p.region == w.region and p.metrics]
        same_namespace = [p for p in here if p.namespace == w.namespace]
        if not same_namespace:
            namespaces = sorted({p.namespace or "<none>" for p in here})
            problems.append(
                f"{what}: no function there publishes to {w.namespace!r} (they publish to "
                f"{namespaces})"
            )
            continue
        dims = dict(w.dimensions)
        service = dims.pop(telemetry.SERVICE_DIMENSION, None)
        if dims:
            problems.append(
                f"{what}: Powertools publishes with the {telemetry.SERVICE_DIMENSION!r} "
                f"dimension only, not {sorted(dims)}"
            )
        if service is None:
            problems.append(
                f"{what}: no {telemetry.SERVICE_DIMENSION!r} dimension, so it matches no "
                "series Powertools publishes"
            )
            continue
        same_service = [p for p in same_namespace if p.service == service]
        if not same_service:
            services = sorted({p.service or "<none>" for p in same_namespace})
            problems.append(
                f"{what}: no function publishing to {w.namespace!r} has "
                f"POWERTOOLS_SERVICE_NAME={service!r} (they have {services})"
            )
            continue
        if not any(w.metric in p.metrics for p in same_service):
            published = sorted(set().union(*(p.metrics for p in same_service)))
            problems.append(f"{what}: {service} never publishes {w.metric!r} ({published})")
    return problems


# --- the real stacks -------------------------------------------------------------------------
def test_every_custom_metric_watched_is_one_a_function_publishes(all_synths):
    for stack, synth in all_synths.items():
        assert seam_problems(watched(synth), publishers(synth)) == [], stack


def test_watched_namespaces_are_the_published_ones(all_synths):
    for stack, synth in all_synths.items():
        watched_namespaces = {w.namespace for w in watched(synth) if w.custom}
        published = {p.namespace for p in publishers(synth) if p.namespace}
        assert watched_namespaces <= published, stack
        if synth.role == "regional":
            # Not vacuous: each region both publishes and watches, in the one namespace.
            assert watched_namespaces == published == {telemetry.METRICS_NAMESPACE}, stack


def test_business_alarm_watches_subscriber_metrics_by_its_service_name(regional_synths):
    for stack, synth in regional_synths.items():
        custom = [w for w in watched(synth) if w.custom]
        alarmed = {w.metric for w in custom if w.source.startswith("MetricAlarm")}
        assert alarmed == {telemetry.DUPLICATE_MESSAGES_SKIPPED, telemetry.MESSAGES_APPLIED}
        assert {w.metric for w in custom} <= SUBSCRIBER_METRICS, stack
        services = {dict(w.dimensions)[telemetry.SERVICE_DIMENSION] for w in custom}
        (subscriber,) = [p for p in publishers(synth) if p.function == "logic-subscriber-function"]
        assert services == {subscriber.service}, stack


def test_subscriber_publishes_the_contract_names_only_through_its_constants():
    path = HANDLERS / "subscriber" / "main.py"
    exprs = _add_metric_names(ast.parse(path.read_text()), path)
    assert {ast.unparse(e) for e in exprs} == {
        "telemetry.MESSAGES_APPLIED",
        "telemetry.MESSAGES_FAILED",
        "telemetry.DUPLICATE_MESSAGES_SKIPPED",
        "telemetry.USERS_CREATED",
    }
    assert published_names(HANDLERS / "subscriber") == SUBSCRIBER_METRICS


def test_only_handler_packages_publish_metrics():
    # The seam maps metrics to functions by handler package: a metric published from shared
    # code (backend/, handlers/*.py) would belong to every function that imports it.
    shared = [*(ROOT / "backend").rglob("*.py"), *HANDLERS.glob("*.py")]
    for path in shared:
        assert _add_metric_names(ast.parse(path.read_text()), path) == [], path


# --- the checker itself, on broken copies ----------------------------------------------------
@pytest.fixture(scope="module")
def eu(eu_synth) -> tuple[list[Watched], list[Publisher]]:
    return watched(eu_synth), publishers(eu_synth)


def test_checker_reports_functions_publishing_to_another_namespace(eu):
    watches, functions = eu
    # The bug this seam had: functions deployed with "mobile-backend", alarms on the contract's.
    old = [replace(p, namespace="mobile-backend") if p.namespace else p for p in functions]
    problems = seam_problems(watches, old)
    assert problems
    assert all(
        "no function there publishes to 'MobileBackend' (they publish to ['mobile-backend'])" in p
        for p in problems
    ), problems
    # Every custom line is reported: the two alarm queries and every dashboard line.
    assert len(problems) == len([w for w in watches if w.custom])


def test_checker_reports_an_alarm_on_another_namespace(eu):
    watches, functions = eu
    (alarmed, *_) = [w for w in watches if w.custom and w.source.startswith("MetricAlarm")]
    problems = seam_problems([replace(alarmed, namespace="mobile-backend")], functions)
    assert len(problems) == 1
    assert "no function there publishes to 'mobile-backend'" in problems[0]


def test_checker_reports_a_service_or_metric_name_that_differs(eu):
    watches, functions = eu
    renamed = [
        replace(p, service="subscriber-fn") if p.service == "subscriber" else p for p in functions
    ]
    problems = seam_problems(watches, renamed)
    assert problems and all("POWERTOOLS_SERVICE_NAME='subscriber'" in p for p in problems)

    fewer = [
        replace(p, metrics=p.metrics - {telemetry.DUPLICATE_MESSAGES_SKIPPED}) for p in functions
    ]
    problems = seam_problems(watches, fewer)
    assert problems
    assert all("never publishes 'DuplicateMessagesSkipped'" in p for p in problems), problems


def test_checker_reports_a_wrong_region_or_dimension_set(eu):
    watches, functions = eu
    custom = [w for w in watches if w.custom]
    elsewhere = seam_problems([replace(w, region="us-west-1") for w in custom], functions)
    assert len(elsewhere) == len(custom)
    assert all("no function there publishes" in p for p in elsewhere)

    (one, *_) = custom
    unfiltered = replace(one, dimensions=())
    assert seam_problems([unfiltered], functions) == [
        f"{one.source} watches {one.namespace}/{one.metric} {{}} in eu-west-1: no 'service' "
        "dimension, so it matches no series Powertools publishes"
    ]
    extra = replace(one, dimensions=(*one.dimensions, ("FunctionName", "x")))
    (problem,) = seam_problems([extra], functions)
    assert "with the 'service' dimension only, not ['FunctionName']" in problem


def test_checker_reports_a_publisher_without_namespace(eu):
    _, functions = eu
    nameless = [replace(p, namespace=None) for p in functions]
    problems = seam_problems([], nameless)
    assert problems == [
        "function logic-subscriber-function calls add_metric (DuplicateMessagesSkipped, "
        "MessagesApplied, MessagesFailed, UsersCreated) but sets no POWERTOOLS_METRICS_NAMESPACE: "
        "Powertools refuses to flush them"
    ]


def test_dashboard_lines_are_read_like_alarm_metrics():
    body = {
        "widgets": [
            {
                "type": "metric",
                "properties": {
                    "region": "eu-west-1",
                    "metrics": [
                        ["mobile-backend", "UsersCreated", "service", "subscriber"],
                        ["AWS/SQS", "NumberOfMessagesSent", "QueueName", "q", {"stat": "Sum"}],
                        [{"expression": "m1 * 2", "id": "e1"}],
                    ],
                },
            },
            {"type": "text", "properties": {"markdown": "# hi"}},
        ]
    }
    lines = dashboard_watches("Dashboard 'd'", body, None)
    assert lines == [
        Watched(
            "Dashboard 'd'",
            "eu-west-1",
            "mobile-backend",
            "UsersCreated",
            (("service", "subscriber"),),
        ),
        Watched(
            "Dashboard 'd'", "eu-west-1", "AWS/SQS", "NumberOfMessagesSent", (("QueueName", "q"),)
        ),
    ]
    subscriber = Publisher(
        "fn", "eu-west-1", telemetry.METRICS_NAMESPACE, "subscriber", frozenset(SUBSCRIBER_METRICS)
    )
    (problem,) = seam_problems(lines, [subscriber])
    assert problem.startswith("Dashboard 'd' watches mobile-backend/UsersCreated")
    with pytest.raises(ValueError, match="shorthand"):
        dashboard_watches("d", {"widgets": [{"properties": {"metrics": [[".", "x"]]}}]}, None)


def test_metric_names_must_resolve_to_literals_or_contract_constants(tmp_path):
    (tmp_path / "main.py").write_text(
        "from contract import telemetry\n"
        "metrics.add_metric(name=telemetry.USERS_CREATED, unit='Count', value=1)\n"
        "metrics.add_metric('Literal', 'Count', 1)\n"
    )
    assert published_names(tmp_path) == {telemetry.USERS_CREATED, "Literal"}
    (tmp_path / "more.py").write_text("metrics.add_metric(name=NAME, unit='Count', value=1)\n")
    with pytest.raises(ValueError, match="neither a literal nor telemetry"):
        published_names(tmp_path)
