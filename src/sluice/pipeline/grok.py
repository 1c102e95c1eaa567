"""The ``grok`` filter kernel: named-pattern parsing of text fields, a batch at a time.

Who calls it: the filter executor (:mod:`sluice.pipeline.executor`) and the plugin
runtime. Build a :class:`Grok` once from :class:`GrokSettings` (patterns are compiled to
RE2 then; bad patterns raise :class:`ConfigError`), then call :meth:`Grok.apply` per batch.

Semantics (Logstash grok, legacy patterns):

- ``match`` maps fields to patterns; patterns are tried in order, fields in order. With
  ``break_on_match`` (default) a row stops at its first matching pattern, across fields.
- Captures are set as strings (``:int``/``:float`` convert like Ruby ``to_i``/``to_f``);
  empty captures are dropped unless ``keep_empty_captures``; ``target`` nests them.
- A capture into a field that already holds a value replaces it when the field is listed
  in ``overwrite``; otherwise the old and new values become an array, as Logstash does
  (here the whole column becomes a list column; see docs/pipelines.md).
- Rows no pattern matched get ``tag_on_failure`` (default ``_grokparsefailure``) added to
  ``tags``. An absent field is matched as ``""``, like Ruby's ``nil.to_s``.
- With ``break_on_match => false`` a later pattern's capture of the same field replaces
  an earlier one (Logstash would collect both into an array).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.batch import string_view, to_float, to_int
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.fields import (
    FieldPath,
    add_tags,
    append_values,
    get,
    parse_ref,
    row_index,
    set_where,
)
from sluice.pipeline.grok_match import Matcher
from sluice.pipeline.grok_patterns import (
    CompiledGrok,
    builtin_patterns,
    compile_grok,
    load_patterns_dirs,
)
from sluice.pipeline.settings.filters import GrokSettings

__all__ = ["Grok", "apply"]


@dataclass(frozen=True, slots=True)
class _Pattern:
    compiled: CompiledGrok
    matcher: Matcher


class Grok:
    """A compiled grok filter. ``apply(table) -> (table, failed_mask)``."""

    def __init__(self, settings: GrokSettings) -> None:
        self.settings = settings
        library = dict(builtin_patterns())
        if settings.patterns_dir:
            library.update(load_patterns_dirs(settings.patterns_dir, settings.patterns_files_glob))
        library.update({k: str(v) for k, v in settings.pattern_definitions.items()})
        if not settings.match:
            raise ConfigError("grok needs a 'match' setting", expected=["match"])
        self.target: FieldPath = parse_ref(settings.target) if settings.target else ()
        self.overwrite = {parse_ref(name) for name in settings.overwrite}
        self.fields: list[tuple[FieldPath, list[_Pattern]]] = []
        for field, patterns in settings.match.items():
            compiled = []
            for text in patterns:
                c = compile_grok(text, library, named_captures_only=settings.named_captures_only)
                compiled.append(_Pattern(c, Matcher(c.regex, [cap.group for cap in c.captures])))
            self.fields.append((parse_ref(field), compiled))

    def apply(self, table: pa.Table) -> tuple[pa.Table, pa.Array]:
        """Parse every row; return the new table and a mask of rows no pattern matched."""
        n = table.num_rows
        matched = pa.nulls(n, pa.bool_()).fill_null(False)
        values: dict[FieldPath, pa.Array] = {}
        order: list[FieldPath] = []
        for path, patterns in self.fields:
            strings = string_view(table, path)
            strings = (
                pa.nulls(n, pa.string()).fill_null("") if strings is None else strings.fill_null("")
            )
            for pattern in patterns:
                todo = pc.invert(matched) if self.settings.break_on_match else None
                ok, groups = self._run(pattern.matcher, strings, todo)
                matched = pc.or_(matched, ok)
                self._collect(pattern.compiled, groups, ok, values, order)
                if self.settings.break_on_match and pc.all(matched).as_py():
                    break
            if self.settings.break_on_match and pc.all(matched).as_py():
                break
        for path in order:
            table = self._write(table, path, values[path])
        failed = pc.invert(matched)
        if self.settings.tag_on_failure:
            table = add_tags(table, self.settings.tag_on_failure, failed)
        return table, failed

    @staticmethod
    def _run(
        matcher: Matcher, strings: pa.Array, todo: pa.Array | None
    ) -> tuple[pa.Array, dict[str, pa.Array]]:
        if todo is None or pc.all(todo).as_py():
            return matcher.match(strings)
        n = len(strings)
        idx = pc.filter(row_index(n), todo)
        ok_sub, groups_sub = matcher.match(pc.take(strings, idx))
        ok = pc.replace_with_mask(pa.nulls(n, pa.bool_()).fill_null(False), todo, ok_sub)
        nulls = pa.nulls(n, pa.string())
        groups = {k: pc.replace_with_mask(nulls, todo, v) for k, v in groups_sub.items()}
        return ok, groups

    def _collect(
        self,
        compiled: CompiledGrok,
        groups: dict[str, pa.Array],
        ok: pa.Array,
        values: dict[FieldPath, pa.Array],
        order: list[FieldPath],
    ) -> None:
        seen: set[FieldPath] = set()
        everywhere = pc.all(ok).as_py()
        for cap in compiled.captures:
            raw = groups[cap.group]
            if not self.settings.keep_empty_captures:
                empty = pc.equal(raw, "")
                if pc.any(empty).as_py():
                    raw = pc.if_else(empty, None, raw)
            if not everywhere:
                raw = pc.if_else(ok, raw, pa.nulls(len(raw), pa.string()))
            value: pa.Array = raw
            if cap.type == "int":
                value = to_int(raw)
            elif cap.type == "float":
                value = to_float(raw)
            if cap.path in seen:  # the same name twice in one pattern: first value wins
                prior = values[cap.path]
                if prior.type == value.type:
                    values[cap.path] = pc.coalesce(prior, value)
                continue
            seen.add(cap.path)
            if cap.path not in values:
                values[cap.path] = value
                order.append(cap.path)
            else:
                prior = values[cap.path]
                if prior.type != value.type:
                    prior = prior.cast(value.type, safe=False)
                values[cap.path] = pc.if_else(value.is_valid(), value, prior)

    def _write(self, table: pa.Table, capture: FieldPath, value: pa.Array) -> pa.Table:
        """Set one capture; ``overwrite`` names captures as written (without ``target``)."""
        path = self.target + capture
        old = get(table, path)
        overwrite = capture in self.overwrite or path in self.overwrite
        if old is None or overwrite or old.null_count == len(old):
            return set_where(table, path, value)
        both = pc.and_(old.is_valid(), value.is_valid())
        if not pc.any(both).as_py():
            return set_where(table, path, value)
        return set_where(table, path, append_values(old, value))


def apply(table: pa.Table, settings: GrokSettings) -> tuple[pa.Table, pa.Array]:
    """Build a :class:`Grok` from ``settings`` and run it on ``table`` (one-off use; keep a
    :class:`Grok` to run many batches without compiling again)."""
    return Grok(settings).apply(table)
