"""The ``mutate`` filter: rename, replace, convert, gsub, case, strip, split, join, merge,
copy, over whole columns.

Operations run in the order the Logstash reference documents: coerce, rename, update,
replace, convert, gsub, uppercase, capitalize, lowercase, strip, split, join, merge, copy
(the common options ``remove_field``, ``add_field``, ``add_tag``... come after, applied by
the executor). Every event reaching mutate is "matched".

Differences forced by typed columns (documented in ``docs/pipelines.md``): ``convert`` to
``boolean`` leaves values it does not recognise absent and tags the event with
``tag_on_failure``; ``coerce`` fills null cells of an existing column; ``merge`` works on
arrays and strings (not on objects).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.batch import string_view, to_float
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import (
    FieldPath,
    add_tags,
    clear_where,
    get,
    lists_from_pairs,
    parse_ref,
    row_index,
    set_field,
    set_where,
)
from sluice.pipeline.settings.common import PluginSettings
from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.filters._util import all_false, as_mask
from sluice.plugins.filters.gsub import gsub_fn

__all__ = ["mutate_kernel"]

Step = Callable[[pa.Table], pa.Table]

_TRUE = ["true", "t", "yes", "y", "1", "1.0"]
_FALSE = ["false", "f", "no", "n", "0", "0.0", ""]


def _is_list(arr: pa.Array) -> bool:
    return bool(pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type))


def _map_strings(arr: pa.Array, fn: Callable[[pa.Array], pa.Array]) -> pa.Array | None:
    """Apply ``fn`` to a string column, or to the items of a list of strings."""
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return fn(arr)
    if _is_list(arr) and pa.types.is_string(arr.type.value_type):
        flat = fn(pc.list_flatten(arr))
        offsets = arr.offsets
        return pa.ListArray.from_arrays(offsets, flat, mask=pc.invert(arr.is_valid()))
    return None


def _string_op(path: FieldPath, fn: Callable[[pa.Array], pa.Array]) -> Step:
    def step(table: pa.Table) -> pa.Table:
        arr = get(table, path)
        if arr is None:
            return table
        out = _map_strings(arr, fn)
        if out is None or out is arr:  # not strings, or nothing changed (gsub's fast path)
            return table
        return set_where(table, path, out, arr.is_valid())

    return step


def _as_strings(arr: pa.Array) -> pa.Array:
    view = string_view(pa.table({"v": arr}), ("v",))
    assert view is not None
    return view


def _convert(arr: pa.Array, kind: str) -> tuple[pa.Array, pa.Array | None]:
    """Convert a scalar column; returns (values, rows that failed or None)."""
    t = arr.type
    if kind == "string":
        return _as_strings(arr), None
    if kind in ("integer", "integer_eu"):
        if pa.types.is_boolean(t):
            return pc.cast(arr, pa.int64()), None
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            return pc.cast(pc.trunc(pc.cast(arr, pa.float64())), pa.int64()), None
        s = _as_strings(arr)
        s = pc.replace_substring(s, "." if kind == "integer_eu" else ",", "")
        if kind == "integer_eu":
            s = pc.replace_substring(s, ",", ".")
        return pc.cast(pc.trunc(to_float(s)), pa.int64()), None
    if kind in ("float", "float_eu"):
        if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
            return pc.cast(arr, pa.float64()), None
        s = _as_strings(arr)
        s = pc.replace_substring(s, "." if kind == "float_eu" else ",", "")
        if kind == "float_eu":
            s = pc.replace_substring(s, ",", ".")
        return to_float(s), None
    if kind == "boolean":
        if pa.types.is_boolean(t):
            return arr, None
        s = pc.utf8_lower(_as_strings(arr))
        is_true = pc.is_in(s, value_set=pa.array(_TRUE))
        is_false = pc.is_in(s, value_set=pa.array(_FALSE))
        known = pc.or_(is_true, is_false)
        out = pc.if_else(known, is_true, pa.nulls(len(arr), pa.bool_()))
        return out, pc.and_(arr.is_valid(), pc.invert(known))
    raise ConfigError(
        f"mutate convert does not know the type {kind!r}",
        expected=["integer", "integer_eu", "float", "float_eu", "string", "boolean"],
    )


def _convert_step(path: FieldPath, kind: str, failure_tag: str) -> Step:
    _convert(pa.array([], pa.string()), kind)  # validate the type name now

    def step(table: pa.Table) -> pa.Table:
        arr = get(table, path)
        if arr is None or pa.types.is_struct(arr.type):
            return table
        failed = None
        if _is_list(arr):
            flat, failed_items = _convert(pc.list_flatten(arr), kind)
            out = (
                pa.ListArray.from_arrays(arr.offsets, flat, mask=pc.invert(arr.is_valid()))
                if len(arr)
                else pa.nulls(0, pa.list_(flat.type))
            )
            if failed_items is not None and pc.any(failed_items).as_py():
                rows = pc.list_parent_indices(arr)
                failed = pc.is_in(row_index(len(arr)), value_set=pc.filter(rows, failed_items))
        else:
            out, failed = _convert(arr, kind)
        table = _replace(table, path, out, arr.is_valid())
        if failed is not None and pc.any(failed).as_py():
            table = add_tags(table, [failure_tag], failed)
        return table

    return step


def _replace(table: pa.Table, path: FieldPath, values: pa.Array, mask: pa.Array) -> pa.Table:
    """Set ``path`` to ``values`` where ``mask``, absent elsewhere (the column may change
    type, as when Logstash replaces a value with one of another kind)."""
    return set_field(table, path, pc.if_else(mask, values, pa.nulls(len(values), values.type)))


def _list_of_strings(arr: pa.Array | None, n: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(row, value, valid) pairs of a field read as an array of strings (Ruby ``Array()``)."""
    if arr is None:
        empty = pa.array([], pa.int64())
        return empty, pa.array([], pa.string()), all_false(n)
    if _is_list(arr):
        flat = pc.list_flatten(arr)
        return (
            pc.cast(pc.list_parent_indices(arr), pa.int64()),
            _as_strings(flat),
            arr.is_valid(),
        )
    s = _as_strings(arr)
    valid = s.is_valid()
    return pc.filter(row_index(n), valid), pc.filter(s, valid), valid


