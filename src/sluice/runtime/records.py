"""The codec between bus values (JSON objects, one per record) and Arrow tables.

An RT lives on the bus as JSON values. :func:`decode_json_values` turns a whole batch of
values into one Arrow table with the RT's schema in one native pass (each value followed by
``\\n``, read as newline-delimited JSON by ``pyarrow.json.read_json`` with an explicit
schema); only when that fails does it split the batch to find the failing values, so good
records are never lost and every bad one gets a reason. Before those, the native decoder
(:mod:`sluice.runtime.jsonscan`) reads every value it is sure of in one strict pass and
leaves them only the rest, so the rules below are theirs. The runtime decodes big batches in
parallel pieces (:mod:`sluice.runtime.tasks.fastjson`); values pyarrow's reader rejects
are decoded one by one by :mod:`sluice.runtime.record_one`. :func:`encode_json_rows`
(:mod:`sluice.runtime.record_encode`, re-exported here) does the reverse with DuckDB's
``to_json`` (vectorised, no per-row Python).

Decoding rules:

- fields not in the schema are ignored; missing fields become null;
- a value of the wrong JSON type is converted when that is lossless (a number or an object
  into a ``string`` field becomes its JSON text, ``"12"`` into a ``long`` field becomes 12,
  ``0``/``1``/``"true"`` into ``boolean``); otherwise the record is bad;
- a value that is not a JSON object, or not valid JSON / UTF-8, or empty, is bad (UTF-8 is
  checked for the whole value first: Arrow's reader does not check it inside strings);
- the system fields ``dtEventTimeStamp``, ``dtEventTime``, ``localTime``, ``thedate`` are
  read when present and filled when absent: ``dtEventTimeStamp`` from the bus record's
  timestamp (``timestamps_ms``) or the processing time, the others derived from it
  (see :func:`sluice.sql.system_fields.ensure_system_fields`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from sluice.runtime import jsonscan
from sluice.runtime.record_encode import encode_json_rows
from sluice.runtime.record_one import decode_one
from sluice.sql.system_fields import date_int, format_ms
from sluice.sql.types import SYSTEM_FIELDS, Schema, arrow_type

__all__ = [
    "DERIVED_FIELDS",
    "BadRecord",
    "as_binary_array",
    "decode_json_values",
    "encode_json_rows",
    "record_schema",
]

BadRecord = tuple[int, str]
"""``(index in the input batch, reason)`` for a value that could not be decoded."""

_SMALL_CHUNK = 16


DERIVED_FIELDS = frozenset({"dtEventTime", "localTime", "thedate"})
"""The system fields derived from ``dtEventTimeStamp`` (and the processing time)."""


def record_schema(schema: Schema, *, derived_fields: bool = True) -> pa.Schema:
    """Arrow schema of decoded records: the declared fields, then missing system fields
    (only ``dtEventTimeStamp`` of them when ``derived_fields`` is false)."""
    fields = [(name, t.lower()) for name, t in schema]
    names = {n for n, _ in fields}
    fields += [
        (n, t)
        for n, t in SYSTEM_FIELDS
        if n not in names and (derived_fields or n not in DERIVED_FIELDS)
    ]
    return pa.schema([pa.field(n, arrow_type(t)) for n, t in fields])


def as_binary_array(values: pa.Array | pa.ChunkedArray | Sequence[bytes | None]) -> pa.Array:
    """``values`` as one ``binary`` (or ``large_binary``) Arrow array, without copying Arrow
    input; a list of bytes is joined into one buffer (no Arrow object per value)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if pa.types.is_large_binary(values.type) or pa.types.is_large_string(values.type):
            return values.cast(pa.large_binary())
        return values.cast(pa.binary())
    present = [v for v in values if v is not None]
    if len(present) != len(values):
        return pa.array(values, pa.binary())
    # Build the array from one joined buffer: far cheaper than converting value by value.
    data = b"".join(present)
    offsets = pa.array([0, *itertools.accumulate(map(len, present))], pa.int64())
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(values), [None, offsets.buffers()[1], pa.py_buffer(data)]
    )


