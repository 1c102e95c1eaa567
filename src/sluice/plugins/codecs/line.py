"""The ``line`` and ``plain`` codecs.

``line`` decodes each ``delimiter``-terminated line (default ``\\n``) into an event with that
line as ``message``; it encodes each event as ``format`` (sprintf; default
``%{@timestamp} %{host} %{message}``, Logstash's ``Event#to_s``) plus the delimiter.
``plain`` decodes each chunk of bytes as one ``message`` and encodes like ``line`` without
a delimiter. ``charset`` must be UTF-8 (invalid bytes become U+FFFD).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs.base import (
    Codec,
    Decoder,
    Event,
    LineSplitter,
    output_view,
    reject_settings,
)

__all__ = ["LineCodec", "PlainCodec"]

DEFAULT_FORMAT = "%{@timestamp} %{host} %{message}"


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return text[:-1] if text.endswith("\r") else text


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


def _render(table: pa.Table, fmt: str) -> list[str]:
    view = output_view(table)
    rendered = compile_sprintf(fmt).render(view)
    return [v if v is not None else "" for v in rendered.to_pylist()]


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
        return "".join(s + self.delimiter for s in _render(table, self.format)).encode()


class PlainCodec(Codec):
    """``codec => plain { format => "..." }``."""

    name = "plain"

    def __init__(self, settings: dict[str, Any]) -> None:
        reject_settings(self.name, settings, {"format", "charset"})
        self.format = str(settings.get("format", DEFAULT_FORMAT))

    def decoder(self) -> Decoder:
        return _ChunkDecoder()

    def encode(self, table: pa.Table) -> bytes:
        return "".join(_render(table, self.format)).encode()
