"""Arrow helpers shared by the sinks: conform a batch to the stored columns, dedupe keys,
split by size and encode rows as JSON, all on whole columns (no per-row Python).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sluice.plugins.base import SinkConfigError, SinkError
from sluice.sql.sandbox import open_connection
from sluice.sql.types import BKDATA_TO_ARROW, SYSTEM_FIELDS

__all__ = [
    "byte_chunks",
    "conform",
    "conform_batch",
    "dedupe_last",
    "escape",
    "json_rows",
    "require_fields",
    "stored_fields",
    "string_data",
]

_local = threading.local()


def stored_fields(schema: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The columns a table-like store keeps: the RT schema, then the system fields it lacks.

    Raises:
        SinkConfigError: an unknown BKData type or a duplicate field name.
    """
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, ftype in schema:
        if ftype not in BKDATA_TO_ARROW:
            raise SinkConfigError(
                f"Field {name!r} has the unknown type {ftype!r}; "
                f"known: {', '.join(BKDATA_TO_ARROW)}."
            )
        if name in seen:
            raise SinkConfigError(f"Field {name!r} appears twice in the schema.")
        seen.add(name)
        out.append((name, ftype))
    out.extend((n, t) for n, t in SYSTEM_FIELDS if n not in seen)
    return out


def require_fields(fields: Sequence[tuple[str, str]], names: Sequence[str], what: str) -> None:
    """Raise :class:`SinkConfigError` unless every name in ``names`` is a stored field."""
    known = {n for n, _ in fields}
    missing = [n for n in names if n not in known]
    if missing:
        raise SinkConfigError(
            f"The {what} {', '.join(missing)} are not fields of the table "
            f"(fields: {', '.join(sorted(known))})."
        )


def conform(table: pa.Table, fields: Sequence[tuple[str, str]]) -> pa.Table:
    """``table`` as exactly ``fields`` in order, with their Arrow types.

    Absent columns become nulls; numbers are cast safely (an impossible cast raises
    ``pa.ArrowInvalid``); NaN and infinities become nulls, which no SQL store keeps.
    """
    n = table.num_rows
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for name, ftype in fields:
        target = BKDATA_TO_ARROW[ftype]
        if name in table.column_names:
            col = table.column(name)
            if col.type != target:
                col = col.cast(target)
            if pa.types.is_floating(target):
                finite = pc.is_finite(col)
                if not pc.all(pc.fill_null(finite, True)).as_py():
                    col = pc.if_else(finite, col, pa.scalar(None, target))
            arrays.append(col)
        else:
            arrays.append(pa.nulls(n, target))
    return pa.Table.from_arrays(arrays, names=[name for name, _ in fields])


def conform_batch(table: pa.Table, fields: Sequence[tuple[str, str]], target: str) -> pa.Table:
    """:func:`conform` for a sink's :meth:`write`: a batch that cannot take the fields' types
    raises :class:`SinkError` ``"The batch does not fit <target>: <reason>"`` (not retried)."""
    try:
        return conform(table, fields)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SinkError(f"The batch does not fit {target}: {exc}") from exc


def dedupe_last(table: pa.Table, keys: Sequence[str]) -> tuple[pa.Table, pa.Array | None]:
    """Keep the last row of each key (an upsert batch applied in order ends the same).

    Returns the table and, per kept row, its index in ``table`` (``None`` when every key was
    distinct and the table is returned as is).
    """
    index = pa.array(range(table.num_rows), pa.int64())
    grouped = (
        pa.table({**{k: table.column(k) for k in keys}, "__i": index})
        .group_by(list(keys), use_threads=False)
        .aggregate([("__i", "max")])
    )
    if grouped.num_rows == table.num_rows:
        return table, None
    last = grouped.column("__i_max").combine_chunks()
    kept = last.take(pc.sort_indices(last))
    return table.take(kept), kept


def string_data(rows: pa.Array | pa.ChunkedArray) -> tuple[memoryview, pa.Buffer]:
    """The offsets (an int memoryview, ``len(rows) + 1`` entries) and the data buffer of a
    non-null string array: row ``i`` is ``data[offsets[i]:offsets[i + 1]]``."""
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if rows.type not in (pa.string(), pa.large_string()):
        rows = rows.cast(pa.large_string())
    _, offsets, data = rows.buffers()
    view = memoryview(offsets)
    ints = view.cast("q") if rows.type == pa.large_string() else view.cast("i")
    offs = ints[rows.offset : rows.offset + len(rows) + 1]
    return offs, data


def escape(col: pa.Array | pa.ChunkedArray, escapes: Sequence[tuple[str, str]]) -> Any:
    """``col`` with each ``old`` replaced by ``new`` (one regex scan when nothing matches)."""
    pattern = "[" + "".join(re.escape(old) for old, _ in escapes) + "]"
    if not pc.any(pc.match_substring_regex(col, pattern)).as_py():
        return col
    for old, new in escapes:
        col = pc.replace_substring(col, old, new)
    return col


def byte_chunks(offsets: memoryview, max_bytes: int, max_rows: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` row ranges whose byte size stays under ``max_bytes`` (at least one
    row each) and whose length stays under ``max_rows``."""
    n = len(offsets) - 1
    start = 0
    while start < n:
        limit = offsets[start] + max_bytes
        stop = bisect.bisect_right(offsets, limit, start, n + 1) - 1
        stop = max(start + 1, min(stop, start + max_rows, n))
        yield start, stop
        start = stop


def json_rows(table: pa.Table) -> pa.Array:
    """One compact JSON object per row (a string array), encoded by DuckDB's ``to_json``."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = open_connection()
        _local.con = con
    con.register("__rows", table)
    try:
        out: pa.Table = con.sql("SELECT to_json(__rows)::VARCHAR FROM __rows").to_arrow_table()
    finally:
        con.unregister("__rows")
    return out.column(0).combine_chunks()