def _data(values: pa.Array) -> pa.Buffer:
    """The bytes of ``values`` (no nulls) from the first value's start to the last one's end."""
    offset_type = pa.int64() if pa.types.is_large_binary(values.type) else pa.int32()
    offsets = pa.Array.from_buffers(
        offset_type, len(values) + 1, [None, values.buffers()[1]], offset=values.offset
    )
    first, last = offsets[0].as_py(), offsets[-1].as_py()
    data: pa.Buffer = values.buffers()[2].slice(first, last - first)
    return data


def _read(values: pa.Array, schema: pa.Schema, *, lines: bool = True) -> pa.Table:
    """Parse JSON-object values (no nulls, each ``{...}``) with one native read.

    With ``lines`` (the fast path) each value is followed by ``\n`` (one vectorised join)
    and read as newline-delimited JSON: the reader splits blocks at newlines instead of
    parsing to find where objects end (cheaper, and parsed in parallel), and a value can
    only ever be its own row. Values holding a raw line break (pretty-printed) make the row
    count differ or the read fail; :func:`decode_json_values` then reads them with
    ``lines=False``: the values' buffer as is (zero-copy), objects found by parsing. The row
    count is checked in both modes; the concatenated mode can still read two invalid values
    as two objects across their boundary (``{"s":1}{"t":"}`` then ``{"}``), so it is kept
    for multi-line values only.

    Raises:
        pyarrow.ArrowInvalid | ValueError: some value did not parse (the caller splits).
    """
    longest = pc.max(pc.binary_length(values)).as_py() or 0
    options = pa_json.ReadOptions(block_size=max(1 << 20, int(longest) * 2 + 2), use_threads=True)
    parse = pa_json.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore", newlines_in_values=not lines
    )
    if lines:
        empty, newline = pa.scalar(b"", values.type), pa.scalar(b"\n", values.type)
        joined = pc.binary_join_element_wise(values, empty, newline)
        data = _data(joined)
    else:
        data = _data(values)
    table = pa_json.read_json(pa.BufferReader(data), read_options=options, parse_options=parse)
    if table.num_rows != len(values):
        raise ValueError(f"expected {len(values)} records, parsed {table.num_rows}")
    return table


_Reader = Literal["lines", "concatenated", "one_by_one"]


def _decode_range(
    values: pa.Array,
    indices: pa.Array,
    schema: pa.Schema,
    pieces: list[tuple[pa.Array, pa.Table]],
    bad: list[BadRecord],
    reader: _Reader,
    *,
    known_bad: bool = False,
) -> None:
    """Decode ``values`` natively, splitting in halves around failures (bad ones get reasons).

    ``reader`` picks :func:`_read`'s mode (``one_by_one`` skips the native read);
    ``known_bad`` says a native read of exactly these values already failed.
    """
    if len(values) == 0:
        return
    if reader != "one_by_one":
        try:
            if known_bad:
                raise ValueError("already failed")
            pieces.append((indices, _read(values, schema, lines=reader == "lines")))
            return
        except (pa.ArrowInvalid, ValueError):
            if len(values) > _SMALL_CHUNK:
                half = len(values) // 2
                for start, stop in ((0, half), (half, len(values))):
                    _decode_range(
                        values.slice(start, stop - start),
                        indices.slice(start, stop - start),
                        schema,
                        pieces,
                        bad,
                        reader,
                    )
                return
    rows: list[dict[str, Any]] = []
    good: list[int] = []
    for value, index in zip(values.to_pylist(), indices.to_pylist(), strict=True):
        try:
            rows.append(decode_one(value, schema))
            good.append(int(index))
        except ValueError as error:
            bad.append((int(index), str(error)))
    if rows:
        pieces.append((pa.array(good, pa.int64()), pa.Table.from_pylist(rows, schema=schema)))


