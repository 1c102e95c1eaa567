"""The ``dissect`` filter kernel: split text at literal delimiters, a batch at a time.

Who calls it: the filter executor and the plugin runtime. Build :class:`Dissect` once
from :class:`DissectSettings` (patterns are parsed then; bad ones raise
:class:`ConfigError`), call :meth:`Dissect.apply` per batch.

Semantics (the Logstash dissect filter):

- ``mapping`` maps a source field to a pattern of ``%{...}`` keys and the literal
  delimiters between them. Text before the first key must be a prefix of the value. Each
  key's value runs to the *first* occurrence of the next delimiter; the last key takes
  the rest (text after a trailing delimiter is ignored). No regexes are involved: the
  kernel cuts every row with ``split_pattern`` (first occurrence), like dissect does.
- ``%{key}`` sets a field (``[a][b]`` nests); ``%{}`` and ``%{?key}`` skip;
  ``%{+key}`` appends to ``key`` with ``append_separator`` (``%{+key/2}`` orders the
  pieces); ``%{&k}`` sets the field *named by* the value of ``%{?k}`` (or ``%{*k}``);
  ``%{key->}`` skips repeats of the delimiter that follows.
- Values are strings (empty strings included); ``convert_datatype`` converts to int/float
  with Ruby ``to_i``/``to_f`` rules.
- A row whose value does not fit (a delimiter missing, a prefix differs, the field is
  absent) gets no fields from that mapping and ``tag_on_failure`` (``_dissectfailure``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.batch import string_view, to_float, to_int
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.fields import FieldPath, add_tags, parse_ref, set_where
from sluice.pipeline.settings.filters import DissectSettings

__all__ = ["Dissect", "DissectPattern", "apply", "parse_dissect"]

_KEY = re.compile(r"%\{([^}]*)\}")
_SPEC = re.compile(r"^(?P<mod>[?+*&]?)(?P<name>.*?)(?:/(?P<order>\d+))?(?P<pad>->)?$")


@dataclass(frozen=True, slots=True)
class _Key:
    name: str  # "" for %{}
    modifier: str  # "", "?", "+", "*", "&"
    order: int
    pad: bool
    delimiter: str  # the literal that follows ("" for the last key)


@dataclass(frozen=True, slots=True)
class DissectPattern:
    """A parsed dissect pattern: leading literal text, then keys with their delimiters."""

    source: str
    prefix: str
    keys: tuple[_Key, ...]


def parse_dissect(pattern: str) -> DissectPattern:
    """Parse one dissect pattern. Raises :class:`ConfigError` for adjacent keys without a
    delimiter, a ``*``/``&`` key without its partner, or a pattern with no key."""
    pieces = _KEY.split(pattern)  # literal, key, literal, key, ..., literal
    prefix, rest = pieces[0], pieces[1:]
    if not rest:
        raise ConfigError(f"dissect pattern {pattern!r} has no %{{...}} key")
    keys: list[_Key] = []
    for i in range(0, len(rest), 2):
        spec, delimiter = rest[i], rest[i + 1]
        m = _SPEC.match(spec)
        assert m is not None
        if not delimiter and i + 2 < len(rest):
            raise ConfigError(
                f"dissect pattern {pattern!r}: keys %{{{spec}}} and %{{{rest[i + 2]}}} need a "
                "delimiter between them"
            )
        order = int(m.group("order")) if m.group("order") else 0
        keys.append(_Key(m.group("name"), m.group("mod"), order, bool(m.group("pad")), delimiter))
    vals = {k.name for k in keys if k.modifier == "&"}
    # The name of an indirect field comes from %{*name}, or from the skip field %{?name}.
    keys = [
        _Key(k.name, "*", k.order, k.pad, k.delimiter)
        if k.modifier == "?" and k.name in vals
        else k
        for k in keys
    ]
    refs = {k.name for k in keys if k.modifier == "*"}
    if refs != vals:
        raise ConfigError(
            f"dissect pattern {pattern!r}: every %{{&name}} needs a %{{*name}} or %{{?name}}, "
            "and every %{*name} a %{&name}"
        )
    return DissectPattern(pattern, prefix, tuple(keys))


class Dissect:
    """A compiled dissect filter. ``apply(table) -> (table, failed_mask)``."""

    def __init__(self, settings: DissectSettings) -> None:
        self.settings = settings
        if not settings.mapping:
            raise ConfigError("dissect needs a 'mapping' setting", expected=["mapping"])
        self.mappings = [(parse_ref(f), parse_dissect(str(p))) for f, p in settings.mapping.items()]
        self.convert = {parse_ref(f): kind for f, kind in settings.convert_datatype.items()}

    def apply(self, table: pa.Table) -> tuple[pa.Table, pa.Array]:
        """Dissect every row; return the new table and a mask of rows that did not fit."""
        n = table.num_rows
        failed = pa.nulls(n, pa.bool_()).fill_null(False)
        for path, pattern in self.mappings:
            strings = string_view(table, path)
            if strings is None:
                strings = pa.nulls(n, pa.string())
            ok, values = self._cut(strings, pattern)
            failed = pc.or_(failed, pc.invert(ok))
            for field, value in values:
                table = self._set(table, field, value, ok)
        if self.settings.tag_on_failure:
            table = add_tags(table, self.settings.tag_on_failure, failed)
        return table, failed

    def _cut(
        self, strings: pa.Array, pattern: DissectPattern
    ) -> tuple[pa.Array, list[tuple[FieldPath | pa.Array, pa.Array]]]:
        n = len(strings)
        nulls = pa.nulls(n, pa.string())
        ok = strings.is_valid()
        tail = strings
        if pattern.prefix:
            ok = pc.and_(ok, pc.starts_with(tail, pattern.prefix).fill_null(False))
            tail = pc.utf8_slice_codeunits(tail, len(pattern.prefix))
        raw: list[tuple[_Key, pa.Array]] = []
        for key in pattern.keys:
            if not key.delimiter:  # the last key takes the rest
                raw.append((key, tail))
                break
            tail = pc.if_else(pc.and_(ok, pc.match_substring(tail, key.delimiter)), tail, nulls)
            parts = pc.split_pattern(tail, key.delimiter, max_splits=1)
            head, tail = pc.list_element(parts, 0), pc.list_element(parts, 1)
            ok = pc.and_(ok, head.is_valid()).fill_null(False)
            if key.pad:
                tail = pc.replace_substring_regex(tail, f"^(?:{re.escape(key.delimiter)})+", "")
            raw.append((key, head))
        return ok, self._assemble(raw, n)

    def _assemble(
        self, raw: list[tuple[_Key, pa.Array]], n: int
    ) -> list[tuple[FieldPath | pa.Array, pa.Array]]:
        out: list[tuple[FieldPath | pa.Array, pa.Array]] = []
        appends: dict[str, list[tuple[int, int, pa.Array]]] = {}
        refs: dict[str, pa.Array] = {}
        vals: dict[str, pa.Array] = {}
        for pos, (key, value) in enumerate(raw):
            if key.modifier == "?" or (not key.name and key.modifier != "+"):
                continue
            if key.modifier == "*":
                refs[key.name] = value
            elif key.modifier == "&":
                vals[key.name] = value
            elif key.modifier == "+" or key.name in appends:
                appends.setdefault(key.name, []).append((key.order, pos, value))
            elif any(k.modifier == "+" and k.name == key.name for k, _ in raw):
                appends.setdefault(key.name, []).append((0, pos, value))
            else:
                out.append((parse_ref(key.name), value))
        sep = self.settings.append_separator
        for name, pieces in appends.items():
            ordered = [v for _, _, v in sorted(pieces, key=lambda p: (p[0], p[1]))]
            joined = ordered[0] if len(ordered) == 1 else pc.binary_join_element_wise(*ordered, sep)
            out.append((parse_ref(name), joined))
        for name, keys in refs.items():
            out.append((keys, vals[name]))
        return out

    def _set(
        self, table: pa.Table, field: FieldPath | pa.Array, value: pa.Array, ok: pa.Array
    ) -> pa.Table:
        if isinstance(field, tuple):
            return set_where(table, field, self._typed(field, value), ok)
        names = pc.unique(pc.filter(field, ok)).drop_null().to_pylist()
        for name in names:
            if not name:
                continue
            path = (name,)
            mask = pc.and_(ok, pc.equal(field, name).fill_null(False))
            table = set_where(table, path, self._typed(path, value), mask)
        return table

    def _typed(self, path: FieldPath, value: pa.Array) -> pa.Array:
        kind = self.convert.get(path)
        if kind == "int":
            return to_int(value)
        if kind == "float":
            return to_float(value)
        return value


def apply(table: pa.Table, settings: DissectSettings) -> tuple[pa.Table, pa.Array]:
    """Build a :class:`Dissect` from ``settings`` and run it on ``table`` (one-off use; keep a
    :class:`Dissect` to run many batches without compiling again)."""
    return Dissect(settings).apply(table)
