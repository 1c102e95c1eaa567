"""WindowJoin: inner and left joins of two stream inputs within the same scroll window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from windows_ref import record_marks

from sluice.windows import (
    CheckpointError,
    WindowConfig,
    WindowJoin,
    WindowSpecError,
    read_checkpoint,
    write_checkpoint,
)

T0 = 1_793_491_200_000
CONFIG = WindowConfig(window_type="scroll", count_freq=60, waiting_time=5, idle_timeout_ms=0)


def left(*rows: tuple[int, str | None, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"dtEventTimeStamp": T0 + t, "uid": u, "action": a} for t, u, a in rows]
    )


def right(*rows: tuple[int, str | None, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"dtEventTimeStamp": T0 + t, "user": u, "action": a} for t, u, a in rows]
    )


def pairs(table: pa.Table) -> list[tuple[Any, ...]]:
    return [
        (r["dtEventTimeStamp"] - T0, r["uid"], r["action"], r.get("right_action"))
        for r in table.to_pylist()
    ]


def run(how: str) -> list[tuple[Any, ...]]:
    join = WindowJoin(CONFIG, ["uid"], ["user"], how=how)  # type: ignore[arg-type]
    join.declare_partitions("left", [0], now_ms=0)
    join.declare_partitions("right", [0], now_ms=0)
    out = []
    out.append(join.process(left((1_000, "u1", "click"), (2_000, "u2", "view")), "left", now_ms=0))
    out.append(join.process(right((3_000, "u1", "buy"), (61_000, "u2", "buy")), "right", now_ms=0))
    out.append(join.process(left((59_000, None, "x"), (70_000, "u2", "view2")), "left", now_ms=0))
    assert all(o.rows.num_rows == 0 for o in out)  # watermark 61 s - 5 s: nothing closed yet
    out.append(join.process(right((130_000, "u9", "noop")), "right", now_ms=0))
    out.append(join.process(left((131_000, "u9", "noop")), "left", now_ms=0))
    out.append(join.flush())
    return [p for o in out for p in pairs(o.rows)]


def test_inner_join_within_window() -> None:
    assert run("inner") == [
        (0, "u1", "click", "buy"),
        (60_000, "u2", "view2", "buy"),
        (120_000, "u9", "noop", "noop"),
    ]


def test_left_join_keeps_unmatched_left_rows() -> None:
    assert run("left") == [
        (0, "u1", "click", "buy"),
        (0, "u2", "view", None),
        (0, None, "x", None),
        (60_000, "u2", "view2", "buy"),
        (120_000, "u9", "noop", "noop"),
    ]


def test_late_records_and_snapshot() -> None:
    join = WindowJoin(CONFIG, ["uid"], ["user"])
    join.process(left((1_000, "u1", "a")), "left", now_ms=0)
    join.process(right((2_000, "u1", "b")), "right", now_ms=0)
    restored = WindowJoin(CONFIG, ["uid"], ["user"])
    restored.restore(join.snapshot())
    out = restored.process(left((100_000, "u3", "c")), "left", now_ms=0)
    out2 = restored.process(right((100_000, "u3", "d")), "right", now_ms=0)
    assert pairs(out.rows) + pairs(out2.rows) == [(0, "u1", "a", "b")]
    late = restored.process(left((3_000, "u1", "late")), "left", now_ms=0)
    assert late.late.column("action").to_pylist() == ["late"]
    row = restored.flush().rows.to_pylist()[0]
    assert (row["_startTime_"], row["user"], row["right_action"]) == (
        "2026-11-01 00:01:00",
        "u3",
        "d",
    )


def test_join_spec_errors() -> None:
    with pytest.raises(WindowSpecError, match="scroll"):
        WindowJoin(WindowConfig(window_type="session", session_gap=5), ["a"], ["a"])
    with pytest.raises(WindowSpecError, match="allowed_lateness"):
        WindowJoin(CONFIG.model_copy(update={"allowed_lateness": True}), ["a"], ["a"])
    with pytest.raises(WindowSpecError, match="number of keys"):
        WindowJoin(CONFIG, ["a", "b"], ["a"])


def test_checkpoint_file_round_trip(tmp_path: Path) -> None:
    assert read_checkpoint(tmp_path) is None
    write_checkpoint(tmp_path, b"state-1", {"p0": 10}, {"output_len": 3})
    path = write_checkpoint(tmp_path, b"state-2", {"p0": 20})
    ckpt = read_checkpoint(tmp_path)
    assert ckpt is not None
    assert (ckpt.state, ckpt.offsets, ckpt.meta) == (b"state-2", {"p0": 20}, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a Sluice window checkpoint"):
        read_checkpoint(tmp_path)


@st.composite
def join_streams(draw: st.DrawFn) -> list[tuple[tuple[str, int], list[tuple[int, str, int]]]]:
    clock = T0
    batches = []
    for _ in range(draw(st.integers(1, 8))):
        side = draw(st.sampled_from(["left", "right"]))
        records = []
        for _ in range(draw(st.integers(0, 10))):
            clock += draw(st.integers(0, 30_000))
            lag = draw(st.sampled_from([0, 0, 0, 90_000]))
            t = clock - draw(st.integers(0, 4_000)) - lag
            records.append((t, draw(st.sampled_from(["a", "b", "c"])), draw(st.integers(0, 9))))
        batches.append(((side, 0), records))
    return batches


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(join_streams(), st.sampled_from(["inner", "left"]), st.sampled_from([0, 5, 60]))
def test_join_matches_duckdb(
    batches: list[tuple[tuple[str, int], list[tuple[int, str, int]]]], how: str, wait: int
) -> None:
    config = WindowConfig(window_type="scroll", count_freq=60, waiting_time=wait, idle_timeout_ms=0)
    join = WindowJoin(config, ["k"], ["k"], how=how)  # type: ignore[arg-type]
    parts = [("left", 0), ("right", 0)]
    for side, _ in parts:
        join.declare_partitions(side, [0], now_ms=0)  # type: ignore[arg-type]
    outs = []
    for (side, _), records in batches:
        table = pa.table(
            {
                "dtEventTimeStamp": pa.array([r[0] for r in records], pa.int64()),
                "k": pa.array([r[1] for r in records], pa.string()),
                "v": pa.array([r[2] for r in records], pa.int64()),
            }
        )
        outs.append(join.process(table, side, 0, now_ms=0))  # type: ignore[arg-type]
    outs.append(join.flush())
    got = sorted(
        (r["dtEventTimeStamp"], r["k"], r["v"], r.get("right_v"))
        for o in outs
        for r in o.rows.to_pylist()
    )
    late = sum(o.late.num_rows for o in outs)

    marks = record_marks(config, batches, parts)  # type: ignore[arg-type]
    sides = [side for (side, _), records in batches for _ in records]
    con = duckdb.connect()
    con.register("m", marks.append_column("side", pa.array(sides, pa.string())))
    con.execute(
        "CREATE TABLE x AS SELECT *, floor(t / 60000)::BIGINT * 60000 AS ws FROM m "
        "WHERE floor(t / 60000)::BIGINT * 60000 + 60000 > wm"
    )
    kind = "JOIN" if how == "inner" else "LEFT JOIN"
    want = sorted(
        con.execute(
            "SELECT l.ws, l.k, l.v, r.v FROM (SELECT * FROM x WHERE side = 'left') l "
            f"{kind} (SELECT * FROM x WHERE side = 'right') r ON l.ws = r.ws AND l.k = r.k"
        ).fetchall()
    )
    (accepted,) = con.execute("SELECT count(*) FROM x").fetchone() or (0,)
    assert got == want
    assert late == marks.num_rows - accepted
