"""Codecs of the Logstash-compatible pipelines: plain, line, json, json_lines, rubydebug.

:func:`make_codec` builds one from a plugin's ``codec`` setting (or a default name).
Who calls it: inputs (``decoder()`` per stream) and outputs (``encode(table)``).
"""

from __future__ import annotations

from typing import Any

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.settings.common import CodecSpec
from sluice.plugins.codecs.base import Codec, Decoder, output_view
from sluice.plugins.codecs.json_codecs import JsonCodec, JsonLinesCodec, parse_event
from sluice.plugins.codecs.line import LineCodec, PlainCodec
from sluice.plugins.codecs.rubydebug import RubydebugCodec

__all__ = ["CODECS", "Codec", "Decoder", "make_codec", "output_view", "parse_event"]

CODECS: dict[str, type[Any]] = {
    "plain": PlainCodec,
    "line": LineCodec,
    "json": JsonCodec,
    "json_lines": JsonLinesCodec,
    "rubydebug": RubydebugCodec,
}


def make_codec(spec: CodecSpec | None, default: str) -> Codec:
    """The codec named by ``spec`` (or ``default``).

    Raises:
        ConfigError: unknown codec or unknown codec setting.
    """
    name = spec.name if spec is not None else default
    settings = dict(spec.settings) if spec is not None else {}
    cls = CODECS.get(name)
    if cls is None:
        raise ConfigError(f"unknown codec {name!r}", expected=sorted(CODECS))
    codec: Codec = cls(settings)
    return codec