def _decode_shaped(
    values: pa.Array,
    indices: pa.Array,
    schema: pa.Schema,
    pieces: list[tuple[pa.Array, pa.Table]],
    bad: list[BadRecord],
    newline_delimited: bool,
) -> None:
    """Decode ``{...}`` values: natively (:mod:`sluice.runtime.jsonscan`) where the native
    decoder is sure, the rest newline-delimited, except multi-line values (concatenated)."""
    if not newline_delimited:
        _decode_range(values, indices, schema, pieces, bad, "concatenated")
        return
    if jsonscan.supports(schema):
        table, unsure = jsonscan.scan(values, schema)
        if unsure is None:
            pieces.append((indices, table))
            return
        if table.num_rows:
            sure = pc.invert(pc.is_in(_sequence(len(values)), value_set=unsure))
            pieces.append((indices.filter(sure), table))
        values, indices = values.take(unsure), indices.take(unsure)
    try:
        pieces.append((indices, _read(values, schema, lines=True)))
        return
    except (pa.ArrowInvalid, ValueError):
        pass
    # Failure path only: find the multi-line values (one scan), read each group its way.
    multi = pc.match_substring_regex(values, "[\r\n]")
    if not pc.any(multi).as_py():
        _decode_range(values, indices, schema, pieces, bad, "lines", known_bad=True)
        return
    single = pc.invert(multi)
    _decode_range(values.filter(single), indices.filter(single), schema, pieces, bad, "lines")
    _decode_range(values.filter(multi), indices.filter(multi), schema, pieces, bad, "concatenated")


def _invalid_utf8(values: pa.Array, start: int = 0) -> list[int]:
    """Indices (plus ``start``) of the values that are not valid UTF-8.

    One validating cast when every value is valid (the usual case); otherwise the failing
    half is searched, so each broken value costs a few casts of shrinking slices.
    """
    if len(values) == 0:
        return []
    target = pa.large_string() if pa.types.is_large_binary(values.type) else pa.string()
    try:
        values.cast(target)
        return []
    except pa.ArrowInvalid:
        if len(values) == 1:
            return [start]
    half = len(values) // 2
    return _invalid_utf8(values.slice(0, half), start) + _invalid_utf8(
        values.slice(half), start + half
    )


def _ascending(order: pa.Array) -> bool:
    """Whether ``order`` is strictly increasing (then no reordering ``take`` is needed)."""
    return bool(pc.all(pc.greater(order.slice(1), order.slice(0, len(order) - 1))).as_py())


def _sequence(n: int) -> pa.Array:
    ones = pa.repeat(pa.scalar(1, pa.int64()), n)
    result: pa.Array = pc.subtract(pc.cumulative_sum(ones), 1)
    return result


