"""The ``window`` filter on its own (through a FilterChain): results equal a DuckDB GROUP BY,
late events are refused with the engine's reason, idle input closes windows, snapshots
restore, and bad settings are positioned errors naming the valid values."""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import FilterChain
from sluice.plugins.filters import filter_kernels
from sluice.windows import WINDOW_COLUMNS

BASE = 1_793_491_200_000  # a minute boundary
FAR = 10**13  # a wall clock far past any idle timeout


def _chain(settings: str, around: str = "{}") -> FilterChain:
    body = (
        around.format(f"window {{ {settings} }}") if around != "{}" else f"window {{ {settings} }}"
    )
    config = f"input {{ stdin {{}} }} filter {{ {body} }} output {{ stdout {{}} }}"
    return FilterChain(compile_pipeline(config).filters, filter_kernels())


W3 = (
    'type => "scroll" size => 60 waiting_time => 5 timestamp => "ts_ms" '
    'group_by => ["service", "level"] aggregates => { "count" => "count(*)" '
    '"avg_latency_ms" => "avg(latency_ms)" "max_latency_ms" => "max(latency_ms)" }'
)


def _events(n: int, seed: int) -> pa.Table:
    """Events over ~10 minutes, out of order by up to 2 s (less than waiting_time)."""
    rng = random.Random(seed)
    ts = [BASE + i * 600_000 // n + rng.randint(-2000, 2000) for i in range(n)]
    return pa.table({
        "ts_ms": pa.array(ts, pa.int64()),
        "service": [rng.choice(["api", "db", "web"]) for _ in range(n)],
        "level": [rng.choice(["INFO", "WARN", "ERROR"]) for _ in range(n)],
        "latency_ms": [round(rng.uniform(1, 500), 3) for _ in range(n)],
        "message": [f"m{i}" for i in range(n)],
    })  # fmt: skip


def _reference(events: pa.Table) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.register("ev", events)
    rows = con.sql(
        "SELECT ts_ms // 60000 * 60000 AS dtEventTimeStamp, service, level, count(*) AS count, "
        "avg(latency_ms) AS avg_latency_ms, max(latency_ms) AS max_latency_ms FROM ev "
        "GROUP BY ALL"
    ).to_arrow_table()
    return sorted(rows.to_pylist(), key=_key)


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["dtEventTimeStamp"], row["service"], row["level"])


def _shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("dtEventTimeStamp", "service", "level", "count", "avg_latency_ms", "max_latency_ms")
    return sorted(({k: r[k] for k in keep} for r in rows), key=_key)


def _assert_same(got: list[dict[str, Any]], ref: list[dict[str, Any]]) -> None:
    """Same windows and keys, same counts and maxima, averages equal up to rounding."""
    shaped = _shape(got)
    assert [_key(r) for r in shaped] == [_key(r) for r in ref]
    for mine, theirs in zip(shaped, ref, strict=True):
        assert mine["count"] == theirs["count"]
        assert mine["max_latency_ms"] == theirs["max_latency_ms"]
        assert mine["avg_latency_ms"] == pytest.approx(theirs["avg_latency_ms"], rel=1e-12)


def test_scroll_windows_by_key_equal_a_duckdb_group_by() -> None:
    events = _events(5000, seed=1)
    chain = _chain(W3)
    got: list[dict[str, Any]] = []
    for start in range(0, events.num_rows, 700):
        got += chain.run(events.slice(start, 700)).to_pylist()
    assert got, "windows whose watermark passed are emitted with the batches"
    assert chain.take_dead() == []
    tail = chain.tick(now_ms=FAR)  # idle input: the last windows close too
    assert tail is not None
    got += tail.to_pylist()
    _assert_same(got, _reference(events))
    first = got[0]
    assert list(first)[:6] == [
        "service", "level", "count", "avg_latency_ms", "max_latency_ms", WINDOW_COLUMNS[0]
    ]  # fmt: skip
    assert set(WINDOW_COLUMNS) <= set(first) and "message" not in first


def test_a_late_event_is_refused_with_the_engines_reason() -> None:
    chain = _chain(W3)
    early = pa.table({"ts_ms": [BASE, BASE + 70_000], "service": ["a", "a"],
                      "level": ["I", "I"], "latency_ms": [1.0, 2.0]})  # fmt: skip
    out = chain.run(early)
    assert [r["count"] for r in out.to_pylist()] == [1]  # the first minute closed
    late = pa.table({"ts_ms": [BASE + 10], "service": ["a"], "level": ["I"],
                     "latency_ms": [9.0], "message": ["late one"]})  # fmt: skip
    assert chain.run(late).num_rows == 0
    [(node_id, events, reasons)] = chain.take_dead()
    assert node_id == "window_1"
    assert events.to_pylist() == [{"ts_ms": BASE + 10, "service": "a", "level": "I",
                                   "latency_ms": 9.0, "message": "late one"}]  # fmt: skip
    assert reasons[0].startswith("late: event time") and "closed" in reasons[0]
    assert chain.take_dead() == []  # drained
    no_time = pa.table({"service": ["b"], "level": ["I"], "latency_ms": [1.0]})
    chain.run(no_time)
    [(_, _, reasons)] = chain.take_dead()
    assert "missing or invalid event time" in reasons[0]


