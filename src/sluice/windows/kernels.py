"""Vectorised aggregation kernels: DuckDB SQL over Arrow tables, built from plain names.

Who calls it: the window strategies (:mod:`.panes`, :mod:`.sessions`) and the join. Every
query runs on the operator's private in-memory DuckDB connection (external access off) over
Arrow tables registered by name, so data never leaves columnar form and no user SQL is ever
executed here: identifiers are quoted and all literals are integers produced by the engine.

Partial-aggregate layout. For the ``i``-th :class:`~.config.AggSpec` the state keeps
``__w_a{i}`` and, where needed, ``__w_b{i}``:

=================  ==========================================  ============================
func               partial columns                             merge
=================  ==========================================  ============================
count              ``__w_a`` = row / non-null count              sum
count_distinct     ``__w_a`` = list of distinct non-null values  list_distinct(flatten(list))
sum                ``__w_a`` = sum (BIGINT or DOUBLE)            sum
avg                ``__w_a`` = DOUBLE sum, ``__w_b`` = count       sum, sum
min / max          ``__w_a`` = min / max                         min / max
first / last       ``__w_a`` = value, ``__w_b`` = arrival seq      arg_min / arg_max by seq
=================  ==========================================  ============================

plus ``__w_dirty`` (updated by a late record since the last emission). Rows are keyed by the
window bounds ``__w_ws``/``__w_we`` (ms) and the group keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count as _counter

import duckdb
import pyarrow as pa

from sluice.windows.arrowagg import ArrowAggs
from sluice.windows.config import AggFunc, AggSpec

__all__ = ["Kernels", "quote"]


def quote(name: str) -> str:
    """Quote an identifier for DuckDB (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _sum_cast(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return "BIGINT"
    if pa.types.is_floating(arrow_type) or pa.types.is_null(arrow_type):
        return "DOUBLE"
    return ""


class Kernels:
    """SQL kernels for one operator: its group keys, its aggregates, its DuckDB connection.

    Args:
        group_keys: input columns the aggregates are grouped by (besides the window).
        aggs: the aggregates, in output order.
        threads: DuckDB worker threads for these queries.
    """

    def __init__(self, group_keys: Sequence[str], aggs: Sequence[AggSpec], threads: int) -> None:
        self.group_keys = tuple(group_keys)
        self.aggs = tuple(aggs)
        self._con = duckdb.connect(
            ":memory:", config={"threads": max(1, threads), "enable_external_access": False}
        )
        self._names = _counter()
        self.keys_sql = ", ".join(quote(k) for k in self.group_keys)
        self.arrow = ArrowAggs(self.group_keys, self.aggs)
        """The Arrow twins of :meth:`merge` and :meth:`finalize` for the common aggregates."""

    def close(self) -> None:
        """Close the DuckDB connection (idempotent)."""
        self._con.close()

    def query(self, sql: str, **tables: pa.Table) -> pa.Table:
        """Run ``sql`` with each keyword table registered under its name; return Arrow."""
        registered = []
        try:
            for name, table in tables.items():
                self._con.register(name, table)
                registered.append(name)
            result: pa.Table = self._con.sql(sql).to_arrow_table()
            return result
        finally:
            for name in registered:
                self._con.unregister(name)

    def key_list(self, prefix: str = "") -> str:
        """``"k1", "k2"`` (optionally ``p."k1"``), or an empty string without keys."""
        return ", ".join(prefix + quote(k) for k in self.group_keys)

    def with_keys(self, *leading: str) -> str:
        """Comma list of ``leading`` expressions followed by the group keys."""
        parts = [*leading, *(quote(k) for k in self.group_keys)]
        return ", ".join(parts)

    # -- partial aggregation of raw rows ---------------------------------------------------

    def pre_aggregate_sql(self, schema: pa.Schema) -> str:
        """Select list computing partials from raw rows (needs ``__w_seq`` for first/last)."""
        cols: list[str] = []
        for i, agg in enumerate(self.aggs):
            col = quote(agg.column) if agg.column is not None else ""
            nonnull = f"FILTER (WHERE {col} IS NOT NULL)"
            func = agg.func
            if func is AggFunc.COUNT:
                cols.append(f"count({col or '*'}) AS __w_a{i}")
            elif func is AggFunc.COUNT_DISTINCT:
                cols.append(f"list(DISTINCT {col}) {nonnull} AS __w_a{i}")
            elif func is AggFunc.SUM:
                cast = _sum_cast(schema.field(agg.column or "").type)
                expr = f"sum({col}::{cast})::{cast}" if cast else f"sum({col})"
                cols.append(f"{expr} AS __w_a{i}")
            elif func is AggFunc.AVG:
                cols.append(f"sum({col}::DOUBLE) AS __w_a{i}, count({col}) AS __w_b{i}")
            elif func in (AggFunc.MIN, AggFunc.MAX):
                cols.append(f"{func.value}({col}) AS __w_a{i}")
            else:
                arg, best = ("arg_min", "min") if func is AggFunc.FIRST else ("arg_max", "max")
                cols.append(
                    f"{arg}({col}, __w_seq) {nonnull} AS __w_a{i}, {best}(__w_seq) {nonnull} AS __w_b{i}"
                )
        return ", ".join(cols)

    def merge_sql(self, schema: pa.Schema, dirty: bool = True) -> str:
        """Select list merging partial rows (same layout in, same layout out).

        ``dirty=False`` leaves out ``__w_dirty`` (for callers that compute it themselves).
        """
        cols: list[str] = []
        for i, agg in enumerate(self.aggs):
            func = agg.func
            if func is AggFunc.COUNT:
                cols.append(f"sum(__w_a{i})::BIGINT AS __w_a{i}")
            elif func is AggFunc.COUNT_DISTINCT:
                cols.append(f"list_distinct(flatten(list(__w_a{i}))) AS __w_a{i}")
            elif func is AggFunc.SUM:
                cast = _sum_cast(schema.field(f"__w_a{i}").type)
                expr = f"sum(__w_a{i})::{cast}" if cast else f"sum(__w_a{i})"
                cols.append(f"{expr} AS __w_a{i}")
            elif func is AggFunc.AVG:
                cols.append(f"sum(__w_a{i}) AS __w_a{i}, sum(__w_b{i})::BIGINT AS __w_b{i}")
            elif func in (AggFunc.MIN, AggFunc.MAX):
                cols.append(f"{func.value}(__w_a{i}) AS __w_a{i}")
            else:
                arg, best = ("arg_min", "min") if func is AggFunc.FIRST else ("arg_max", "max")
                cols.append(f"{arg}(__w_a{i}, __w_b{i}) AS __w_a{i}, {best}(__w_b{i}) AS __w_b{i}")
        if dirty:
            cols.append("bool_or(__w_dirty) AS __w_dirty")
        return ", ".join(cols)

    def final_sql(self) -> str:
        """Select list turning merged partials into the aggregate output columns."""
        cols: list[str] = []
        for i, agg in enumerate(self.aggs):
            func = agg.func
            alias = quote(agg.alias)
            if func is AggFunc.COUNT:
                cols.append(f"coalesce(__w_a{i}, 0)::BIGINT AS {alias}")
            elif func is AggFunc.COUNT_DISTINCT:
                cols.append(f"coalesce(len(__w_a{i}), 0)::BIGINT AS {alias}")
            elif func is AggFunc.AVG:
                cols.append(f"(__w_a{i} / NULLIF(__w_b{i}, 0))::DOUBLE AS {alias}")
            else:
                cols.append(f"__w_a{i} AS {alias}")
        return ", ".join(cols)

    # -- table-level operations ------------------------------------------------------------

    def merge(self, parts: Sequence[pa.Table], group: Sequence[str]) -> pa.Table:
        """Merge partial tables into one row per ``group`` + group keys.

        Args:
            parts: partial tables of identical layout (types are unified permissively).
            group: leading grouping expressions, e.g. ``("__w_ws", "__w_we")``.
        """
        table = concat(parts)
        fast = self.arrow.merge(table, group)
        if fast is not None:
            return fast
        by = self.with_keys(*group)
        return self.query(
            f"SELECT {by}, {self.merge_sql(table.schema)} FROM p GROUP BY {by}", p=table
        )

    def finalize(self, merged: pa.Table) -> pa.Table:
        """Output columns (group keys, aggregate aliases, ``__w_ws``, ``__w_we``) of merged rows."""
        fast = self.arrow.finalize(merged)
        if fast is not None:
            return fast
        keys = self.key_list()
        lead = f"{keys}, " if keys else ""
        sql = f"SELECT {lead}{self.final_sql()}, __w_ws, __w_we FROM m ORDER BY __w_ws, __w_we"
        return self.query(sql, m=merged)


def concat(parts: Sequence[pa.Table]) -> pa.Table:
    """Concatenate tables, unifying differing column types (int with double, null with any)."""
    if len(parts) == 1:
        return parts[0]
    return pa.concat_tables(parts, promote_options="permissive")