def decode_json_values(
    values: pa.Array | pa.ChunkedArray | Sequence[bytes | None],
    schema: Schema,
    *,
    timestamps_ms: pa.Array | Sequence[int] | None = None,
    now_ms: int | None = None,
    timezone: str = "UTC",
    newline_delimited: bool = True,
    derived_fields: bool = True,
) -> tuple[pa.Table, list[BadRecord]]:
    """Decode a batch of JSON values into an Arrow table of the RT's schema.

    Called by the runtime for every fetched batch of a JSON RT topic.

    Args:
        values: the record values (binary/string Arrow array, or a list of bytes).
        schema: the RT schema ``[(field_name, bkdata_type), ...]``.
        timestamps_ms: the bus records' timestamps (epoch ms), one per value, used as
            ``dtEventTimeStamp`` where the value has none.
        now_ms: processing time (defaults to the wall clock) for ``localTime`` and missing
            event times.
        timezone: IANA zone of the text time fields and ``thedate``.
        newline_delimited: read the values as newline-delimited JSON (the fast path; a
            batch holding a multi-line value falls back to the concatenated read). ``False``
            always reads the values' buffer as concatenated objects (the original reader,
            kept as the reference the fast path is tested against).
        derived_fields: with ``False``, the undeclared ``dtEventTime``, ``localTime`` and
            ``thedate`` are neither read nor derived (cheaper, for a caller whose query does
            not use them); ``dtEventTimeStamp`` is always there.

    Returns:
        ``(table, bad)``: the good records in input order with :func:`record_schema`, and
        ``(index, reason)`` for each value that could not be decoded, sorted by index.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    arrow = record_schema(schema, derived_fields=derived_fields)
    binary = as_binary_array(values)
    n = len(binary)
    indices = _sequence(n)
    bad: list[BadRecord] = []
    pieces: list[tuple[pa.Array, pa.Table]] = []
    lengths = pc.binary_length(binary)
    empty = pc.fill_null(pc.equal(lengths, 0), True)
    shaped = pc.and_(pc.starts_with(binary, "{"), pc.ends_with(binary, "}"))
    fast = pc.and_(pc.invert(empty), pc.fill_null(shaped, False))
    broken = _invalid_utf8(binary)
    if broken:  # Arrow's reader does not check UTF-8 inside strings: decode these one by one
        fast = pc.and_(fast, pc.invert(pc.is_in(indices, value_set=pa.array(broken, pa.int64()))))
    if pc.all(fast).as_py():
        _decode_shaped(binary, indices, arrow, pieces, bad, newline_delimited)
    else:
        for index in pc.indices_nonzero(empty).to_pylist():
            bad.append((int(index), "empty value"))
        _decode_shaped(
            binary.filter(fast), indices.filter(fast), arrow, pieces, bad, newline_delimited
        )
        odd = pc.and_(pc.invert(empty), pc.invert(fast))
        _decode_range(binary.filter(odd), indices.filter(odd), arrow, pieces, bad, "one_by_one")
    if pieces:
        table = pa.concat_tables([t for _, t in pieces])
        order = pa.chunked_array([i for i, _ in pieces], pa.int64()).combine_chunks()
        if len(pieces) > 1 and not _ascending(order):
            by_index = pc.sort_indices(order)
            table, order = table.take(by_index), order.take(by_index)
    else:
        table, order = arrow.empty_table(), pa.array([], pa.int64())
    table = _fill_system_fields(table, order, timestamps_ms, now, timezone)
    bad.sort()
    return table, bad


def _fill_system_fields(
    table: pa.Table,
    good_indices: pa.Array,
    timestamps_ms: pa.Array | Sequence[int] | None,
    now: int,
    timezone: str,
) -> pa.Table:
    def replace(name: str, column: pa.Array | pa.ChunkedArray) -> None:
        nonlocal table
        table = table.set_column(
            table.schema.get_field_index(name), table.schema.field(name), column
        )

    stamps = table.column("dtEventTimeStamp")
    if stamps.null_count:
        fallback: pa.Array | pa.Scalar = pa.scalar(now, pa.int64())
        if timestamps_ms is not None:
            given = (
                pa.array(timestamps_ms, pa.int64())
                if not isinstance(timestamps_ms, pa.Array)
                else timestamps_ms.cast(pa.int64())
            )
            fallback = pc.fill_null(given.take(good_indices), now)
        stamps = pc.coalesce(stamps, fallback)
        replace("dtEventTimeStamp", stamps)
    present = set(table.column_names)
    if "dtEventTime" in present and table.column("dtEventTime").null_count:
        replace(
            "dtEventTime", pc.coalesce(table.column("dtEventTime"), format_ms(stamps, timezone))
        )
    if "localTime" in present and table.column("localTime").null_count:
        local = datetime.fromtimestamp(now / 1000, ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")
        replace("localTime", pc.coalesce(table.column("localTime"), pa.scalar(local, pa.string())))
    thedate = table.column("thedate") if "thedate" in present else None
    if thedate is not None and thedate.null_count:
        days = pc.cast(date_int(stamps, timezone), thedate.type)
        replace("thedate", pc.coalesce(thedate, days))
    return table