def test_idle_input_closes_windows_after_idle_timeout_only() -> None:
    chain = _chain(W3 + " idle_timeout => 30 add_tag => ['windowed']")
    events = pa.table({"ts_ms": [BASE + 1000, BASE + 2000], "service": ["a", "b"],
                       "level": ["I", "I"], "latency_ms": [1.0, 3.0]})  # fmt: skip
    assert chain.run(events).num_rows == 0  # the minute is still open
    assert chain.tick() is None  # not silent long enough
    out = chain.tick(now_ms=FAR)
    assert out is not None
    rows = out.to_pylist()
    assert sorted((r["service"], r["count"]) for r in rows) == [("a", 1), ("b", 1)]
    assert all(r["tags"] == ["windowed"] for r in rows)  # decorations apply on ticks too
    assert chain.tick(now_ms=FAR) is None  # nothing is emitted twice
    off = _chain(W3 + " idle_timeout => 0")
    off.run(events)
    assert off.tick(now_ms=FAR) is None


def test_ticked_rows_run_through_the_filters_after_the_window() -> None:
    chain = _chain(
        W3,
        around='if [level] == "I" {{ {} mutate {{ add_field => {{ "n" => "%{{count}}" }} }} }}',
    )
    chain.run(pa.table({"ts_ms": [BASE], "service": ["a"], "level": ["I"],
                        "latency_ms": [1.0]}))  # fmt: skip
    out = chain.tick(now_ms=FAR)
    assert out is not None and out.to_pylist()[0]["n"] == "1"


def test_snapshot_restores_the_open_windows() -> None:
    events = _events(2000, seed=2)
    one = _chain(W3)
    got = one.run(events.slice(0, 1000)).to_pylist()
    state = one.snapshot()
    two = _chain(W3)
    assert two.restore(state) == []
    got += two.run(events.slice(1000)).to_pylist()
    tail = two.tick(now_ms=FAR)
    assert tail is not None
    _assert_same(got + tail.to_pylist(), _reference(events))
    other = _chain(W3.replace("size => 60", "size => 30"))
    with pytest.raises(ValueError, match="different window"):
        other.restore(state)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ('type => "tumble" size => 60', "'scroll', 'slide', 'accumulate' or 'session'"),
        ("size => 60 aggregates => { \"x\" => \"median(a)\" }",
         "valid functions: count, count_distinct, sum, avg, min, max, first, last"),
        ("size => 60 aggregates => { \"x\" => \"avg latency\" }", "function(field)"),
        ("aggregates => { \"c\" => \"count(*)\" }", "scroll windows need size > 0"),
        ('type => "session" aggregates => { "c" => "count(*)" }', "session_gap > 0"),
        ('type => "slide" size => 120 window_time => 1 aggregates => { "c" => "count(*)" }',
         "window_time"),
        ('size => 60 timezone => "Mars/Base" aggregates => { "c" => "count(*)" }',
         "unknown time zone"),
        ('size => 60 group_by => "c" aggregates => { "c" => "count(*)" }', "both group_by"),
        ("size => 60 aggregates => { \"_endTime_\" => \"count(*)\" }", "window field"),
        ("size => 60", "needs the setting 'aggregates'"),
        ('size => 60 sizes => 3 aggregates => { "c" => "count(*)" }', "waiting_time"),
    ],
)  # fmt: skip
def test_bad_settings_are_positioned_errors_naming_the_valid_values(
    settings: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _chain(settings)
    assert expected in str(info.value)
    assert info.value.line == 1 and info.value.column > 0


def test_flush_at_the_end_of_input_emits_every_open_window_once() -> None:
    events = _events(3000, seed=5)
    chain = _chain(W3)
    got = chain.run(events).to_pylist()
    held = chain.flush()
    assert held is not None and held.num_rows > 0, "the last windows were still open"
    got += held.to_pylist()
    _assert_same(got, _reference(events))
    assert chain.flush() is None  # nothing is held any more
    assert chain.tick(now_ms=FAR) is None


def test_a_pipeline_test_run_closes_the_open_windows_at_the_end() -> None:
    from sluice.pipeline.run.simulate import run_filters, simulate

    config = (
        f"input {{ stdin {{}} }} filter {{ window {{ {W3} }} "
        'mutate { add_tag => ["windowed"] } } output { stdout {} }'
    )
    events = [
        {"ts_ms": BASE + 1_000, "service": "a", "level": "I", "latency_ms": 2.0},
        {"ts_ms": BASE + 2_000, "service": "a", "level": "I", "latency_ms": 4.0},
        {"ts_ms": BASE + 61_000, "service": "b", "level": "W", "latency_ms": 1.0},
    ]
    rows = run_filters(config, events)
    assert [(r["service"], r["count"], r["avg_latency_ms"], r["tags"]) for r in rows] == [
        ("a", 2, 3.0, ["windowed"]),
        ("b", 1, 1.0, ["windowed"]),
    ]
    steps = simulate(config, events)["steps"]
    assert [len(step["events"]) for step in steps] == [2, 2]
    assert [r["dtEventTimeStamp"] for r in steps[0]["events"]] == [BASE, BASE + 60_000]
