"""WindowOperator behaviours: watermarks and idleness, lateness, DLQ, state, snapshots, config."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from sluice.windows import (
    DLQ_REASON,
    AggSpec,
    SnapshotError,
    WindowConfig,
    WindowOperator,
    WindowSpecError,
    WindowStateLimitError,
    event_times,
)

T0 = 1_793_491_200_000
COUNT = [AggSpec(func="count", alias="n"), AggSpec(func="sum", column="v", alias="s")]


def batch(*records: tuple[Any, ...]) -> pa.Table:
    return pa.table(
        {
            "dtEventTimeStamp": pa.array([r[0] for r in records], pa.int64()),
            "k": pa.array([r[1] for r in records], pa.string()),
            "v": pa.array([r[2] if len(r) > 2 else 1 for r in records], pa.int64()),
        }
    )


def scroll(**extra: Any) -> WindowConfig:
    fields: dict[str, Any] = {"window_type": "scroll", "count_freq": 60, "idle_timeout_ms": 0}
    return WindowConfig(**{**fields, **extra})


def test_declared_partition_holds_watermark_until_idle() -> None:
    op = WindowOperator(scroll(idle_timeout_ms=5_000), ["k"], COUNT)
    op.declare_partitions([0, 1], now_ms=0)
    out = op.process(batch((T0, "a"), (T0 + 120_000, "a")), 0, now_ms=1_000)
    assert out.rows.num_rows == 0 and op.watermark is None
    assert op.advance(now_ms=4_000).rows.num_rows == 0
    fired = op.advance(now_ms=5_500)  # partition 1 silent for 5.5 s > 5 s: no longer holds back
    assert fired.rows.to_pylist()[0]["n"] == 1
    assert op.watermark == T0 + 120_000
    back = op.process(batch((T0 + 1_000, "a")), 1, now_ms=7_000)  # idle partition returns late
    assert back.late.num_rows == 1
    assert back.late.column(DLQ_REASON)[0].as_py().startswith("late: event time")


def test_partition_with_unread_records_never_turns_idle() -> None:
    backlog = {1: True}
    op = WindowOperator(scroll(idle_timeout_ms=5_000), ["k"], COUNT)
    op.set_backlog(lambda p: backlog.get(p, False))
    op.declare_partitions([0, 1], now_ms=0)
    op.process(batch((T0, "a"), (T0 + 120_000, "a")), 0, now_ms=1_000)
    # Partition 1 delivered nothing for 60 s, but its reader is behind: it still holds back.
    assert op.advance(now_ms=60_000).rows.num_rows == 0 and op.watermark is None
    out = op.process(batch((T0 + 2_000, "a")), 1, now_ms=61_000)  # the slow read arrives
    assert out.late.num_rows == 0
    backlog[1] = False  # caught up: from now on its silence means idle
    out = op.process(batch((T0 + 200_000, "b")), 0, now_ms=64_000)
    assert out.rows.num_rows == 0  # partition 1 silent for 3 s only: it still holds back
    fired = op.advance(now_ms=66_500).rows.to_pylist()
    assert [(r["k"], r["n"]) for r in fired] == [("a", 2), ("a", 1)]


def test_when_every_partition_is_idle_the_largest_event_time_counts() -> None:
    op = WindowOperator(scroll(idle_timeout_ms=2_000), ["k"], COUNT)
    op.declare_partitions([0, 1], now_ms=0)
    assert op.process(batch((T0, "a"), (T0 + 90_000, "a")), 1, now_ms=100).rows.num_rows == 0
    # No tick fell between 2.0 s (partition 0 idle) and 2.1 s (partition 1 idle too).
    fired = op.advance(now_ms=2_200).rows.to_pylist()
    assert [(r["k"], r["n"]) for r in fired] == [("a", 1)]
    assert op.watermark == T0 + 90_000


def test_watermark_is_minimum_over_partitions() -> None:
    op = WindowOperator(scroll(waiting_time=10), ["k"], COUNT)
    op.process(batch((T0 + 200_000, "a")), 0, now_ms=0)
    assert op.watermark == T0 + 190_000  # only partition known so far
    op.process(batch((T0 + 100_000, "a")), 1, now_ms=0)
    assert op.watermark == T0 + 190_000  # never goes backwards
    out = op.process(batch((T0 + 130_000, "b"), (T0 + 250_000, "b")), 1, now_ms=0)
    assert out.late.column("dtEventTimeStamp").to_pylist() == [T0 + 130_000]  # [120 s, 180 s)
    assert op.watermark == T0 + 190_000
    op.process(batch((T0 + 400_000, "a")), 0, now_ms=0)
    assert op.watermark == T0 + 240_000


def test_invalid_event_times_go_to_dlq_with_reason() -> None:
    op = WindowOperator(scroll(), ["k"], COUNT)
    table = pa.table({"dtEventTimeStamp": ["1793491200000", "soon", None], "k": ["a", "b", "c"]})
    out = op.process(table, 0, now_ms=0)
    assert out.late.column("k").to_pylist() == ["b", "c"]
    assert "missing or invalid event time" in out.late.column(DLQ_REASON)[0].as_py()
    assert op.metrics().records_late == 2
    assert op.flush().rows.column("n").to_pylist() == [1]


def test_event_time_types() -> None:
    ts = pa.array([T0, None], pa.timestamp("ms", tz="UTC"))
    assert event_times(pa.table({"t": ts}), "t").to_pylist() == [T0, None]
    floats = pa.array([1.5, float("nan")])
    assert event_times(pa.table({"t": floats}), "t").to_pylist() == [1, None]
    assert event_times(pa.table({"x": [1]}), "t").to_pylist() == [None]


def test_allowed_lateness_corrections_follow_lateness_count_freq() -> None:
    config = scroll(allowed_lateness=True, lateness_time=1, lateness_count_freq=300)
    op = WindowOperator(config, ["k"], COUNT)
    first = op.process(batch((T0 + 1_000, "a", 5), (T0 + 61_000, "a")), 0, now_ms=0)
    assert first.rows.to_pylist()[0]["s"] == 5
    late = op.process(batch((T0 + 2_000, "a", 7), (T0 + 62_000, "a")), 0, now_ms=0)
    assert late.corrections.num_rows == 0  # next 300 s tick not reached yet
    fix = op.process(batch((T0 + 301_000, "b")), 0, now_ms=0)
    assert [(r["n"], r["s"]) for r in fix.corrections.to_pylist()] == [(2, 12)]
    assert op.process(batch((T0 + 302_000, "b")), 0, now_ms=0).corrections.num_rows == 0
    too_late = op.process(batch((T0 + 7_300_000, "b"), (T0 + 3_000, "a")), 0, now_ms=0)
    assert too_late.late.column("k").to_pylist() == ["a"]
    assert "allowed lateness 3600000 ms" in too_late.late.column(DLQ_REASON)[0].as_py()


def test_state_is_dropped_when_windows_close() -> None:
    op = WindowOperator(scroll(allowed_lateness=True, lateness_time=1), ["k"], COUNT)
    op.process(batch(*[(T0 + i * 1_000, f"k{i}") for i in range(100)]), 0, now_ms=0)
    assert op.metrics().state_rows == 100
    op.process(batch((T0 + 200_000, "z")), 0, now_ms=0)
    assert op.metrics().state_rows == 101  # fired windows retained for lateness
    op.process(batch((T0 + 3_900_000, "z")), 0, now_ms=0)
    assert op.metrics().state_rows == 1  # past end + 1 h: dropped


def test_memory_bounded_with_many_distinct_keys() -> None:
    op = WindowOperator(scroll(), ["k"], COUNT)
    keys = [f"user-{i}" for i in range(100_000)]
    peak = 0
    for window in range(4):
        for part in range(4):
            chunk = keys[part::4]
            times = pa.array([T0 + window * 60_000 + 1_000] * len(chunk), pa.int64())
            table = pa.table({"dtEventTimeStamp": times, "k": chunk, "v": [1] * len(chunk)})
            out = op.process(table, 0, now_ms=0)
            peak = max(peak, op.metrics().state_rows)
            if part == 0 and window > 0:
                assert out.rows.num_rows == 100_000
    assert peak <= 2 * 100_000
    assert op.flush().rows.num_rows == 100_000
    assert op.metrics().state_rows == 0


def test_snapshot_round_trip_and_errors() -> None:
    op = WindowOperator(scroll(waiting_time=5), ["k"], COUNT)
    op.process(batch((T0, "a", 2), (T0 + 30_000, "b", 3)), 0, now_ms=0)
    blob = op.snapshot()
    again = WindowOperator(scroll(waiting_time=5), ["k"], COUNT)
    again.restore(blob)
    assert again.watermark == op.watermark
    got = again.flush().rows.select(["k", "n", "s"]).to_pylist()
    assert got == [{"k": "a", "n": 1, "s": 2}, {"k": "b", "n": 1, "s": 3}]
    other = WindowOperator(scroll(), ["v"], COUNT)
    with pytest.raises(SnapshotError, match="different window type"):
        other.restore(blob)
    with pytest.raises(SnapshotError, match="magic"):
        again.restore(b"nope" + blob)
    with pytest.raises(SnapshotError, match="truncated"):
        again.restore(blob[:-5])


def test_state_limit() -> None:
    op = WindowOperator(scroll(max_state_rows=10), ["k"], COUNT)
    with pytest.raises(WindowStateLimitError, match="max_state_rows=10"):
        op.process(batch(*[(T0, f"k{i}") for i in range(11)]), 0, now_ms=0)


def test_process_after_flush_raises() -> None:
    op = WindowOperator(scroll(), [], COUNT)
    op.process(batch((T0, "a")), 0, now_ms=0)
    assert op.flush().rows.column("n").to_pylist() == [1]
    with pytest.raises(RuntimeError, match="after flush"):
        op.process(batch((T0, "a")), 0, now_ms=0)


def test_timezone_rendering() -> None:
    op = WindowOperator(scroll(timezone="Asia/Shanghai"), ["k"], COUNT)
    op.process(batch((T0, "a")), 0, now_ms=0)
    row = op.flush().rows.to_pylist()[0]
    assert (row["_startTime_"], row["_endTime_"]) == ("2026-11-01 08:00:00", "2026-11-01 08:01:00")
    assert row["dtEventTimeStamp"] == T0


def test_session_lateness_merges_into_fired_session() -> None:
    config = WindowConfig(
        window_type="session", session_gap=60, allowed_lateness=True, lateness_time=1,
        idle_timeout_ms=0,
    )  # fmt: skip
    op = WindowOperator(config, ["k"], COUNT)
    early = op.process(batch((T0, "a"), (T0 + 50_000, "a"), (T0 + 200_000, "a")), 0, now_ms=0)
    assert [(r["n"], r["_endTime_"]) for r in early.rows.to_pylist()] == [
        (2, "2026-11-01 00:01:50")
    ]
    fired = op.process(batch((T0 + 400_000, "b")), 0, now_ms=0)
    assert [(r["n"], r["_endTime_"]) for r in fired.rows.to_pylist()] == [
        (1, "2026-11-01 00:04:20")
    ]
    alone = op.process(batch((T0 + 120_000, "a")), 0, now_ms=0)  # 70 s after 50 s: own session
    assert [(r["n"], r["_startTime_"]) for r in alone.corrections.to_pylist()] == [
        (1, "2026-11-01 00:02:00")
    ]
    bridge = op.process(batch((T0 + 100_000, "a"), (T0 + 150_000, "a")), 0, now_ms=0)
    assert [(r["n"], r["_startTime_"], r["_endTime_"]) for r in bridge.corrections.to_pylist()] == [
        (6, "2026-11-01 00:00:00", "2026-11-01 00:04:20")
    ]


def test_config_validation_and_node_mapping() -> None:
    with pytest.raises(ValidationError, match="count_freq > 0"):
        WindowConfig(window_type="scroll")
    with pytest.raises(ValidationError, match="at least count_freq"):
        WindowConfig(window_type="slide", count_freq=600, window_time=2)
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Base'"):
        WindowConfig(window_type="scroll", count_freq=1, timezone="Mars/Base")
    with pytest.raises(ValidationError, match="session_gap > 0"):
        WindowConfig(window_type="session")
    with pytest.raises(ValidationError):
        WindowConfig.from_node_config({"window_type": "none"})
    with pytest.raises(ValidationError, match="extra"):
        WindowConfig(window_type="scroll", count_freq=1, bogus=1)  # type: ignore[call-arg]
    node = {
        "window_type": "accumulate", "count_freq": 60, "window_time": 10, "waiting_time": None,
        "window_lateness": {"allowed_lateness": True, "lateness_time": 6,
                            "lateness_count_freq": 180},
    }  # fmt: skip
    config = WindowConfig.from_node_config(node, event_time_field="ts")
    assert (config.size_ms, config.step_ms, config.lateness_ms) == (600_000, 60_000, 21_600_000)
    assert config.event_time_field == "ts" and config.waiting_time == 0


@pytest.mark.parametrize(
    ("keys", "aggs", "match"),
    [
        (["k", "k"], COUNT, "repeat a column"),
        (["k"], [AggSpec(func="count", alias="k")], "also a group key"),
        (["__w_t"], COUNT, "reserved prefix"),
        (["k"], [AggSpec(func="count", alias="n"), AggSpec(func="max", column="v", alias="n")],
         "aliases repeat"),
        (["dtEventTime"], COUNT, "window column"),
        (["k"], [], "at least one aggregate"),
    ],
)  # fmt: skip
def test_spec_errors(keys: list[str], aggs: list[AggSpec], match: str) -> None:
    with pytest.raises(WindowSpecError, match=match):
        WindowOperator(scroll(), keys, aggs)


def test_aggspec_needs_column() -> None:
    with pytest.raises(ValidationError, match="needs a column"):
        AggSpec(func="sum", alias="s")


def test_aggspec_from_sql_plan_calls() -> None:
    assert AggSpec.from_sql("COUNT", "x", True, "__a0").func == "count_distinct"
    assert AggSpec.from_sql("count", None, False, "__a1").column is None
    assert AggSpec.from_sql("LAST_VALUE", "p", False, "pattern").func == "last"
    assert AggSpec.from_sql("max", "x", True, "m").func == "max"
    with pytest.raises(ValueError, match="not supported"):
        AggSpec.from_sql("sum", "x", True, "s")
    with pytest.raises(ValueError, match="unknown aggregate 'median'"):
        AggSpec.from_sql("median", "x", False, "m")


def test_sql_layer_style_names_are_accepted() -> None:
    aggs = [AggSpec(func="count", alias="__a0"), AggSpec(func="max", column="__v1", alias="__a1")]
    op = WindowOperator(scroll(), ["__k0"], aggs)
    table = pa.table({"dtEventTimeStamp": [T0, T0 + 1], "__k0": ["x", "x"], "__v1": [3, 9]})
    op.process(table, 0, now_ms=0)
    assert op.flush().rows.select(["__k0", "__a0", "__a1"]).to_pylist() == [
        {"__k0": "x", "__a0": 2, "__a1": 9}
    ]


def test_advance_to_raises_the_watermark_fires_and_makes_older_records_late() -> None:
    op = WindowOperator(scroll(waiting_time=5), ["k"], COUNT)
    assert op.process(batch((T0 + 1000, "a"), (T0 + 2000, "b")), 0, now_ms=0).rows.num_rows == 0
    assert op.advance_to(T0 + 30_000).rows.num_rows == 0  # the minute is still open
    out = op.advance_to(T0 + 60_000)
    assert sorted(out.rows.column("k").to_pylist()) == ["a", "b"]
    assert op.advance_to(T0).rows.num_rows == 0  # never backwards, nothing fires twice
    assert op.watermark == T0 + 60_000
    late = op.process(batch((T0 + 59_000, "a")), 0, now_ms=0)
    assert late.late.num_rows == 1 and late.late.column(DLQ_REASON)[0].as_py().startswith("late")
    blob = op.snapshot()
    again = WindowOperator(scroll(waiting_time=5), ["k"], COUNT)
    again.restore(blob)
    assert again.watermark == T0 + 60_000
