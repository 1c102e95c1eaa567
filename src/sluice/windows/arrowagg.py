"""Arrow hash-aggregation twins of the SQL kernels, for the common aggregates.

Who calls it: :class:`~.kernels.Kernels` (merge and finalize) and :class:`~.panes.PaneWindows`
(scroll pre-aggregation). A DuckDB query over a small table costs milliseconds of planning
whatever its size, while ``pyarrow.Table.group_by`` costs a fraction of one; the window
operator runs a few such steps per batch, so for ``count``, ``sum``, ``avg``, ``min`` and
``max`` the steps run here, with the same partial layout, types and null rules as the SQL
kernels (see :mod:`.kernels`); ``first`` and ``last`` are pre-aggregated and finalized here
too (rows arrive in arrival order), while merging their partials stays in SQL. Every function returns ``None`` when it cannot give exactly the
SQL result (another aggregate, a column type it does not handle, NaN where DuckDB orders it
differently); the caller then runs the SQL kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.config import AggFunc, AggSpec

__all__ = ["ArrowAggs", "floor_to"]

_SIMPLE = frozenset({AggFunc.COUNT, AggFunc.SUM, AggFunc.AVG, AggFunc.MIN, AggFunc.MAX})
_ORDERED = frozenset({AggFunc.FIRST, AggFunc.LAST})
_FIRST_LAST = {AggFunc.FIRST: ("first", "min"), AggFunc.LAST: ("last", "max")}


def _key_ok(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    )


def _number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _has_nan(column: pa.ChunkedArray | pa.Array) -> bool:
    if not pa.types.is_floating(column.type):
        return False
    return bool(pc.any(pc.is_nan(column)).as_py())


def floor_to(values: pa.Array | pa.ChunkedArray, size: int) -> pa.Array | pa.ChunkedArray:
    """``floor(values / size) * size`` in exact int64 arithmetic (negative values too)."""
    quotient = pc.divide(values, size)  # truncates toward zero
    rest = pc.subtract(values, pc.multiply(quotient, size))
    down = pc.if_else(pc.less(rest, 0), pc.subtract(quotient, 1), quotient)
    return pc.multiply(down, size)


class ArrowAggs:
    """The Arrow kernels of one operator (its group keys and aggregates).

    ``enabled`` (pre-aggregation and results) is false when some aggregate is not one of
    ``count``, ``sum``, ``avg``, ``min``, ``max``, ``first``, ``last``; ``merges`` (merging
    partials) also when one is ``first`` or ``last``. Disabled methods return ``None``.
    """

    def __init__(self, group_keys: Sequence[str], aggs: Sequence[AggSpec]) -> None:
        self.group_keys = list(group_keys)
        self.aggs = tuple(aggs)
        self.enabled = all(a.func in _SIMPLE or a.func in _ORDERED for a in aggs)
        self.merges = all(a.func in _SIMPLE for a in aggs)

    def _keys_ok(self, table: pa.Table, lead: Sequence[str]) -> bool:
        names = table.column_names
        return all(k in names and _key_ok(table.schema.field(k).type) for k in lead) and all(
            k in names and _key_ok(table.schema.field(k).type) for k in self.group_keys
        )

    def pre_aggregate(self, rows: pa.Table, lead: Sequence[str]) -> pa.Table | None:
        """Partials of raw ``rows`` grouped by ``lead`` + keys (``lead`` columns, keys,
        ``__w_a*``/``__w_b*``), as :meth:`.Kernels.pre_aggregate_sql` computes them.
        ``rows`` must be in arrival order with their ``__w_seq`` (for first/last)."""
        if not self.enabled or not self._keys_ok(rows, lead):
            return None
        inputs: dict[str, pa.ChunkedArray | pa.Array] = {}
        specs: list[tuple[str | list[str], str, pc.FunctionOptions | None]] = []
        outputs: list[tuple[str, str]] = []
        for i, agg in enumerate(self.aggs):
            if agg.column is None:
                specs.append(([], "count_all", None))
                outputs.append((f"__w_a{i}", "count_all"))
                continue
            column = rows.column(agg.column)
            kind = column.type
            name = f"__w_i{i}"
            if agg.func is AggFunc.COUNT:
                if pa.types.is_null(kind):
                    return None
                inputs[name] = column
                specs.append((name, "count", pc.CountOptions(mode="only_valid")))
                outputs.append((f"__w_a{i}", f"{name}_count"))
            elif agg.func in _ORDERED:
                if pa.types.is_null(kind) or not _key_ok(kind):
                    return None
                pick, best = _FIRST_LAST[agg.func]
                inputs[name] = column
                inputs[f"{name}s"] = pc.if_else(pc.is_valid(column), rows.column("__w_seq"), None)
                specs.append((name, pick, pc.ScalarAggregateOptions(skip_nulls=True)))
                specs.append((f"{name}s", best, None))
                outputs.append((f"__w_a{i}", f"{name}_{pick}"))
                outputs.append((f"__w_b{i}", f"{name}s_{best}"))
            elif agg.func in (AggFunc.SUM, AggFunc.AVG):
                if not _number(kind):
                    return None
                wide = (
                    pa.float64()
                    if agg.func is AggFunc.AVG or pa.types.is_floating(kind)
                    else pa.int64()
                )
                inputs[name] = column.cast(wide)
                specs.append((name, "sum", None))
                outputs.append((f"__w_a{i}", f"{name}_sum"))
                if agg.func is AggFunc.AVG:
                    specs.append((name, "count", pc.CountOptions(mode="only_valid")))
                    outputs.append((f"__w_b{i}", f"{name}_count"))
            else:
                if not (_number(kind) or pa.types.is_string(kind)) or _has_nan(column):
                    return None
                inputs[name] = column
                specs.append((name, agg.func.value, None))
                outputs.append((f"__w_a{i}", f"{name}_{agg.func.value}"))
        keys = [*lead, *self.group_keys]
        table = pa.table({**{k: rows.column(k) for k in keys}, **inputs})
        grouped = table.group_by(keys, use_threads=False).aggregate(
            [(col, func, opts) if opts is not None else (col, func) for col, func, opts in specs]
        )
        return pa.table(
            {
                **{k: grouped.column(k) for k in keys},
                **{out: grouped.column(src) for out, src in outputs},
            }
        )

    def merge(self, table: pa.Table, lead: Sequence[str]) -> pa.Table | None:
        """Merge partial rows into one per ``lead`` + keys (same layout, ``__w_dirty`` too)."""
        if not self.merges or not self._keys_ok(table, lead):
            return None
        specs: list[tuple[str, str]] = []
        outputs: list[tuple[str, str, pa.DataType | None]] = []
        for i, agg in enumerate(self.aggs):
            a = f"__w_a{i}"
            kind = table.schema.field(a).type
            if agg.func in (AggFunc.MIN, AggFunc.MAX):
                if _has_nan(table.column(a)) or pa.types.is_null(kind):
                    return None
                specs.append((a, agg.func.value))
                outputs.append((a, f"{a}_{agg.func.value}", None))
                continue
            if not (_number(kind) or pa.types.is_null(kind)):
                return None
            wide = pa.int64() if agg.func is AggFunc.COUNT else None
            if agg.func is AggFunc.SUM:
                wide = pa.int64() if pa.types.is_integer(kind) else pa.float64()
            if agg.func is AggFunc.AVG:
                wide = pa.float64()
            specs.append((a, "sum"))
            outputs.append((a, f"{a}_sum", wide))
            if agg.func is AggFunc.AVG:
                specs.append((f"__w_b{i}", "sum"))
                outputs.append((f"__w_b{i}", f"__w_b{i}_sum", pa.int64()))
        specs.append(("__w_dirty", "any"))
        outputs.append(("__w_dirty", "__w_dirty_any", None))
        keys = [*lead, *self.group_keys]
        grouped = table.group_by(keys, use_threads=False).aggregate(specs)
        columns: dict[str, pa.ChunkedArray] = {k: grouped.column(k) for k in keys}
        for out, src, wide in outputs:
            column = grouped.column(src)
            columns[out] = column if wide is None or column.type == wide else column.cast(wide)
        return pa.table(columns)

    def finalize(self, merged: pa.Table) -> pa.Table | None:
        """Output columns (keys, aliases, ``__w_ws``, ``__w_we``) ordered by window."""
        if not self.enabled:
            return None
        columns: dict[str, pa.ChunkedArray | pa.Array] = {
            k: merged.column(k) for k in self.group_keys
        }
        for i, agg in enumerate(self.aggs):
            a = merged.column(f"__w_a{i}")
            if agg.func is AggFunc.COUNT:
                value = pc.fill_null(a, 0).cast(pa.int64())
            elif agg.func is AggFunc.AVG:
                count = merged.column(f"__w_b{i}")
                divisor = pc.if_else(pc.equal(count, 0), None, count).cast(pa.float64())
                value = pc.divide(a.cast(pa.float64()), divisor)
            else:
                value = a
            columns[agg.alias] = value
        columns["__w_ws"] = merged.column("__w_ws")
        columns["__w_we"] = merged.column("__w_we")
        table = pa.table(columns)
        order = pc.sort_indices(table, sort_keys=[("__w_ws", "ascending"), ("__w_we", "ascending")])
        return table.take(order)
