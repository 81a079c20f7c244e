"""The bench's pure helpers give exact figures, and its harness still runs (tiny counts).

No timing is asserted: these tests prove `make bench` works, `make bench` prints the numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cold, sizes
from bench import profile as route_profile
from bench.__main__ import main
from bench.stats import fmt_bytes, fmt_ms, fmt_rate, ratio, summarize, table

ROOT = Path(__file__).resolve().parents[2]


def test_percentiles_follow_statistics_quantiles_inclusive():
    summary = summarize(list(range(1, 101)))
    assert (summary.n, summary.p50, summary.p95, summary.p99) == (100, 50.5, 95.05, 99.01)
    assert (summary.mean, summary.max) == (50.5, 100.0)


def test_percentiles_of_one_sample_and_of_none():
    assert summarize([7.0]).p99 == 7.0
    with pytest.raises(ValueError, match="no samples"):
        summarize([])


def test_ratio_and_formats():
    assert ratio(1, 4) == "0.25x (25 %)"
    assert ratio(3, 0) == "n/a"
    assert fmt_bytes(999) == "999 B"
    assert fmt_bytes(9_540_000) == "9.54 MB"
    assert fmt_bytes(114_900) == "114.9 kB"
    assert (fmt_ms(0.734), fmt_ms(52.34), fmt_ms(483.2)) == ("0.73 ms", "52.3 ms", "483 ms")
    assert fmt_rate(2000, 2.0, "requests") == "1,000 requests/s"
    assert fmt_rate(1, 0, "x") == "n/a"


def test_table_aligns_columns():
    text = table(["route", "p50"], [["GET /users", "0.65 ms"], ["GET /me", "10.1 ms"]])
    assert text.splitlines() == [
        "route           p50",
        "----------  -------",
        "GET /users  0.65 ms",
        "GET /me     10.1 ms",
    ]


def test_artifact_sizes_count_every_file_and_pair_largest_function_with_largest_layer(tmp_path):
    (tmp_path / "functions" / "api" / "handlers").mkdir(parents=True)
    (tmp_path / "functions" / "api" / "handlers" / "main.py").write_text("x = 1\n" * 100)
    (tmp_path / "layers" / "arm64" / "python").mkdir(parents=True)
    (tmp_path / "layers" / "arm64" / "python" / "lib.pyc").write_bytes(os.urandom(5000))
    found = {s.name: s for s in sizes.artifact_sizes(tmp_path)}
    assert (found["api"].kind, found["api"].unzipped, found["api"].files) == ("function", 600, 1)
    assert found["api"].zipped < 600, "text compresses"
    assert (found["arm64"].kind, found["arm64"].unzipped) == ("layer", 5000)
    assert sizes.worst_unzipped_total(list(found.values())) == 5600


def test_cold_probe_imports_a_handler_in_a_fresh_isolated_interpreter():
    env = {**cold.LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "t"}
    floor = cold.run_once(cold.Target("floor", None, (), env))
    assert floor.import_ms == 0.0 and floor.process_ms > 0
    # The authorizer needs nothing but the standard library, so the source tree suffices.
    target = cold.Target("authorizer", "handlers.authorizer.main", (str(ROOT),), env)
    samples = cold.measure(target, runs=2)
    assert len(samples) == 2 and all(0 < s.import_ms < s.process_ms for s in samples)
    assert all(s.import_cpu_ms > 0 for s in samples)


def test_cold_probe_reports_a_module_that_does_not_import():
    target = cold.Target("broken", "no_such_module_here", (str(ROOT),), dict(cold.LAMBDA_ENV))
    with pytest.raises(RuntimeError, match="broken: import failed"):
        cold.run_once(target, sys.executable)


def test_bench_sizes_section_runs_on_a_build_tree(tmp_path, capsys):
    (tmp_path / "functions" / "api").mkdir(parents=True)
    (tmp_path / "functions" / "api" / "main.py").write_text("pass\n")
    (tmp_path / "layers" / cold.machine_arch() / "python").mkdir(parents=True)
    (tmp_path / "layers" / "arm64" / "python").mkdir(parents=True, exist_ok=True)
    (tmp_path / "layers" / "arm64" / "python" / "m.pyc").write_bytes(b"\0" * 10)
    assert main(["--only", "sizes", "--build", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "function api" in out and "layer arm64" in out and "of the 250 MB limit" in out
    assert "arm64 layer" in out and "(target <= 8 MB): meets target" in out


def test_bench_warm_section_runs_against_local_postgres_and_moto(tmp_path):
    # A child process: moto's backends, Powertools' metric set and the handler singletons are
    # process-wide, and the bench must not share them with the rest of the suite.
    recorded = tmp_path / "profile.json"
    argv = ["--only", "warm", "--requests", "3", "--batches", "1", "--invocations", "5"]
    argv += ["--profile", str(recorded)]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for expected in (
        "subscriber throughput: 10 messages in batches of 10",
        "GET /users/{id}",
        "POST /uploads",
        "GET /users p99 in process",
        "GET /users throughput through HTTP",
        "database connections over 5 warm invocations: 0 opened, 1 distinct server backend(s)",
        "server-side prepared statements in that session: 0",
        "round trips per request (libpq protocol trace",
        "token authorizer cache miss, in process",
    ):
        assert expected in result.stdout, f"missing {expected!r} in:\n{result.stdout}"
    # The round trips and AWS calls the models read (bench/profile.json) are the ones the
    # handlers make today: a changed statement or call fails here until `make bench` re-records.
    fresh = route_profile.routes_from(route_profile.load(recorded))
    committed = route_profile.routes_from(route_profile.load())
    rerun = (
        "run `make bench` (timings too) or `python -m bench --only warm --requests 3` (round "
        "trips and calls only) and commit bench/profile.json"
    )
    assert sorted(fresh) == sorted(committed), f"the routes profiled changed: {rerun}"
    stale = [route for route in fresh if fresh[route].shape() != committed[route].shape()]
    assert not stale, f"bench/profile.json is stale for {stale}: {rerun}"
    assert all(p.handler_p50_ms is None for p in fresh.values()), "3 requests record no timings"
