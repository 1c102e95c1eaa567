"""The ``json`` and ``json_lines`` codecs.

``json_lines`` decodes one JSON object per line (an empty line is skipped; a line that is
not a JSON object becomes ``{"message": line, "tags": ["_jsonparsefailure"]}`` as in
Logstash) and encodes one compact JSON object per event plus ``\\n``
(:func:`sluice.pipeline.jsonl.encode_jsonl`, column-at-a-time). ``json`` decodes each chunk
as one JSON document (an array gives one event per item) and encodes events back to back
without a separator, as Logstash's json codec does.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from sluice.pipeline.jsonl import encode_jsonl, encode_jsonl_buffer
from sluice.plugins.codecs.base import (
    Codec,
    Decoder,
    Event,
    LineSplitter,
    output_view,
    reject_settings,
)

__all__ = ["JsonCodec", "JsonLinesCodec", "parse_event"]

FAILURE = "_jsonparsefailure"


def parse_event(raw: bytes) -> list[Event]:
    """One JSON text as events: an object is one, an array of objects many; anything else
    (or invalid JSON) is a ``message`` tagged ``_jsonparsefailure``."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return [{"message": raw.decode("utf-8", "replace"), "tags": [FAILURE]}]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return list(value)
    return [{"message": raw.decode("utf-8", "replace"), "tags": [FAILURE]}]


class _LinesDecoder(Decoder):
    def __init__(self, delimiter: bytes) -> None:
        self._split = LineSplitter(delimiter)

    def _events(self, lines: list[bytes]) -> list[Event]:
        out: list[Event] = []
        for line in lines:
            if line.strip():
                out.extend(parse_event(line))
        return out

    def feed(self, data: bytes) -> list[Event]:
        return self._events(self._split.feed(data))

    def flush(self) -> list[Event]:
        return self._events(self._split.flush())


class _DocDecoder(Decoder):
    def feed(self, data: bytes) -> list[Event]:
        return parse_event(data) if data.strip() else []


class JsonLinesCodec(Codec):
    """``codec => json_lines { delimiter => "\\n" }``."""

    name = "json_lines"

    def __init__(self, settings: dict[str, Any]) -> None:
        reject_settings(self.name, settings, {"delimiter", "charset", "target"})
        self.delimiter = str(settings.get("delimiter", "\n")).encode()

    def decoder(self) -> Decoder:
        return _LinesDecoder(self.delimiter)

    def encode(self, table: pa.Table) -> bytes:
        data = encode_jsonl(output_view(table))
        return data if self.delimiter == b"\n" else data.replace(b"\n", self.delimiter)

    def encode_buffer(self, table: pa.Table) -> bytes | pa.Buffer:
        if self.delimiter != b"\n":
            return self.encode(table)
        return encode_jsonl_buffer(output_view(table))


class JsonCodec(Codec):
    """``codec => json``."""

    name = "json"

    def __init__(self, settings: dict[str, Any]) -> None:
        reject_settings(self.name, settings, {"charset", "target"})

    def decoder(self) -> Decoder:
        return _DocDecoder()

    def encode(self, table: pa.Table) -> bytes:
        return encode_jsonl(output_view(table)).replace(b"}\n", b"}")
