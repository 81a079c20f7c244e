"""``make bench``: print every performance figure of this machine (see docs/performance.md).

Sections: cold init from the built artifact, warm latency in process and over loopback HTTP,
throughput of ``GET /users`` and of the subscriber, database connections per warm
invocations, the round trips and AWS calls of every route (recorded into bench/profile.json),
artifact sizes against Lambda's limits, program time (stack synthesis under mocks;
``--make-test`` also times the whole test suite), and the latency and cost models of the
synthesized stacks (``python -m bench.model``). Counts are flags so the test suite can
smoke-run the harness with tiny ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import cold, sizes, warm  # noqa: E402
from bench import profile as route_profile  # noqa: E402
from bench.stats import (  # noqa: E402
    fmt_bytes,
    fmt_ms,
    fmt_rate,
    ratio,
    summarize,
    table,
)

TARGETS = {
    "api_cold_ms": 250.0,
    "api_cold_vs_naive": 0.40,
    "subscriber_cold_ms": 200.0,
    "users_p99_in_process_ms": 3.0,
    "users_p99_http_ms": 10.0,
    "connections_per_container": 1,
    "layer_zipped_bytes": 8 * 1000**2,
    "synthesis_s": 20.0,
    "make_test_s": 300.0,
}
# Below this many requests per route the handler percentiles are noise: a short run records
# round trips and AWS calls only and keeps the timings already in the profile.
MIN_TIMED_REQUESTS = 200
# The functions whose cold init the latency model uses (bench/latency.py).
MODELLED_COLD = ("api", "authorizer", "subscriber", "user_directory", "user_migration")


def say(text: str = "") -> None:
    print(text, flush=True)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def ensure_build(build: Path) -> None:
    layer = build / "layers" / cold.machine_arch() / "python"
    if (build / "functions" / "api").is_dir() and layer.is_dir():
        say(f"(reusing {build}; `make build` refreshes it)")
        return
    say(f"(no build in {build}: running scripts/build_lambda.py, as `make build` does)")
    from scripts import build_lambda

    if build_lambda.main(["--output", str(build)]) != 0:
        raise SystemExit("build failed")


def section_cold(build: Path, runs: int, results: dict) -> None:
    say(
        f"\n== Cold init (fresh interpreter per run, built artifact + .pyc, {runs} runs each, "
        "round-robin) =="
    )
    rows = []
    measured: dict[str, tuple] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        sampled = cold.measure_interleaved(cold.targets(build, Path(scratch)), runs)
        for label, samples in sampled.items():
            imp = summarize([s.import_ms for s in samples])
            proc = summarize([s.process_ms for s in samples])
            cpu = summarize([s.import_cpu_ms for s in samples])
            measured[label] = (imp, proc, cpu)
    floor = measured["python -c pass (floor)"][1]
    naive = measured["naive baseline (api)"][0]
    for label, (imp, proc, cpu) in measured.items():
        rows.append(
            [
                label,
                fmt_ms(imp.p50) if imp.max else "-",
                fmt_ms(imp.p95) if imp.max else "-",
                fmt_ms(cpu.p50) if imp.max else "-",
                fmt_ms(proc.p50),
                fmt_ms(proc.p95),
                fmt_ms(max(proc.p50 - floor.p50, 0)),
                ratio(imp.p50, naive.p50) if imp.max else "-",
            ]
        )
    say(
        table(
            [
                "module",
                "init p50",
                "init p95",
                "init CPU p50",
                "process p50",
                "process p95",
                "over floor",
                "init / naive",
            ],
            rows,
        )
    )
    results["cold"] = {
        k: {"init_p50": v[0].p50, "init_cpu_p50": v[2].p50, "process_p50": v[1].p50}
        for k, v in measured.items()
    }
    if runs >= 15:
        results["cold_init_ms"] = {
            k: {"p50": round(v[0].p50, 1), "p95": round(v[0].p95, 1)}
            for k, v in measured.items()
            if k in MODELLED_COLD
        }
    api, sub = measured.get("api"), measured.get("subscriber")
    if api:
        ok = (
            api[0].p50 <= TARGETS["api_cold_ms"]
            and api[0].p50 <= naive.p50 * TARGETS["api_cold_vs_naive"]
        )
        say(
            f"api init p50 {fmt_ms(api[0].p50)} = {ratio(api[0].p50, naive.p50)} of the naive "
            f"baseline (target <= 250 ms and <= 40 %): {verdict(ok)}; CPU "
            f"{fmt_ms(api[2].p50)} = {ratio(api[2].p50, measured['naive baseline (api)'][2].p50)}"
        )
    if sub:
        ok = sub[0].p50 <= TARGETS["subscriber_cold_ms"]
        say(
            f"subscriber init p50 {fmt_ms(sub[0].p50)} (target <= 200 ms): {verdict(ok)}; "
            f"CPU {fmt_ms(sub[2].p50)}"
        )


def section_warm(requests: int, batches: int, invocations: int, results: dict) -> None:
    say("\n== Warm (local PostgreSQL + moto, real handlers) ==")
    with warm.local_stack() as stack:
        aws = route_profile.AwsCalls.install()
        messages, seconds = warm.run_subscriber(stack, batches)
        say(
            f"subscriber throughput: {messages} messages in batches of 10: "
            f"{fmt_rate(messages, seconds, 'messages')} "
            f"({fmt_ms(seconds * 1000 / batches)} per batch)"
        )
        results["subscriber_msgs_per_s"] = messages / seconds
        gateway = warm.make_gateway(stack)
        routes = warm.prepare_requests(stack, gateway)
        in_process: dict[str, list[float]] = {}
        own: dict[str, list[float]] = {}
        for request in routes:
            warm.time_in_process(gateway, request, min(requests, 20))  # warm-up
            own[request.label] = []
            in_process[request.label] = warm.time_in_process(
                gateway, request, requests, aws=aws, own=own[request.label]
            )
        over_http: dict[str, list[float]] = {}
        with warm.http_server(gateway) as http_client:
            for request in routes:
                warm.time_http(http_client, request, min(requests, 20))
                over_http[request.label] = warm.time_http(http_client, request, requests)
        rows = []
        for request in routes:
            a, b = summarize(in_process[request.label]), summarize(over_http[request.label])
            rows.append(
                [request.label, *(fmt_ms(x) for x in (a.p50, a.p95, a.p99, b.p50, b.p95, b.p99))]
            )
        say(f"latency over {requests} requests per route (in process | through local HTTP server):")
        say(
            table(
                ["route", "p50", "p95", "p99", "http p50", "http p95", "http p99"],
                rows,
            )
        )
        users_in, users_http = (
            summarize(in_process["GET /users"]),
            summarize(over_http["GET /users"]),
        )
        results["users_p99_in_process_ms"] = users_in.p99
        results["users_p99_http_ms"] = users_http.p99
        say(
            f"GET /users p99 in process {fmt_ms(users_in.p99)} (target <= 3 ms): "
            f"{verdict(users_in.p99 <= TARGETS['users_p99_in_process_ms'])}; through HTTP "
            f"{fmt_ms(users_http.p99)} (target <= 10 ms): "
            f"{verdict(users_http.p99 <= TARGETS['users_p99_http_ms'])}"
        )
        for label, samples in (("in process", in_process), ("through HTTP", over_http)):
            total = sum(samples["GET /users"]) / 1000
            say(
                f"GET /users throughput {label} (one container, serial): "
                f"{fmt_rate(len(samples['GET /users']), total, 'requests')}"
            )
        counted = warm.count_connections(gateway, invocations)
        results["connections"] = counted.__dict__
        say(
            f"database connections over {counted.invocations} warm invocations: "
            f"{counted.opened} opened, {counted.backend_pids} distinct server backend(s), "
            f"{counted.server_sessions} session(s) in pg_stat_activity for this function "
            f"(target <= 1 per container): "
            f"{verdict(counted.opened == 0 and counted.backend_pids <= 1)}"
        )
        say(
            f"server-side prepared statements in that session: {counted.prepared_statements} "
            "(each would pin an RDS Proxy session; prepare_threshold=None)"
        )
        profiles = warm.profile_routes(gateway, routes, aws)
        if requests >= MIN_TIMED_REQUESTS:
            for label, found in profiles.items():
                spent = summarize(own[label])
                found.handler_p50_ms, found.handler_p99_ms = (
                    round(spent.p50, 3),
                    round(spent.p99, 3),
                )
        subscriber = warm.profile_subscriber(stack, seconds * 1000 / messages)
        if batches * 10 < MIN_TIMED_REQUESTS:
            subscriber.handler_p50_ms = subscriber.handler_p99_ms = None
        profiles[subscriber.route] = subscriber
        results["profiles"] = profiles
        results["profiled_region"] = stack.region.region
        say_round_trips(profiles)
        checks = warm.time_authorizer(max(requests, 3), stack.region.region)
        check = summarize(checks)
        say(
            f"token authorizer cache miss, in process: p50 {fmt_ms(check.p50)}, p99 "
            f"{fmt_ms(check.p99)} (RS256 check of a Cognito-shaped token, key list cached)"
        )
        if requests >= MIN_TIMED_REQUESTS:
            results["authorizer_ms"] = {"p50": round(check.p50, 3), "p99": round(check.p99, 3)}


def say_round_trips(profiles: dict[str, route_profile.RouteProfile]) -> None:
    say("round trips per request (libpq protocol trace; AWS calls from botocore events):")
    rows = [
        [
            label,
            str(len(p.round_trips)),
            str(p.forwarded_trips),
            "; ".join(t.statements[0].split(" ")[0] for t in p.round_trips) or "-",
            ", ".join(c.name for c in p.aws_calls) or "-",
        ]
        for label, p in profiles.items()
    ]
    say(
        table(
            ["route", "DB round trips", "forwarded from a secondary", "statements", "AWS calls"],
            rows,
        )
    )


def section_sizes(build: Path, results: dict) -> None:
    say(f"\n== Artifact sizes ({build}) ==")
    found = sizes.artifact_sizes(build)
    rows = [
        [
            f"{s.kind} {s.name}",
            fmt_bytes(s.zipped),
            fmt_bytes(s.unzipped),
            str(s.files),
            ratio(s.zipped, sizes.ZIPPED_LIMIT),
        ]
        for s in found
    ]
    say(table(["artifact", "zipped", "unzipped", "files", "zipped / 50 MB"], rows))
    worst = sizes.worst_unzipped_total(found)
    say(
        f"largest function + largest layer unzipped: {fmt_bytes(worst)} = "
        f"{ratio(worst, sizes.UNZIPPED_LIMIT)} of the 250 MB limit"
    )
    results["sizes"] = {f"{s.kind}:{s.name}": [s.zipped, s.unzipped] for s in found}
    for s in found:
        if s.kind == "layer" and s.name == "arm64":
            ok = s.zipped <= TARGETS["layer_zipped_bytes"]
            say(f"arm64 layer {fmt_bytes(s.zipped)} zipped (target <= 8 MB): {verdict(ok)}")


def section_program(make_test: bool, results: dict) -> None:
    say("\n== Program time ==")
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.synth"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    timings = json.loads(out.stdout.strip().splitlines()[-1])
    stacks = {k: v for k, v in timings.items() if not k.startswith("(")}
    say(
        table(
            ["stack (synthesis under mocks)", "seconds"],
            [[k, f"{v:.2f}"] for k, v in stacks.items()],
        )
    )
    results["synthesis_s"] = wall
    say(
        f"all three stacks: {sum(stacks.values()):.1f} s synthesis, {wall:.1f} s including the "
        f"interpreter and imports (target <= 20 s): {verdict(wall <= TARGETS['synthesis_s'])}"
    )
    if not make_test:
        say("make test wall time: not measured (slow); run `make bench BENCH_ARGS=--make-test`")
        return
    started = time.perf_counter()
    code = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, check=False).returncode  # noqa: S607
    wall = time.perf_counter() - started
    results["make_test_s"] = wall
    say(
        f"make test: {wall:.0f} s, exit {code} (target <= 300 s): "
        f"{verdict(code == 0 and wall <= TARGETS['make_test_s'])}"
    )


def section_model() -> None:
    say("\n== Latency and cost models of the synthesized stacks (python -m bench.model) ==")
    out = subprocess.run(
        [sys.executable, "-m", "bench.model"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    say(out.stdout.rstrip())
    if out.returncode != 0:
        raise SystemExit(f"bench.model failed:\n{out.stderr[-3000:]}")


def save_profile(path: Path, requests: int, results: dict) -> None:
    profiles = results.get("profiles")
    if profiles is None and "cold_init_ms" not in results:
        return
    if profiles is None:
        profiles = route_profile.routes_from(route_profile.load(path))
    meta = {"machine": f"{cold.machine_arch()}, Python {sys.version.split()[0]}"}
    if "profiled_region" in results:
        meta["region"] = results["profiled_region"]
    if results.get("profiles") is not None and requests >= MIN_TIMED_REQUESTS:
        meta |= {"recorded": time.strftime("%Y-%m-%d"), "requests_per_route": requests}
    route_profile.save(
        path,
        profiles,
        meta=meta,
        cold_init_ms=results.get("cold_init_ms"),
        authorizer_ms=results.get("authorizer_ms"),
    )
    say(f"(route profile written to {path})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="build directory")
    parser.add_argument("--runs", type=int, default=15, help="cold runs per module (>= 15)")
    parser.add_argument("--requests", type=int, default=2000, help="warm requests per route")
    parser.add_argument("--batches", type=int, default=200, help="subscriber batches of 10")
    parser.add_argument("--invocations", type=int, default=1000, help="for the connection count")
    parser.add_argument("--make-test", action="store_true", help="also time `make test`")
    parser.add_argument(
        "--only", default="cold,warm,sizes,program,model", help="comma-separated sections to run"
    )
    parser.add_argument("--json", type=Path, help="also write the headline figures here")
    parser.add_argument(
        "--profile",
        type=Path,
        default=route_profile.PROFILE_FILE,
        help="where the warm and cold sections record the route profile the models read",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    results: dict = {}
    started = time.perf_counter()
    say(f"bench on {cold.machine_arch()}, Python {sys.version.split()[0]}")
    if only & {"cold", "sizes"}:
        ensure_build(args.build)
    if "cold" in only:
        section_cold(args.build, args.runs, results)
    if "warm" in only:
        section_warm(args.requests, args.batches, args.invocations, results)
    if "sizes" in only:
        section_sizes(args.build, results)
    if "program" in only:
        section_program(args.make_test, results)
    save_profile(args.profile, args.requests, results)
    if "model" in only:
        section_model()
    say(f"\nbench finished in {time.perf_counter() - started:.0f} s")
    if args.json:
        results.pop("profiles", None)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
