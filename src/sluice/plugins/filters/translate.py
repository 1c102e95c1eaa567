"""The ``translate`` filter: look a field's value up in a dictionary.

Logstash reference behaviour: ``source`` (a string, number or boolean; read as text) is
looked up in ``dictionary`` (or ``dictionary_path``: YAML, JSON or CSV of ``key,value``);
a hit is written to ``target`` (default ``translation``); with no hit, ``fallback`` is
written when set. An existing ``target`` is kept unless ``override``. ``exact => true``
(default) matches whole values; with ``regex => true`` the keys are regexes (RE2) that
must match the whole value; ``exact => false`` replaces every occurrence of each key inside
the value. Only translated (or fallback) events are "matched". ``iterate_on`` and
``refresh_interval`` reloading are not supported (a config error names them).

How it runs: exact lookups are one ``index_in`` + ``take`` over the column; regex keys
are tried in order with one RE2 match per key over the remaining rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.batch import string_view
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import get, parse_ref, set_where
from sluice.pipeline.settings.common import PluginSettings
from sluice.plugins.filters._util import all_true, as_mask

__all__ = ["load_dictionary", "translate_kernel"]


def _yaml(text: str, path: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]  # PyYAML: optional, only for .yml files
    except ImportError:
        raise ConfigError(f"translate dictionary_path {path}: reading YAML needs PyYAML") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def load_dictionary(path: str) -> dict[str, str]:
    """Read a YAML, JSON or CSV dictionary file.

    Raises:
        ConfigError: the file cannot be read or is not a flat mapping.
    """
    file = Path(path)
    try:
        text = file.read_text("utf-8")
        if file.suffix.lower() == ".csv":
            data: Any = {row[0]: row[1] for row in csv.reader(text.splitlines()) if len(row) >= 2}
        elif file.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = _yaml(text, path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"translate cannot read dictionary_path {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"translate dictionary_path {path} does not hold a mapping")
    return {str(k): str(v) for k, v in data.items()}


def translate_kernel(settings: PluginSettings) -> Kernel:
    """Build the translate kernel; the failed mask marks rows left untranslated."""
    cfg: Any = settings
    if cfg.iterate_on:
        raise ConfigError("translate iterate_on is not supported")
    source, target = parse_ref(cfg.source), parse_ref(cfg.target)
    mapping = {str(k): str(v) for k, v in cfg.dictionary.items()}
    if cfg.dictionary_path:
        mapping = {**load_dictionary(cfg.dictionary_path), **mapping}
    keys = pa.array(list(mapping), pa.string())
    values = pa.array(list(mapping.values()), pa.string())
    for key in mapping if cfg.regex else []:
        try:
            pc.match_substring_regex(pa.array([""]), f"^(?:{key})$")
        except pa.ArrowInvalid as exc:
            raise ConfigError(f"translate regex key {key!r} is invalid for RE2: {exc}") from None
    fallback = cfg.fallback
    override = bool(cfg.override)

    def lookup(strings: pa.Array) -> pa.Array:
        if cfg.exact and not cfg.regex:
            return pc.take(values, pc.index_in(strings, value_set=keys))
        if cfg.exact:
            out = pa.nulls(len(strings), pa.string())
            for key, value in mapping.items():
                hit = pc.and_(
                    as_mask(pc.match_substring_regex(strings, f"^(?:{key})$")), out.is_null()
                )
                out = pc.if_else(hit, value, out)
            return out
        out = strings
        changed = pa.nulls(len(strings), pa.bool_()).fill_null(False)
        for key, value in mapping.items():
            if cfg.regex:
                hit = as_mask(pc.match_substring_regex(out, key))
                out = pc.replace_substring_regex(out, pattern=key, replacement=value)
            else:
                hit = as_mask(pc.match_substring(out, key))
                out = pc.replace_substring(out, key, value)
            changed = pc.or_(changed, hit)
        return pc.if_else(changed, out, pa.nulls(len(out), pa.string()))

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        n = table.num_rows
        arr = get(table, source)
        strings = string_view(table, source) if arr is not None else None
        if strings is None:
            return table, all_true(n)
        result = lookup(strings)
        if fallback is not None:
            result = pc.if_else(
                pc.and_(as_mask(strings.is_valid()), result.is_null()), fallback, result
            )
        ok = as_mask(result.is_valid())
        if not override:
            old = get(table, target)
            if old is not None:
                ok = pc.and_(ok, pc.invert(old.is_valid()))
        return set_where(table, target, result, ok), pc.invert(ok)

    return kernel
