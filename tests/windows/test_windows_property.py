"""Property test: every window type against a DuckDB reference over the whole input.

Hypothesis generates event streams (out of order, some records minutes or hours late, null
values and keys, one or two partitions, cut into arbitrary batches) and window settings in
BKData units. The engine's first emission per (window, key) must equal the reference over
the on-time records, its last emission (after corrections) the reference over all accepted
records, and its DLQ exactly the rejected records. Snapshots are taken and restored in the
middle of some runs, which must not change anything.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from windows_ref import (
    AGGS,
    ARROW_AGGS,
    SIMPLE_AGGS,
    Batch,
    aggregate_emissions,
    end_ms,
    expected_panes,
    expected_sessions,
    record_marks,
    run_engine,
    run_engine_outputs,
    same_row,
    session_emissions,
)

from sluice.windows import WindowConfig

BASE = 1_793_491_200_000
SETTINGS = settings(
    max_examples=int(os.environ.get("SLUICE_WINDOW_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def streams(draw: st.DrawFn, partitions: int, spread_ms: int) -> list[Batch]:
    clock = BASE
    batches: list[Batch] = []
    for _ in range(draw(st.integers(1, 7))):
        records = []
        for _ in range(draw(st.integers(0, 18))):
            clock += draw(st.integers(0, spread_ms))
            lag = draw(st.sampled_from(["none", "none", "none", "small", "big", "huge"]))
            jitter = {"none": 3_000, "small": 120_000, "big": 900_000, "huge": 3 * 3_600_000}
            t: int | None = clock - draw(st.integers(0, jitter[lag]))
            if draw(st.integers(0, 40)) == 0:
                t = None
            key = draw(st.sampled_from(["a", "b", "c", None]))
            value = draw(st.one_of(st.none(), st.integers(-20, 20)))
            records.append((t, key, value))
        batches.append((draw(st.integers(0, partitions - 1)), records))
    return batches


def lateness(draw: st.DrawFn) -> dict[str, Any]:
    allowed = draw(st.booleans())
    return {
        "allowed_lateness": allowed,
        "lateness_time": draw(st.sampled_from([0, 1])) if allowed else 0,
        "lateness_count_freq": draw(st.sampled_from([0, 60, 600])),
    }


PaneCase = tuple[WindowConfig, list[Batch], int, int, int, int]
"""Config, batches, partitions, snapshot every N calls, batches per ``process_runs`` call,
aggregate set (0: all, 1: those pre-aggregated with Arrow, 2: those merged with Arrow too)."""
AGG_SETS = (AGGS, ARROW_AGGS, SIMPLE_AGGS)


@st.composite
def pane_cases(draw: st.DrawFn, kind: str) -> PaneCase:
    fields: dict[str, Any] = {
        "window_type": kind,
        "count_freq": draw(st.sampled_from([30, 60, 180, 300])),
        "waiting_time": draw(st.sampled_from([0, 10, 60, 300])),
        "idle_timeout_ms": 0,
        **lateness(draw),
    }
    if kind != "scroll":
        fields["window_time"] = draw(st.sampled_from([5, 10, 30]))
    partitions = draw(st.sampled_from([1, 1, 2]))
    batches = draw(streams(partitions, draw(st.sampled_from([5_000, 40_000, 200_000]))))
    snap = draw(st.sampled_from([0, 0, 1, 2]))
    runs = draw(st.sampled_from([1, 1, 2, 4]))
    return WindowConfig(**fields), batches, partitions, snap, runs, draw(st.sampled_from([0, 1, 2]))


def check_panes(case: PaneCase) -> None:
    config, batches, partitions, snap, runs, agg_set = case
    parts = list(range(partitions))
    aggs = AGG_SETS[agg_set]
    got = run_engine(config, batches, parts, snapshot_every=snap, runs_per_call=runs, aggs=aggs)
    first, final, rejected = expected_panes(config, batches, parts)
    assert got.first_dupes == 0
    assert set(got.first) == set(first)
    for key, row in first.items():
        assert same_row(got.first[key], row), (key, got.first[key], row)
    assert set(got.last) == set(final)
    for key, row in final.items():
        assert same_row(got.last[key], row), (key, got.last[key], row)
    marks = record_marks(config, batches, parts).to_pylist()
    want_late = sorted(
        ((r["t"], r["k"], r["v"]) for r in marks if r["seq"] in set(rejected)),
        key=repr,
    )
    assert sorted(got.late_values, key=repr) == want_late


@SETTINGS
@given(pane_cases("scroll"))
def test_scroll_matches_duckdb(case: PaneCase) -> None:
    check_panes(case)


@SETTINGS
@given(pane_cases("slide"))
def test_slide_matches_duckdb(case: PaneCase) -> None:
    check_panes(case)


@SETTINGS
@given(pane_cases("accumulate"))
def test_accumulate_matches_duckdb(case: PaneCase) -> None:
    check_panes(case)


@st.composite
def session_cases(draw: st.DrawFn) -> tuple[WindowConfig, list[Batch], int, int]:
    config = WindowConfig(
        window_type="session",
        session_gap=draw(st.sampled_from([10, 60, 300])),
        waiting_time=draw(st.sampled_from([0, 10, 60])),
        expired_time=draw(st.sampled_from([0, 0, 3, 10])),
        idle_timeout_ms=0,
    )
    partitions = draw(st.sampled_from([1, 1, 2]))
    batches = draw(streams(partitions, draw(st.sampled_from([5_000, 40_000, 200_000]))))
    return config, batches, partitions, draw(st.sampled_from([0, 0, 1, 2]))


@SETTINGS
@given(session_cases())
def test_session_matches_reference(case: tuple[WindowConfig, list[Batch], int, int]) -> None:
    config, batches, partitions, snap = case
    parts = list(range(partitions))
    got = run_engine(config, batches, parts, snapshot_every=snap)
    want, rejected = expected_sessions(config, batches, parts)
    assert got.first_dupes == 0
    assert set(got.first) == set(want)
    for key, row in want.items():
        assert same_row(got.first[key], row), (key, got.first[key], row)
    assert got.last == got.first
    assert len(got.late_values) == len(rejected)


@st.composite
def late_session_cases(draw: st.DrawFn) -> tuple[WindowConfig, list[Batch], int, int]:
    config = WindowConfig(
        window_type="session",
        session_gap=draw(st.sampled_from([10, 60, 300])),
        waiting_time=draw(st.sampled_from([0, 10, 60])),
        expired_time=draw(st.sampled_from([0, 0, 10])),
        allowed_lateness=True,
        lateness_time=draw(st.sampled_from([0, 1])),
        lateness_count_freq=draw(st.sampled_from([0, 60, 600])),
        idle_timeout_ms=0,
    )
    partitions = draw(st.sampled_from([1, 1, 2]))
    batches = draw(streams(partitions, draw(st.sampled_from([5_000, 40_000, 200_000]))))
    return config, batches, partitions, draw(st.sampled_from([0, 0, 1, 2]))


@SETTINGS
@given(late_session_cases())
def test_session_lateness_matches_reference(
    case: tuple[WindowConfig, list[Batch], int, int],
) -> None:
    config, batches, partitions, snap = case
    parts = list(range(partitions))
    outputs = run_engine_outputs(config, batches, parts, snapshot_every=snap)
    emissions, rejected = session_emissions(config, batches, parts)
    aggs = aggregate_emissions(config, batches, emissions, parts)
    want = sorted(
        (
            ((call, kind, ws, we - we % 1000, key), agg)
            for (call, kind, ws, we, key, _), agg in zip(emissions, aggs, strict=True)
        ),
        key=lambda item: repr(item[0]),
    )
    got = sorted(
        (
            ((call, kind, row["dtEventTimeStamp"], end_ms(row["_endTime_"]), row["k"]), row)
            for call, out in enumerate(outputs)
            for kind, table in (("row", out.rows), ("fix", out.corrections))
            for row in table.to_pylist()
        ),
        key=lambda item: repr(item[0]),
    )
    assert [g[0] for g in got] == [w[0] for w in want]
    for (label, row), (_, agg) in zip(got, want, strict=True):
        assert same_row(row, agg), (label, row, agg)
    assert sum(out.late.num_rows for out in outputs) == len(rejected)
