"""Fully typed settings of the filters whose batch kernels live in this package:
``grok``, ``dissect`` and ``kv`` (names and defaults as in the Logstash reference)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sluice.pipeline.settings.common import CommonFilterSettings, ListMap, StrList, StrMap

__all__ = ["DissectSettings", "GrokSettings", "KvSettings"]


class GrokSettings(CommonFilterSettings):
    """``grok``: parse text fields with named regex patterns (compiled to RE2)."""

    match: ListMap = Field(
        default_factory=dict,
        description="Field name -> one or more grok patterns, tried in order.",
    )
    break_on_match: bool = Field(
        default=True, description="Stop at the first pattern (and field) that matches."
    )
    keep_empty_captures: bool = Field(default=False, description='Keep empty captures as "".')
    named_captures_only: bool = Field(
        default=True, description="Capture only %{PATTERN:name}; else also %{PATTERN} as PATTERN."
    )
    overwrite: StrList = Field(
        default_factory=list, description="Fields a capture replaces instead of appending to."
    )
    pattern_definitions: StrMap = Field(
        default_factory=dict, description="Extra patterns, name -> regex, for this filter."
    )
    patterns_dir: StrList = Field(
        default_factory=list, description="Directories of extra pattern files."
    )
    patterns_files_glob: str = Field(default="*", description="Glob of files in patterns_dir.")
    tag_on_failure: StrList = Field(
        default_factory=lambda: ["_grokparsefailure"],
        description="Tags added when no pattern matches.",
    )
    tag_on_timeout: str = Field(
        default="_groktimeout", description="Accepted for compatibility; RE2 never times out."
    )
    target: str | None = Field(default=None, description="Put captures under this field.")
    timeout_millis: int = Field(
        default=30000, ge=0, description="Accepted for compatibility; RE2 runs in linear time."
    )
    timeout_scope: Literal["pattern", "event"] = Field(
        default="pattern", description="Accepted for compatibility."
    )
    ecs_compatibility: Literal["disabled"] = Field(
        default="disabled", description="Only the legacy (non-ECS) pattern set is shipped."
    )

    @field_validator("match")
    @classmethod
    def _patterns_present(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for field, patterns in value.items():
            if not patterns:
                raise ValueError(f"match for field {field!r} has no pattern")
        return value


class DissectSettings(CommonFilterSettings):
    """``dissect``: split text by delimiters, without regexes."""

    mapping: StrMap = Field(
        default_factory=dict, description="Field name -> dissect pattern, e.g. '%{a} %{b}'."
    )
    convert_datatype: StrMap = Field(
        default_factory=dict, description="Field name -> 'int' or 'float'."
    )
    tag_on_failure: StrList = Field(
        default_factory=lambda: ["_dissectfailure"],
        description="Tags added when a mapping does not fit.",
    )
    append_separator: str = Field(
        default=" ", description="Put between the values of %{+field} appends."
    )

    @field_validator("convert_datatype")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        for field, kind in value.items():
            if kind not in ("int", "float"):
                raise ValueError(f"convert_datatype for {field!r} must be 'int' or 'float'")
        return value


class KvSettings(CommonFilterSettings):
    """``kv``: parse ``key=value`` pairs."""

    source: str = Field(default="message", description="The field to parse.")
    target: str | None = Field(default=None, description="Put the pairs under this field.")
    field_split: str = Field(default=" ", description="Characters that separate pairs.")
    field_split_pattern: str | None = Field(
        default=None, description="A regex that separates pairs (overrides field_split)."
    )
    value_split: str = Field(default="=", description="Characters between key and value.")
    value_split_pattern: str | None = Field(
        default=None, description="A regex between key and value (overrides value_split)."
    )
    include_keys: StrList = Field(default_factory=list, description="Keep only these keys.")
    exclude_keys: StrList = Field(default_factory=list, description="Drop these keys.")
    prefix: str = Field(default="", description="Prepend this to every key.")
    trim_key: str = Field(default="", description="Characters stripped from both ends of keys.")
    trim_value: str = Field(default="", description="Characters stripped from both ends of values.")
    remove_char_key: str = Field(default="", description="Characters removed anywhere in keys.")
    remove_char_value: str = Field(default="", description="Characters removed anywhere in values.")
    include_brackets: bool = Field(
        default=True, description="Values wrapped in (), [] or <> are taken whole, unwrapped."
    )
    allow_duplicate_values: bool = Field(
        default=True, description="Keep repeated identical key/value pairs (as an array)."
    )
    allow_empty_values: bool = Field(default=False, description="Keep keys whose value is empty.")
    default_keys: StrMap = Field(
        default_factory=dict, description="Keys added with these values when absent."
    )
    transform_key: Literal["", "lowercase", "uppercase", "capitalize"] = Field(
        default="", description="Change the case of keys."
    )
    transform_value: Literal["", "lowercase", "uppercase", "capitalize"] = Field(
        default="", description="Change the case of values."
    )
    recursive: bool = Field(default=False, description="Not supported; must stay false.")
    whitespace: Literal["lenient", "strict"] = Field(
        default="lenient", description="lenient: spaces around value_split are ignored."
    )
    tag_on_failure: StrList = Field(
        default_factory=lambda: ["_kv_filter_error"], description="Tags added on a parse error."
    )
    tag_on_timeout: str = Field(default="_kv_filter_timeout", description="Accepted; unused.")
    timeout_millis: int = Field(default=30000, ge=0, description="Accepted; RE2 is linear.")
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field(
        default="disabled", description="Accepted; kv output does not depend on it."
    )

    @field_validator("recursive")
    @classmethod
    def _not_recursive(cls, value: bool) -> bool:
        if value:
            raise ValueError("recursive kv parsing is not supported")
        return value