def _merge_step(dest: FieldPath, src: FieldPath) -> Step:
    def step(table: pa.Table) -> pa.Table:
        n = table.num_rows
        d_arr, s_arr = get(table, dest), get(table, src)
        if s_arr is None:
            return table
        for arr in (d_arr, s_arr):
            if arr is not None and pa.types.is_struct(arr.type):
                raise ConfigError(f"mutate merge of objects is not supported (field {dest})")
        d_rows, d_vals, d_valid = _list_of_strings(d_arr, n)
        s_rows, s_vals, s_valid = _list_of_strings(s_arr, n)
        seq = row_index(len(d_vals) + len(s_vals))
        merged = lists_from_pairs(
            pa.concat_arrays([d_rows, s_rows]),
            seq,
            pa.concat_arrays([d_vals, s_vals]),
            n,
            pc.or_(d_valid, s_valid),
        )
        return set_field(table, dest, merged)

    return step


def _steps(settings: PluginSettings) -> list[Step]:
    cfg: Any = settings
    steps: list[Step] = []
    failure_tag = str(cfg.tag_on_failure)
    for field, default in cfg.coerce.items():
        path, value = parse_ref(field), str(default)

        def coerce(t: pa.Table, path: FieldPath = path, value: str = value) -> pa.Table:
            arr = get(t, path)
            if arr is None or arr.null_count == 0:
                return t
            fill = pa.array([value] * t.num_rows, pa.string())
            return set_where(t, path, fill, pc.invert(arr.is_valid()))

        steps.append(coerce)
    for old, new in cfg.rename.items():
        src, dst = parse_ref(old), parse_ref(str(new))

        def rename(t: pa.Table, src: FieldPath = src, dst: FieldPath = dst) -> pa.Table:
            arr = get(t, src)
            if arr is None:
                return t
            valid = arr.is_valid()
            t = clear_where(t, src, valid)
            return set_where(t, dst, arr, valid)

        steps.append(rename)
    for setting, only_existing in (("update", True), ("replace", False)):
        for field, value in getattr(settings, setting).items():
            path, tpl = parse_ref(field), compile_sprintf(str(value))

            def assign(
                t: pa.Table, path: FieldPath = path, tpl: object = tpl, only: bool = only_existing
            ) -> pa.Table:
                arr = get(t, path)
                if only and arr is None:
                    return t
                values = tpl.render(t)  # type: ignore[attr-defined]
                mask = as_mask(arr.is_valid()) if only and arr is not None else None
                return set_where(t, path, values, mask)

            steps.append(assign)
    for field, kind in cfg.convert.items():
        steps.append(_convert_step(parse_ref(field), str(kind), failure_tag))
    gsub = list(cfg.gsub)
    if len(gsub) % 3:
        raise ConfigError("mutate gsub takes triples: field, regex, replacement")
    for field, regex, repl in zip(gsub[::3], gsub[1::3], gsub[2::3], strict=True):
        steps.append(_string_op(parse_ref(field), gsub_fn(str(regex), str(repl))))
    for setting, fn in (
        ("uppercase", pc.utf8_upper),
        ("capitalize", pc.utf8_capitalize),
        ("lowercase", pc.utf8_lower),
        ("strip", pc.utf8_trim_whitespace),
    ):
        for field in getattr(settings, setting):
            steps.append(_string_op(parse_ref(field), fn))
    for field, sep in cfg.split.items():
        path, separator = parse_ref(field), str(sep)

        def split(t: pa.Table, path: FieldPath = path, separator: str = separator) -> pa.Table:
            arr = get(t, path)
            if arr is None or not pa.types.is_string(arr.type):
                return t
            return _replace(t, path, pc.split_pattern(arr, separator), arr.is_valid())

        steps.append(split)
    for field, sep in cfg.join.items():
        path, separator = parse_ref(field), str(sep)

        def join(t: pa.Table, path: FieldPath = path, separator: str = separator) -> pa.Table:
            arr = get(t, path)
            if arr is None or not _is_list(arr):
                return t
            items = (
                pa.ListArray.from_arrays(
                    arr.offsets, _as_strings(pc.list_flatten(arr)), mask=pc.invert(arr.is_valid())
                )
                if len(arr)
                else pa.nulls(0, pa.list_(pa.string()))
            )
            return _replace(t, path, pc.binary_join(items, separator), arr.is_valid())

        steps.append(join)
    for dest, sources in cfg.merge.items():
        for src in sources if isinstance(sources, list) else [sources]:
            steps.append(_merge_step(parse_ref(dest), parse_ref(str(src))))
    for src_name, dst_name in cfg.copy_.items():
        src, dst = parse_ref(src_name), parse_ref(str(dst_name))

        def copy(t: pa.Table, src: FieldPath = src, dst: FieldPath = dst) -> pa.Table:
            arr = get(t, src)
            if arr is None:
                return t
            return set_where(t, dst, arr, arr.is_valid())

        steps.append(copy)
    return steps


def mutate_kernel(settings: PluginSettings) -> Kernel:
    """Build the mutate kernel; every row counts as matched (no failed mask)."""
    steps = _steps(settings)

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        for step in steps:
            table = step(table)
        return table, all_false(table.num_rows)

    return kernel
