"""The codec protocol: bytes <-> events for inputs and outputs.

A :class:`Codec` is built from a ``codec => name { ... }`` spec (inert); an input asks it for
a :class:`Decoder` per stream (a TCP connection, a file) and feeds it bytes; an output asks it
to :meth:`Codec.encode` a whole Arrow table of events. Events coming out of a decoder are
plain dicts (the input adds ``@timestamp`` and its own fields, then writes them to the bus as
JSON). :func:`output_view` is what every codec encodes: ``@metadata`` dropped and timestamp
columns written the way Logstash prints them (``2013-08-26T17:47:19.000Z``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.errors import ConfigError

__all__ = ["Codec", "Decoder", "LineSplitter", "output_view", "reject_settings"]

Event = dict[str, Any]


class Decoder(ABC):
    """Stateful decoder of one byte stream."""

    @abstractmethod
    def feed(self, data: bytes) -> list[Event]:
        """Decode what ``data`` completes; keep a partial tail for the next call."""

    def flush(self) -> list[Event]:
        """Decode what is left at the end of the stream."""
        return []


class Codec(ABC):
    """One codec: :meth:`decoder` for inputs, :meth:`encode` for outputs."""

    name = ""

    @abstractmethod
    def decoder(self) -> Decoder:
        """A fresh decoder for one stream."""

    @abstractmethod
    def encode(self, table: pa.Table) -> bytes:
        """All rows of ``table`` as bytes, in order."""

    def encode_buffer(self, table: pa.Table) -> bytes | pa.Buffer:
        """What :meth:`encode` returns, as bytes or an Arrow buffer (outputs that write to
        files take a buffer without copying it into Python bytes)."""
        return self.encode(table)


class LineSplitter:
    """Splits a byte stream at ``delimiter``, keeping the unfinished tail."""

    def __init__(self, delimiter: bytes = b"\n") -> None:
        self.delimiter = delimiter
        self.tail = b""

    def feed(self, data: bytes) -> list[bytes]:
        buf = self.tail + data
        parts = buf.split(self.delimiter)
        self.tail = parts.pop()
        return parts

    def flush(self) -> list[bytes]:
        rest, self.tail = self.tail, b""
        return [rest] if rest else []


def _logstash_time(arr: pa.Array) -> pa.Array:
    ts = arr.cast(pa.timestamp("ms", tz="UTC")) if arr.type.tz else arr.cast(pa.timestamp("ms"))
    return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ")


def output_view(table: pa.Table) -> pa.Table:
    """The table as outputs see it: no ``@metadata`` or hidden columns, times as text."""
    drop = [c for c in table.column_names if c == "@metadata" or c.startswith("__sluice")]
    if drop:
        table = table.drop_columns(drop)
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            col = table.column(i).combine_chunks()
            table = table.set_column(i, f.name, _logstash_time(col))
    return table


def reject_settings(name: str, settings: dict[str, Any], known: set[str]) -> None:
    """Raise :class:`ConfigError` for codec settings this codec does not know."""
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            f"codec {name} has no setting {unknown[0]!r}", expected=sorted(known) or ["(none)"]
        )
