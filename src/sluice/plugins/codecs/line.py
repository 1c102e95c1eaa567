"""The ``line`` and ``plain`` codecs.

``line`` decodes each ``delimiter``-terminated line (default ``\\n``) into an event with that
line as ``message``; it encodes each event as ``format`` (sprintf; default
``%{@timestamp} %{host} %{message}``, Logstash's ``Event#to_s``) plus the delimiter.
``plain`` decodes each chunk of bytes as one ``message`` and encodes like ``line`` without
a delimiter. ``charset`` must be UTF-8 (invalid bytes become U+FFFD).

Both work on whole batches: :func:`split_lines` turns a block of bytes into one Arrow
string column (no Python object per line) for inputs, and :meth:`LineCodec.encode` joins
the rendered column with the delimiter in one kernel call.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs.base import (
    Codec,
    Decoder,
    Event,
    LineSplitter,
    output_view,
    reject_settings,
)

__all__ = ["LineCodec", "PlainCodec", "split_lines"]

DEFAULT_FORMAT = "%{@timestamp} %{host} %{message}"


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return text[:-1] if text.endswith("\r") else text


def _one_string(data: bytes) -> pa.Array:
    """``data`` as a one-row string column sharing its memory; ``ArrowInvalid`` when it is
    not UTF-8."""
    wide = len(data) >= 1 << 31
    bounds = pa.array([0, len(data)], pa.int64() if wide else pa.int32()).buffers()[1]
    column = pa.Array.from_buffers(
        pa.large_string() if wide else pa.string(), 1, [None, bounds, pa.py_buffer(data)]
    )
    if not data.isascii():
        column.validate(full=True)
    return column


def split_lines(data: bytes, delimiter: bytes = b"\n") -> pa.Array:
    """The lines of ``data`` as one Arrow string column, exactly
    ``[_text(line) for line in data.split(delimiter)]`` without the empty string after a
    final delimiter: a trailing ``\\r`` is removed and invalid UTF-8 becomes U+FFFD.

    Raises:
        ValueError: ``delimiter`` is empty.
    """
    if not delimiter:
        raise ValueError("the line delimiter must not be empty")
    if not data:
        return pa.array([], pa.string())
    try:
        column = _one_string(data)
    except pa.ArrowInvalid:
        if not delimiter.isascii():  # replacement could change where a delimiter is
            parts = data.split(delimiter)
            if parts[-1] == b"":
                parts.pop()
            return pa.array([_text(part) for part in parts], pa.string())
        column = pa.array([data.decode("utf-8", "replace")], pa.string())
    lines = pc.split_pattern(column, delimiter.decode()).flatten()
    if data.endswith(delimiter):
        lines = lines.slice(0, len(lines) - 1)
    if b"\r" in data:  # RE2's ``$`` is the end of the text only
        lines = pc.replace_substring_regex(lines, "\r$", "")
    return lines


def _join(rendered: pa.Array, delimiter: str) -> bytes:
    """``"".join(s + delimiter for s in rendered)`` (a null is ``""``) in one kernel call."""
    if len(rendered) == 0:
        return b""
    joined = pc.binary_join_element_wise(rendered.fill_null(""), delimiter, "")
    if not (pa.types.is_string(joined.type) or pa.types.is_large_string(joined.type)):
        joined = joined.cast(pa.large_string())
    width = pa.int64() if pa.types.is_large_string(joined.type) else pa.int32()
    _, offsets, data = joined.buffers()
    if data is None:
        return b""
    bounds = pa.Array.from_buffers(width, len(joined) + 1, [None, offsets], offset=joined.offset)
    start, end = bounds[0].as_py(), bounds[-1].as_py()
    return bytes(data.slice(start, end - start).to_pybytes())


class _LineDecoder(Decoder):
    def __init__(self, delimiter: bytes) -> None:
        self._split = LineSplitter(delimiter)

    def feed(self, data: bytes) -> list[Event]:
        return [{"message": _text(line)} for line in self._split.feed(data)]

    def flush(self) -> list[Event]:
        return [{"message": _text(line)} for line in self._split.flush()]


class _ChunkDecoder(Decoder):
    def feed(self, data: bytes) -> list[Event]:
        return [{"message": data.decode("utf-8", "replace")}] if data else []


def _render(table: pa.Table, fmt: str) -> pa.Array:
    rendered = compile_sprintf(fmt).render(output_view(table))
    return rendered.combine_chunks() if isinstance(rendered, pa.ChunkedArray) else rendered


class LineCodec(Codec):
    """``codec => line { format => "..." delimiter => "\\n" }``."""

    name = "line"

    def __init__(self, settings: dict[str, Any]) -> None:
        reject_settings(self.name, settings, {"format", "delimiter", "charset"})
        self.format = str(settings.get("format", DEFAULT_FORMAT))
        self.delimiter = str(settings.get("delimiter", "\n"))

    def decoder(self) -> Decoder:
        return _LineDecoder(self.delimiter.encode())

    def encode(self, table: pa.Table) -> bytes:
        return _join(_render(table, self.format), self.delimiter)


class PlainCodec(Codec):
    """``codec => plain { format => "..." }``."""

    name = "plain"

    def __init__(self, settings: dict[str, Any]) -> None:
        reject_settings(self.name, settings, {"format", "charset"})
        self.format = str(settings.get("format", DEFAULT_FORMAT))

    def decoder(self) -> Decoder:
        return _ChunkDecoder()

    def encode(self, table: pa.Table) -> bytes:
        return _join(_render(table, self.format), "")
