"""Shared helpers of the batch kernels (grok, dissect, kv): string views of fields,
parallel RE2 extraction over large columns, Ruby-style number conversion.

Who calls it: the kernels only. Everything here works on whole columns.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.fields import FieldPath, get

__all__ = [
    "PARALLEL_MIN_ROWS",
    "extract",
    "list_item",
    "parallel_workers",
    "slice_pool",
    "string_view",
    "to_float",
    "to_int",
]

PARALLEL_MIN_ROWS = 32_768
"""Columns at least this long are cut into slices matched on several threads (RE2 in
pyarrow releases the GIL)."""


def parallel_workers() -> int:
    """How many slices a long column is cut into (the CPUs, at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))


@cache
def _pool() -> ThreadPoolExecutor:
    """Threads that only ever run ``pc.extract_regex`` on slices (never :func:`extract`
    itself), so callers on any thread can wait on them without deadlock."""
    return ThreadPoolExecutor(max_workers=parallel_workers(), thread_name_prefix="sluice-re2")


@cache
def slice_pool() -> ThreadPoolExecutor:
    """Threads that run one kernel over one slice of a column. A task may wait on
    :func:`extract` (another pool) but never on this pool, so nothing deadlocks."""
    return ThreadPoolExecutor(max_workers=parallel_workers(), thread_name_prefix="sluice-slice")


def extract(strings: pa.Array, regex: str) -> pa.StructArray:
    """``pc.extract_regex`` over ``strings``, sliced across threads when it is long."""
    n = len(strings)
    workers = parallel_workers()
    if n < PARALLEL_MIN_ROWS or workers == 1:
        return pc.extract_regex(strings, pattern=regex)
    step = -(-n // workers)
    slices = [strings.slice(i, step) for i in range(0, n, step)]
    parts = list(_pool().map(lambda s: pc.extract_regex(s, pattern=regex), slices))
    return pa.concat_arrays(parts)


def list_item(lists: pa.ListArray, index: int) -> pa.Array:
    """Item ``index`` of each list (null where the list is null or has no such item).

    Like ``pc.list_element`` (which raises on a short list), but one ``take`` on the lists'
    values: about half the cost for the string lists ``split_pattern`` returns, which the
    kernels cut every line into.
    """
    offsets = lists.offsets.slice(0, len(lists))
    present = pc.greater(pc.list_value_length(lists), index)
    positions = pc.if_else(present, pc.add(offsets, index), pa.nulls(len(lists), offsets.type))
    item: pa.Array = lists.values.take(positions)
    return item


def string_view(table: pa.Table, path: FieldPath) -> pa.Array | None:
    """The field as a string column (numbers and booleans cast, nulls kept), or ``None``
    when the table has no such field. Lists and objects read as null (not matchable)."""
    arr = get(table, path)
    if arr is None:
        return None
    t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if pa.types.is_boolean(t):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return arr.cast(pa.string())
    return pa.nulls(len(arr), pa.string())  # null, list and object values never match


def _all_match(strings: pa.Array, regex: str) -> bool:
    """Does every non-null string match ``regex``? (one DFA pass; no submatches)"""
    if len(strings) == strings.null_count:
        return False
    return bool(pc.all(pc.match_substring_regex(strings, regex)).as_py())


def to_int(strings: pa.Array) -> pa.Array:
    """Ruby ``String#to_i``: the leading integer, else 0; nulls stay null. A column of
    plain integers (the usual case) is cast at once, without extracting each lead."""
    if _all_match(strings, r"^-?[0-9]+$"):
        return pc.cast(strings, pa.int64(), safe=False)
    lead = pc.extract_regex(strings, pattern=r"^\s*(?P<n>[+-]?[0-9]+)").field("n")
    lead = pc.if_else(pc.equal(lead, ""), None, pc.utf8_ltrim(lead, "+"))  # Arrow rejects "+"
    values = pc.cast(lead, pa.int64(), safe=False).fill_null(0)
    return pc.if_else(strings.is_valid(), values, pa.nulls(len(strings), pa.int64()))


def to_float(strings: pa.Array) -> pa.Array:
    """Ruby ``String#to_f``: the leading decimal number, else 0.0; nulls stay null. A column
    of plain decimals (the usual case) is cast at once, without extracting each lead."""
    if _all_match(strings, r"^[+-]?[0-9]+(?:\.[0-9]+)?$"):
        return pc.cast(strings, pa.float64())
    pattern = r"^\s*(?P<n>[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    lead = pc.extract_regex(strings, pattern=pattern).field("n")
    lead = pc.if_else(pc.equal(lead, ""), None, lead)
    values = pc.cast(lead, pa.float64()).fill_null(0.0)
    return pc.if_else(strings.is_valid(), values, pa.nulls(len(strings), pa.float64()))
