"""The ``rubydebug`` codec (output only): each event printed like Ruby's awesome_print, keys
sorted and aligned on ``=>``, as ``stdout { codec => rubydebug }`` shows it."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs.base import Codec, Decoder, output_view, reject_settings

__all__ = ["RubydebugCodec"]


def _value(value: Any, indent: int) -> str:
    if isinstance(value, dict):
        return _hash(value, indent)
    if isinstance(value, list):
        if not value:
            return "[]"
        pad = " " * (indent + 4)
        items = [f"{pad}[{i}] {_value(v, indent + 4)}" for i, v in enumerate(value)]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hash(event: dict[str, Any], indent: int = 0) -> str:
    items = {k: v for k, v in sorted(event.items()) if v is not None}
    if not items:
        return "{}"
    width = max(len(orjson.dumps(k).decode()) for k in items)
    pad = " " * (indent + 4)
    lines = []
    for key, value in items.items():
        quoted = orjson.dumps(key).decode()
        lines.append(f"{pad}{quoted.rjust(width)} => {_value(value, indent + 4)}")
    return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"


class RubydebugCodec(Codec):
    """``codec => rubydebug`` (``metadata => true`` prints ``@metadata`` too)."""

    name = "rubydebug"

    def __init__(self, settings: dict[str, Any]) -> None:
        reject_settings(self.name, settings, {"metadata"})
        self.metadata = str(settings.get("metadata", "false")).lower() == "true"

    def decoder(self) -> Decoder:
        raise ConfigError("codec rubydebug only encodes (use it on outputs)")

    def encode(self, table: pa.Table) -> bytes:
        meta = (
            table.column("@metadata").to_pylist()
            if self.metadata and "@metadata" in (table.column_names)
            else None
        )
        rows = output_view(table).to_pylist()
        out = []
        for i, row in enumerate(rows):
            if meta is not None and meta[i] is not None:
                row["@metadata"] = meta[i]
            out.append(_hash(row) + "\n")
        return "".join(out).encode()
