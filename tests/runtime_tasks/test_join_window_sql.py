"""The SQL of one closed join window: plain joins, GROUP BY, and DuckDB failures isolated."""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest

from sluice.runtime.tasks.join_window_sql import JoinWindowSql, concat_tables
from sluice.sql import compile_realtime_sql

SCHEMAS = {
    "591_l": [("k", "string"), ("x", "string"), ("n", "long")],
    "591_r": [("k", "string"), ("y", "long")],
}
START = 1_795_000_020_000


def _sql(sql: str) -> JoinWindowSql:
    query = compile_realtime_sql(sql, SCHEMAS)
    return JoinWindowSql(query, list(query.inputs), "wj")


def _sides() -> tuple[pa.Table, pa.Table]:
    left = pa.table({
        "k": ["a", "b", "a", "c"], "x": ["1", "2", "3", "4"],
        "n": pa.array([1, 2, 2**62, 4], pa.int64()),  # the third overflows when scaled
    })  # fmt: skip
    right = pa.table({"k": ["a", "b", "c"], "y": pa.array([10, 20, 30], pa.int64())})
    return left, right


def test_plain_join_rows_carry_the_window_start() -> None:
    runner = _sql("select a.k, b.y from 591_l a join 591_r b on a.k = b.k")
    rows, lost = runner.run(*_sides(), START)
    assert lost == 0 and rows is not None
    assert sorted(zip(rows["k"].to_pylist(), rows["y"].to_pylist(), strict=True)) == [
        ("a", 10), ("a", 10), ("b", 20), ("c", 30)
    ]  # fmt: skip
    assert set(rows["dtEventTimeStamp"].to_pylist()) == {START}
    runner.query.close()


def test_failing_rows_are_isolated_dropped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    runner = _sql("select a.k, a.n * 1000 as big, b.y from 591_l a join 591_r b on a.k = b.k")
    with caplog.at_level(logging.ERROR):
        rows, lost = runner.run(*_sides(), START)
    assert lost == 1 and rows is not None
    assert sorted(rows["big"].to_pylist()) == [1000, 2000, 4000]
    assert "dropped 1 record(s) of 591_l from the join window" in caplog.text
    runner.query.close()


def test_group_by_over_the_window() -> None:
    runner = _sql(
        "select a.k, count(*) as n, sum(b.y) as s from 591_l a join 591_r b on a.k = b.k "
        "group by a.k"
    )
    rows, lost = runner.run(*_sides(), START)
    assert lost == 0 and rows is not None
    got = {
        k: (n, s) for k, n, s in zip(*(rows[c].to_pylist() for c in ("k", "n", "s")), strict=True)
    }
    assert got == {"a": (2, 20), "b": (1, 20), "c": (1, 30)}
    runner.query.close()


def test_an_empty_window_yields_nothing() -> None:
    runner = _sql("select a.k, b.y from 591_l a join 591_r b on a.k = b.k")
    left, right = _sides()
    assert runner.run(left.slice(0, 0), right, START) == (None, 0)
    assert concat_tables([]) is None
    runner.query.close()
