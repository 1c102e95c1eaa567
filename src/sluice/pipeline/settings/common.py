"""Base settings models and the coercions Logstash applies to setting values.

Logstash is lenient about shapes: a list setting takes a single value (``tags => "a"``),
a hash setting takes a flat array of pairs (``match => ["message", "%{WORD:w}"]``), a
boolean takes ``"true"``. The annotated types here accept those shapes and normalise them,
so every plugin model sees one canonical form.

Who calls it: the plugin models in this package; the compiler validates each plugin's
settings through them (:func:`sluice.pipeline.compiler.compile_pipeline`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "CodecSpec",
    "CommonFilterSettings",
    "CommonInputSettings",
    "CommonOutputSettings",
    "ListMap",
    "PluginSettings",
    "StrList",
    "StrMap",
]


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _to_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_scalar_text(v) for v in value]
    return [_scalar_text(value)]


def _pairs(value: Any) -> Any:
    if isinstance(value, list | tuple):
        if len(value) % 2:
            raise ValueError("a hash given as an array needs an even number of items")
        out: dict[Any, Any] = {}
        for k, v in zip(value[::2], value[1::2], strict=True):
            if k in out:
                existing = out[k] if isinstance(out[k], list) else [out[k]]
                out[k] = [*existing, *(v if isinstance(v, list) else [v])]
            else:
                out[k] = v
        return out
    return value


def _to_str_map(value: Any) -> Any:
    value = _pairs(value)
    if isinstance(value, dict):
        return {str(_scalar_text(k)): _scalar_text(v) for k, v in value.items()}
    return value


def _to_list_map(value: Any) -> Any:
    value = _pairs(value)
    if isinstance(value, dict):
        return {str(_scalar_text(k)): _to_list(v) for k, v in value.items()}
    return value


StrList = Annotated[list[str], BeforeValidator(_to_list)]
"""A list of strings; a single value becomes a one-item list, numbers become text."""

StrMap = Annotated[dict[str, Any], BeforeValidator(_to_str_map)]
"""A hash with string keys; a flat ``[k1, v1, k2, v2]`` array is accepted."""

ListMap = Annotated[dict[str, list[str]], BeforeValidator(_to_list_map)]
"""A hash of string lists (grok ``match``); single values become one-item lists."""


class PluginSettings(BaseModel):
    """Base of every plugin settings model: unknown settings are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CodecSpec(PluginSettings):
    """A codec: ``codec => json`` or ``codec => json_lines { charset => "UTF-8" }``."""

    name: str = Field(description="Codec name, e.g. json, json_lines, line, plain.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="The codec's own settings, as written."
    )


def _to_codec(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    return value


Codec = Annotated[CodecSpec, BeforeValidator(_to_codec)]


class CommonFilterSettings(PluginSettings):
    """Options every Logstash filter accepts; applied only when the filter succeeds."""

    id: str | None = Field(default=None, description="A unique id for metrics and logs.")
    enable_metric: bool = Field(default=True, description="Collect metrics for this filter.")
    add_field: StrMap = Field(
        default_factory=dict,
        description="Fields to add on success; names and values may use %{field} sprintf.",
    )
    add_tag: StrList = Field(
        default_factory=list, description="Tags to add on success (sprintf allowed)."
    )
    remove_field: StrList = Field(
        default_factory=list, description="Fields to remove on success (sprintf allowed)."
    )
    remove_tag: StrList = Field(
        default_factory=list, description="Tags to remove on success (sprintf allowed)."
    )
    periodic_flush: bool = Field(default=False, description="Call the filter's flush method.")


class CommonInputSettings(PluginSettings):
    """Options every Logstash input accepts."""

    id: str | None = Field(default=None, description="A unique id for metrics and logs.")
    enable_metric: bool = Field(default=True, description="Collect metrics for this input.")
    codec: Codec | None = Field(default=None, description="How to decode the input's bytes.")
    type: str | None = Field(default=None, description="Value of the `type` field to set.")
    tags: StrList = Field(default_factory=list, description="Tags added to every event.")
    add_field: StrMap = Field(default_factory=dict, description="Fields added to every event.")


class CommonOutputSettings(PluginSettings):
    """Options every Logstash output accepts."""

    id: str | None = Field(default=None, description="A unique id for metrics and logs.")
    enable_metric: bool = Field(default=True, description="Collect metrics for this output.")
    codec: Codec | None = Field(default=None, description="How to encode events to bytes.")
