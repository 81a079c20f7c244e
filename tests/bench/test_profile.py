"""The route profile's wire counting (bench/profile.py): round trips from a libpq protocol
trace, which of them write forwarding sends to the writer region, and the recorded file."""

from __future__ import annotations

import json

from bench.profile import AwsCall, RoundTrip, RouteProfile, is_write, load, parse_trace, save


def trace(*batches: tuple[list[str], str]) -> str:
    """A libpq trace: each batch is (client messages, transaction status after it)."""
    lines = []
    for messages, status in batches:
        for message in messages:
            if message.startswith("Parse "):
                sql = message[len("Parse ") :]
                lines += [
                    f'F\t40\tParse\t "" "{sql}" 1 NNNN',
                    'F\t22\tBind\t "" "" 1 1 1 2',
                    'F\t6\tDescribe\t P ""',
                    'F\t9\tExecute\t "" 0',
                    "F\t4\tSync",
                    "B\t4\tParseComplete",
                ]
            else:
                lines.append(f'F\t13\tQuery\t "{message}"')
        lines += [
            'B\t13\tCommandComplete\t "X"',
            f"B\t5\tReadyForQuery\t {status}",
        ]
    return "\n".join(lines) + "\n"


def test_an_autocommit_write_is_one_forwarded_round_trip():
    trips = parse_trace(trace((["Parse INSERT INTO t VALUES ($1) RETURNING id"], "I")))
    assert trips == [RoundTrip(("INSERT INTO t VALUES ($1) RETURNING id",), True)]


def test_a_transaction_forwards_from_its_first_write_through_its_commit():
    trips = parse_trace(
        trace(
            (["BEGIN"], "T"),
            (["Parse SELECT a FROM t WHERE id = $1"], "T"),
            (["Parse UPDATE t SET a = $1"], "T"),
            (["Parse SELECT a FROM t WHERE id = $1"], "T"),
            (["COMMIT"], "I"),
            (["Parse SELECT 1"], "I"),
        )
    )
    assert [t.forwarded for t in trips] == [False, False, True, True, True, False]
    assert [t.statements[0].split()[0] for t in trips] == [
        "BEGIN",
        "SELECT",
        "UPDATE",
        "SELECT",
        "COMMIT",
        "SELECT",
    ]


def test_a_read_only_transaction_stays_local_and_row_locks_forward():
    reads = parse_trace(trace((["BEGIN"], "T"), (["Parse SELECT 1"], "T"), (["COMMIT"], "I")))
    assert len(reads) == 3 and not any(t.forwarded for t in reads)
    assert is_write("SELECT * FROM t WHERE id = $1 FOR UPDATE")
    assert is_write("  delete from t")
    assert not is_write("SELECT 'INSERT' FROM t")


def test_messages_without_an_answer_yet_and_noise_are_not_round_trips():
    text = "garbage\nB\t5\tReadyForQuery\t I\n" + trace((["SELECT 1"], "I"))
    assert len(parse_trace(text)) == 1


def test_saved_profile_round_trips_and_keeps_timings_a_short_run_lacks(tmp_path):
    path = tmp_path / "profile.json"
    timed = RouteProfile(
        "GET /me",
        [RoundTrip(("SELECT 1",), False)],
        [AwsCall("sns", "Publish", "eu-west-1")],
        handler_p50_ms=0.4,
        handler_p99_ms=0.9,
        response_bytes=120,
    )
    save(path, {"GET /me": timed}, meta={"region": "eu-west-1"}, cold_init_ms={"api": {"p50": 1}})
    untimed = RouteProfile("GET /me", [RoundTrip(("SELECT 2",), False)], [])
    save(path, {"GET /me": untimed}, meta={"machine": "x"})
    data = load(path)
    route = data["routes"]["GET /me"]
    assert route["round_trips"] == [{"statements": ["SELECT 2"], "forwarded": False}]
    assert route["aws_calls"] == []
    assert route["handler_ms"] == {"p50": 0.4, "p99": 0.9}
    assert data["meta"] == {"region": "eu-west-1", "machine": "x"}
    assert data["cold_init_ms"] == {"api": {"p50": 1}}
    assert json.loads(path.read_text()) == data
