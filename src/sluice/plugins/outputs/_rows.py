"""Shared by the ``postgresql`` and ``mysql`` outputs: which event fields go to which table
columns, and each column as a typed Arrow array the sinks' column-wise encoders accept.

Who calls it: those two outputs, once per batch. Columns are the configured ``columns``, or
else every column of the table that the events have (in the table's order); a column the
events of a batch lack is written as NULL. Strings, integers, floats and booleans keep their
kind; objects, arrays and timestamps are written as their JSON text.
"""

from __future__ import annotations

import pyarrow as pa

from sluice.pipeline.jsonl import json_cells
from sluice.plugins.codecs import output_view

__all__ = ["typed_columns"]


def _typed(arr: pa.Array) -> tuple[pa.Array, str]:
    t = arr.type
    if pa.types.is_boolean(t):
        return arr, "boolean"
    if pa.types.is_integer(t):
        return arr.cast(pa.int64()), "long"
    if pa.types.is_floating(t):
        return arr.cast(pa.float64()), "double"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.string()), "string"
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string()), "string"
    return json_cells(arr), "string"


def typed_columns(
    table: pa.Table, columns: list[str], table_columns: list[str]
) -> tuple[pa.Table, list[tuple[str, str]]]:
    """The batch as a table of the written columns and their ``(name, kind)`` list (kinds
    as the sinks' encoders name them). ``columns`` empty means every table column the
    events have."""
    view = output_view(table)
    names = columns or [c for c in table_columns if c in view.column_names]
    arrays: list[pa.Array] = []
    fields: list[tuple[str, str]] = []
    for name in names:
        if name in view.column_names:
            arr, kind = _typed(view.column(name).combine_chunks())
        else:
            arr, kind = pa.nulls(view.num_rows, pa.string()), "string"
        arrays.append(arr)
        fields.append((name, kind))
    return pa.table(arrays, names=names), fields
