"""The ``sql`` filter's projection shortcut: a statement that only picks columns by name
returns exactly what DuckDB returns (names, types, values, row order), and anything else,
including names DuckDB would resolve another way, still goes through DuckDB."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.executor import FilterChain
from sluice.plugins.filters import filter_kernels
from sluice.plugins.filters.sql_filter import SqlFilterError, _projection


def _chain(statement: str) -> FilterChain:
    config = (
        f"input {{ stdin {{}} }} filter {{ sql {{ statement => '{statement}' }} }} "
        "output { stdout {} }"
    )
    return FilterChain(compile_pipeline(config).filters, filter_kernels())


def _same(left: pa.Table, right: pa.Table) -> None:
    assert left.schema == right.schema
    for a, b in zip(left.to_pylist(), right.to_pylist(), strict=True):
        assert a.keys() == b.keys()
        for key in a:
            x, y = a[key], b[key]
            both_nan = isinstance(x, float) and isinstance(y, float) and math.isnan(x)
            assert both_nan or x == y, (key, x, y)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT ts, host FROM events", ("ts", "host")),
        ('SELECT "a b", c FROM events', ("a b", "c")),
        ("select a from EVENTS", ("a",)),
        ("SELECT ts AS t FROM events", None),
        ("SELECT * FROM events", None),
        ("SELECT a FROM events WHERE a > 1", None),
        ("SELECT a FROM events LIMIT 3", None),
        ("SELECT a FROM events ORDER BY a", None),
        ("SELECT DISTINCT a FROM events", None),
        ("SELECT a, A FROM events", None),
        ("SELECT a FROM other", None),
        ("SELECT e.a FROM events e", None),
        ("SELECT events.a FROM events", None),
        ("SELECT upper(a) FROM events", None),
        ("SELECT a FROM events GROUP BY a", None),
        ("SELECT a FROM events, events", None),
        ("WITH x AS (SELECT 1) SELECT a FROM events", None),
        ("SELECT a FROM events UNION SELECT a FROM events", None),
    ],
)
def test_only_a_plain_column_list_is_a_projection(
    query: str, expected: tuple[str, ...] | None
) -> None:
    assert _projection(query, "events") == expected


cells = {
    "s": st.none() | st.text(max_size=6),
    "i": st.none() | st.integers(-(2**63), 2**63 - 1),
    "f": st.none() | st.floats(allow_infinity=True, allow_nan=True),
    "b": st.none() | st.booleans(),
    "n": st.none() | st.integers(-(2**31), 2**31 - 1),
}
types = {"s": pa.string(), "i": pa.int64(), "f": pa.float64(), "b": pa.bool_(), "n": pa.int32()}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=20),
    st.permutations(sorted(cells)),
    st.integers(1, 5),
)
def test_a_projection_equals_duckdbs_result(
    rows: list[dict[str, object]], order: list[str], keep: int
) -> None:
    table = pa.Table.from_pylist(rows, schema=pa.schema(list(types.items())))
    picked = ", ".join(order[:keep])
    fast = _chain(f"SELECT {picked} FROM events").run(table)
    through_duckdb = _chain(f"SELECT {picked} FROM events WHERE true").run(table)
    _same(fast, through_duckdb)
    assert fast.column_names == order[:keep]


def test_names_and_types_duckdb_changes_still_go_through_duckdb() -> None:
    table = pa.table(
        {
            "Mixed": pa.array([1, 2], pa.int64()),
            "ts": pa.array([1, 2], pa.timestamp("ms", tz="UTC")),
            "big": pa.array(["x", "y"], pa.large_string()),
        }
    )
    # A name in another case: DuckDB answers with the batch's own name.
    assert _chain("SELECT mixed FROM events").run(table).column_names == ["Mixed"]
    # Columns of types a DuckDB trip may change are DuckDB's result, not the batch's.
    out = _chain("SELECT ts, big FROM events").run(table)
    _same(out, _chain("SELECT ts, big FROM events WHERE true").run(table))


def test_a_missing_column_is_duckdbs_error() -> None:
    with pytest.raises(SqlFilterError, match="nope"):
        _chain("SELECT nope FROM events").run(pa.table({"a": [1]}))
