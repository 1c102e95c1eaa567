"""JSON-lines chunks: the bulk path from an input's bytes to Arrow, and Arrow on the bus.

Who calls it: the pipeline runner. An input with a ``json``/``json_lines`` codec hands
whole chunks of complete JSON lines to the runtime (``Input.emit_lines``) with a *stamp*:
the fields every event of the chunk gets unless it has them (``@timestamp``, ``@version``,
``host``, ``path``, ``port``, ``type``, ``add_field``), as ``Input.emit`` sets them one event
at a time on the slow path. On the input's thread, :func:`decode_chunk` parses the chunk
with ``pyarrow.json`` (multi-threaded C++, no Python object per event) and adds the stamp as
constant columns (or fills the nulls of a column the events partly have); the table goes to
the input topic as one record in the Arrow IPC stream format (:func:`ipc_value`), marked by the
header :data:`ARROW_HEADER`, and the worker reads it back without copying (:func:`from_ipc`).

``pyarrow.json`` infers timestamps from date-like strings; Sluice keeps them as text, so a
chunk whose inferred schema has timestamps is read again with those fields declared as
strings, and the declaration is remembered in :class:`ChunkDecoder` for the next chunks.
Whenever the bulk path cannot give exactly what the per-event path gives (a line that is
not a JSON object, invalid JSON or UTF-8, a field with two kinds of value, duplicate keys,
a stamp field of another type), :func:`decode_chunk` returns ``None`` and the caller uses
:func:`chunk_events` (the per-event path: ``_jsonparsefailure`` events, mixed kinds as text,
as everywhere else).
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.json as pj

from sluice.bus import Headers
from sluice.pipeline.jsonl import encode_jsonl
from sluice.pipeline.run.events import decode_events
from sluice.plugins.codecs import parse_event

__all__ = [
    "ARROW_HEADER",
    "ChunkDecoder",
    "chunk_events",
    "decode_batch",
    "decode_chunk",
    "from_ipc",
    "ipc_value",
    "rows_of",
    "stamped",
    "table_events",
]

ARROW_HEADER = "sluice-arrow"
"""Record header marking a value that is a table of events in the Arrow IPC stream format."""

_BLOCK = 1 << 20
_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError)


def _stringify(t: pa.DataType) -> pa.DataType:
    """``t`` with every timestamp inside it replaced by string."""
    if pa.types.is_timestamp(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _stringify(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(_stringify(t.value_type))
    return t


def _read(chunk: bytes, hints: dict[str, pa.DataType], *, only: bool = False) -> pa.Table:
    """Parse ``chunk`` with ``hints`` declared; ``only``: skip every other field."""
    schema = pa.schema(list(hints.items())) if hints else None
    unexpected = "ignore" if only else "infer"
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior=unexpected)
    read = pj.ReadOptions(use_threads=True, block_size=_BLOCK)
    table = pj.read_json(pa.py_buffer(chunk), read_options=read, parse_options=parse)
    # a declared field absent from every line of this chunk is not an event field
    absent = [
        name for name in hints if name in table.column_names
        and table.column(name).null_count == table.num_rows
    ]  # fmt: skip
    return table.drop_columns(absent) if absent else table


class ChunkDecoder:
    """Parses chunks; remembers which fields must be read as text (see the module doc).

    With ``live`` (the fields the pipeline can read, :func:`sluice.pipeline.run.live.
    live_fields`), once every live field has been seen with a scalar type, chunks are
    parsed with those fields declared and every other field skipped (much less to parse,
    store and read); a chunk that does not fit the declaration is parsed whole.
    """

    def __init__(self, live: frozenset[str] | None = None) -> None:
        self.hints: dict[str, pa.DataType] = {}
        self._live = None if live is None else {name.lower() for name in live}
        self._types: dict[str, pa.DataType] = {}  # live fields seen (by their own case)
        self._nested = False
        self._lock = threading.Lock()  # inputs decode on their own threads

    @property
    def live(self) -> set[str] | None:
        """The live field names (lower case), or ``None`` for every field."""
        return self._live

    @property
    def projection(self) -> dict[str, pa.DataType] | None:
        """The declared live fields, when chunks are parsed with only them."""
        with self._lock:
            if self._live is None or self._nested:
                return None
            if {name.lower() for name in self._types} != self._live:
                return None
            return dict(self._types)

    def _learn(self, table: pa.Table) -> None:
        if self._live is None:
            return
        with self._lock:
            for f in table.schema:
                if f.name.lower() not in self._live or pa.types.is_null(f.type):
                    continue
                if pa.types.is_nested(f.type) or pa.types.is_timestamp(f.type):
                    self._nested = True
                self._types.setdefault(f.name, f.type)

    def table(self, chunk: bytes) -> pa.Table | None:
        """The events of ``chunk`` (no stamp yet), or ``None`` for the per-event path."""
        try:
            # pyarrow.json passes invalid UTF-8 through into string columns; reject it here
            if not chunk.isascii():
                pa.array([chunk], pa.large_binary()).cast(pa.large_string())
        except _ERRORS:
            return None
        projection = self.projection
        if projection is not None:
            try:
                return _read(chunk, projection, only=True)
            except _ERRORS:
                pass  # parsed whole below
        table = self._whole(chunk)
        if table is not None:
            self._learn(table)
        return table

    def _whole(self, chunk: bytes) -> pa.Table | None:
        with self._lock:
            hints = dict(self.hints)
        try:
            table = _read(chunk, hints)
        except _ERRORS:  # any parse problem means the per-event path
            if not hints:
                return None
            try:  # a remembered declaration may not fit this chunk
                table = _read(chunk, {})
            except _ERRORS:
                return None
        fixed = {f.name: _stringify(f.type) for f in table.schema if _stringify(f.type) != f.type}
        if not fixed:
            return table
        with self._lock:
            self.hints.update(fixed)
            hints = dict(self.hints)
        try:
            table = _read(chunk, hints)
        except _ERRORS:
            return None
        if any(_stringify(f.type) != f.type for f in table.schema):
            return None
        return table


def stamped(table: pa.Table, stamp: dict[str, Any]) -> pa.Table | None:
    """``table`` with the stamp's fields where events lack them, or ``None`` when a stamp
    field has another type in the table (use the per-event path)."""
    n = table.num_rows
    for key, value in stamp.items():
        constant = pa.scalar(value)
        if key not in table.column_names:
            table = table.append_column(key, pa.repeat(constant, n))
            continue
        col = table.column(key)
        if col.null_count == 0:
            continue
        if col.type != constant.type and not pa.types.is_null(col.type):
            return None
        index = table.column_names.index(key)
        filled = col.cast(constant.type).fill_null(constant)
        table = table.set_column(index, key, filled)
    return table


def decode_chunk(decoder: ChunkDecoder, chunk: bytes, stamp: dict[str, Any]) -> pa.Table | None:
    """The stamped events of ``chunk`` as one table, or ``None`` (use :func:`chunk_events`)."""
    table = decoder.table(chunk)
    if table is None:
        return None
    if table.num_rows == 0 and not chunk.strip():
        return table
    live = decoder.live
    if live is not None:  # a stamp field no filter or output can read is not stored
        stamp = {k: v for k, v in stamp.items() if k.lower() in live}
    return stamped(table, stamp)


def chunk_events(chunk: bytes, stamp: dict[str, Any]) -> list[bytes]:
    """The per-event path: each line parsed as the ``json_lines`` codec does, stamped, and
    encoded as one JSON value per event (what a non-chunk record holds)."""
    out: list[bytes] = []
    for raw in chunk.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line.strip():
            continue
        for event in parse_event(line):
            for key, value in stamp.items():
                event.setdefault(key, value)
            out.append(orjson.dumps(event))
    return out


def table_events(table: pa.Table, stamp: dict[str, Any]) -> list[bytes]:
    """The per-event path of a table: each row (null cells left out) stamped and encoded as
    one JSON value."""
    out: list[bytes] = []
    for row in table.to_pylist():
        event = {k: v for k, v in row.items() if v is not None}
        for key, value in stamp.items():
            event.setdefault(key, value)
        out.append(orjson.dumps(event))
    return out


def ipc_value(table: pa.Table) -> pa.Array:
    """``table`` in the Arrow IPC stream format as a one-value ``binary`` column (one bus
    record value) sharing the written buffer: the bus stores it without a copy into Python
    bytes first. The stream is measured first and written once into a buffer of its size."""
    mock = pa.MockOutputStream()
    with pa.ipc.new_stream(mock, table.schema) as writer:
        writer.write_table(table)
    out = pa.allocate_buffer(mock.size())
    with pa.ipc.new_stream(pa.FixedSizeBufferWriter(out), table.schema) as writer:
        writer.write_table(table)
    offsets = pa.array([0, out.size], pa.int32()).buffers()[1]
    value: pa.Array = pa.Array.from_buffers(pa.binary(), 1, [None, offsets, out])
    return value


def from_ipc(value: bytes) -> pa.Table:
    """The table of a value written by :func:`ipc_value` (sharing ``value``'s memory)."""
    return pa.ipc.open_stream(pa.py_buffer(value)).read_all()


def decode_batch(
    values: list[bytes], headers: list[Headers] | None
) -> tuple[pa.Table, list[bytes], list[tuple[int, str]]]:
    """A batch of input-topic values as one table: JSON values through
    :func:`~sluice.pipeline.run.events.decode_events`, Arrow values (marked by
    :data:`ARROW_HEADER` in ``headers``) as they are. When the parts do not concatenate (a
    field with two kinds of value), the Arrow parts become JSON values and the batch takes
    the per-event path. Returns the table, the values ``bad`` indexes, and ``bad``."""
    arrow = [any(name == ARROW_HEADER for name, _ in h) for h in headers] if headers else []
    if not any(arrow):
        table, _kept, bad = decode_events(values)
        return table, values, bad
    parts: list[pa.Table] = []
    clean = True
    for i, value in enumerate(values):
        if arrow[i]:
            parts.append(from_ipc(value))
        elif i == 0 or arrow[i - 1]:  # a run of JSON values starts here
            end = arrow.index(True, i) if True in arrow[i:] else len(values)
            table, _kept, bad = decode_events(values[i:end])
            clean = clean and not bad
            parts.append(table)
    if clean:
        try:
            return pa.concat_tables(parts, promote_options="permissive"), values, []
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    flat: list[bytes] = []
    for value, is_arrow in zip(values, arrow, strict=True):
        if not is_arrow:
            flat.append(value)
        else:
            flat.extend(orjson.dumps(row) for row in rows_of(from_ipc(value)))
    table, _kept, bad = decode_events(flat)
    return table, flat, bad


def rows_of(table: pa.Table) -> list[Any]:
    """Rows as JSON-ready objects (through the same encoder outputs use)."""
    if table.num_rows == 0:
        return []
    hidden = [c for c in table.column_names if c.startswith("__sluice")]
    data = encode_jsonl(table.drop_columns(hidden), drop=()).split(b"\n")[:-1]
    return [orjson.loads(line) for line in data]
