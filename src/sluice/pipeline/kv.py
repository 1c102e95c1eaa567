"""The ``kv`` filter kernel: parse ``key=value`` pairs, a batch at a time.

Who calls it: the filter executor and the plugin runtime. Build :class:`Kv` once from
:class:`KvSettings`, call :meth:`Kv.apply` per batch.

How it works without a per-row loop: one RE2 global replace rewrites every pair of every
row into ``\\x1ekey\\x1fvalue\\x1e``; splitting at ``\\x1e`` and keeping the pieces holding
``\\x1f`` yields one flat (row, key, value) list for the whole batch, which is trimmed,
filtered and transformed column-wise, then pivoted into one column per distinct key.

Semantics (the Logstash kv filter): pairs are separated by any ``field_split`` character
(or ``field_split_pattern``), keys from values by any ``value_split`` character (or
``value_split_pattern``; ``whitespace => lenient`` allows spaces around it). Values in
double or single quotes, and with ``include_brackets`` in ``()``, ``[]`` or ``<>``, are taken
whole and unwrapped. Keys go through ``trim_key``, ``remove_char_key``, ``transform_key``,
then ``include_keys``/``exclude_keys``, then ``prefix``; values through ``trim_value``,
``remove_char_value``, ``transform_value``. Empty values are dropped unless
``allow_empty_values``. A key seen twice in a row gives an array (the key's column
becomes a list column), identical repeats are dropped when ``allow_duplicate_values`` is
false. ``default_keys`` fill absent keys. Keys are set as top-level names (or under
``target``), overwriting existing values on the rows that have them.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import re2

from sluice.pipeline.batch import string_view
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.fields import (
    FieldPath,
    get,
    lists_from_pairs,
    parse_ref,
    row_index,
    set_where,
)
from sluice.pipeline.settings.filters import KvSettings

__all__ = ["Kv", "apply"]

_RS, _US = "\x1e", "\x1f"


def _class(chars: str) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in chars)


def _transform(arr: pa.Array, how: str) -> pa.Array:
    if how == "lowercase":
        return pc.utf8_lower(arr)
    if how == "uppercase":
        return pc.utf8_upper(arr)
    if how == "capitalize":
        return pc.utf8_capitalize(arr)
    return arr


class Kv:
    """A compiled kv filter. ``apply(table) -> (table, failed_mask)``."""

    def __init__(self, settings: KvSettings) -> None:
        self.settings = settings
        s = settings
        if s.field_split_pattern:
            fs = f"(?:{s.field_split_pattern})"
            key = r"[^\s]+?" if s.value_split_pattern else f"[^{_class(s.value_split)}]+?"
            unquoted = f"(.*?)(?:{fs}|$)"
        else:
            if not s.field_split:
                raise ConfigError("kv field_split must not be empty", expected=["field_split"])
            fs = f"[{_class(s.field_split)}]"
            vs_chars = "" if s.value_split_pattern else _class(s.value_split)
            key = f"[^{_class(s.field_split)}{vs_chars}]+"
            unquoted = rf"((?:\\.|[^{_class(s.field_split)}])*)"
        vs = (
            f"(?:{s.value_split_pattern})"
            if s.value_split_pattern
            else f"[{_class(s.value_split)}]"
        )
        if s.whitespace == "lenient":
            vs = rf"\s*{vs}\s*"
        end = f"(?:{fs}|$)"
        quoted = [r'"((?:\\.|[^"\\])*)"', r"'((?:\\.|[^'\\])*)'"]
        if s.include_brackets:
            quoted += [r"\(([^)]*)\)", r"\[([^\]]*)\]", r"<([^>]*)>"]
        alternatives = [q + end for q in quoted] + [unquoted]
        self.regex = f"({key}){vs}(?:{'|'.join(alternatives)})"
        groups = "".join(f"\\{i}" for i in range(2, len(alternatives) + 2))
        self.replacement = f"{_RS}\\1{_US}{groups}{_RS}"
        options = re2.Options()
        options.log_errors = False
        try:
            re2.compile(self.regex, options)
        except re2.error as exc:
            raise ConfigError(f"kv split patterns do not form a valid RE2 regex: {exc}") from None
        self.source = parse_ref(s.source)
        self.target: FieldPath = parse_ref(s.target) if s.target else ()

    def _pairs(self, strings: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
        """Flat (row, key, value) arrays for every pair of every row."""
        clean = pc.replace_substring_regex(strings, f"[{_RS}{_US}]", "\ufffd")
        marked = pc.replace_substring_regex(clean, self.regex, self.replacement)
        pieces = pc.split_pattern(marked, _RS)
        flat = pc.list_flatten(pieces)
        rows = pc.list_parent_indices(pieces)
        is_pair = pc.match_substring(flat, _US)
        flat, rows = pc.filter(flat, is_pair), pc.filter(rows, is_pair)
        kv = pc.split_pattern(flat, _US, max_splits=1)
        return rows, pc.list_element(kv, 0), pc.list_element(kv, 1)

    def apply(self, table: pa.Table) -> tuple[pa.Table, pa.Array]:
        """Parse every row; failures are never expected, so the mask is all false."""
        n = table.num_rows
        failed = pa.nulls(n, pa.bool_()).fill_null(False)
        strings = string_view(table, self.source)
        if strings is None or n == 0:
            return self._defaults(table, None), failed
        s = self.settings
        rows, keys, values = self._pairs(strings)
        if not s.allow_empty_values:
            keep = pc.not_equal(values, "")
            rows, keys, values = (
                pc.filter(rows, keep),
                pc.filter(keys, keep),
                pc.filter(values, keep),
            )
        if s.trim_key:
            keys = pc.utf8_trim(keys, characters=s.trim_key)
        if s.remove_char_key:
            keys = pc.replace_substring_regex(keys, f"[{_class(s.remove_char_key)}]", "")
        keys = _transform(keys, s.transform_key)
        keep = pc.not_equal(keys, "")
        if s.include_keys:
            keep = pc.and_(keep, pc.is_in(keys, value_set=pa.array(s.include_keys, pa.string())))
        if s.exclude_keys:
            keep = pc.and_(
                keep, pc.invert(pc.is_in(keys, value_set=pa.array(s.exclude_keys, pa.string())))
            )
        rows, keys, values = pc.filter(rows, keep), pc.filter(keys, keep), pc.filter(values, keep)
        if s.prefix:
            keys = pc.binary_join_element_wise(s.prefix, keys, "")
        if s.trim_value:
            values = pc.utf8_trim(values, characters=s.trim_value)
        if s.remove_char_value:
            values = pc.replace_substring_regex(values, f"[{_class(s.remove_char_value)}]", "")
        values = _transform(values, s.transform_value)
        table = self._pivot(table, rows, keys, values)
        return self._defaults(table, strings), failed

    def _pivot(self, table: pa.Table, rows: pa.Array, keys: pa.Array, values: pa.Array) -> pa.Table:
        n = table.num_rows
        flat = pa.table(
            {"r": pc.cast(rows, pa.int64()), "k": keys, "v": values, "s": row_index(len(rows))}
        )
        if not self.settings.allow_duplicate_values:
            flat = flat.group_by(["r", "k", "v"], use_threads=False).aggregate([("s", "min")])
            flat = flat.rename_columns(["r", "k", "v", "s"]).sort_by("s")
        everything = row_index(n)
        for key in pc.unique(flat["k"]).to_pylist():
            if key is None:
                continue
            part = flat.filter(pc.equal(flat["k"], key))
            r = part["r"].combine_chunks()
            v = part["v"].combine_chunks()
            has = pc.is_in(everything, value_set=r)
            if pc.count_distinct(r).as_py() == len(r):
                column = pc.take(v, pc.index_in(everything, value_set=r))
            else:
                column = lists_from_pairs(r, part["s"].combine_chunks(), v, n, has)
            table = set_where(table, (*self.target, key), column, has)
        return table

    def _defaults(self, table: pa.Table, strings: pa.Array | None) -> pa.Table:
        n = table.num_rows
        for key, value in self.settings.default_keys.items():
            path = (*self.target, str(key))
            old = get(table, path)
            absent = pa.nulls(n, pa.bool_()).fill_null(True) if old is None else old.is_null()
            fill = pa.nulls(n, pa.string()).fill_null(str(value))
            table = set_where(table, path, fill, absent)
        return table


def apply(table: pa.Table, settings: KvSettings) -> tuple[pa.Table, pa.Array]:
    """Build a :class:`Kv` from ``settings`` and run it on ``table`` (one-off use; keep a
    :class:`Kv` to run many batches without compiling again)."""
    return Kv(settings).apply(table)
