"""Logstash field references on Arrow tables: parse, get, set, remove, tags.

The mapping (also in ``docs/pipelines.md``):

- A batch of events is a ``pyarrow.Table``; one row per event. A top-level field ``[a]``
  (written ``a`` or ``[a]``) is the column ``a``.
- A nested field ``[a][b]`` is the child ``b`` of the *struct* column ``a``: nested JSON
  objects stay nested (this is how ``pyarrow.json`` and Sluice's JSON codecs read them), so
  records round-trip to the same JSON. A dot is part of a name: ``[a.b]`` is the column
  ``a.b``, exactly as in Logstash.
- ``[@metadata][x]`` is the child ``x`` of the struct column ``@metadata``; outputs drop
  that column. ``@timestamp`` is a column like any other (a ``timestamp`` type when set
  by Sluice).
- A null cell means the field is absent from that event. Arrays are list columns.

Who calls it: every batch kernel (:mod:`.grok`, :mod:`.dissect`, :mod:`.kv`), the
condition compiler and :mod:`.sprintf`. Every function takes and returns whole columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.errors import ConfigError

__all__ = [
    "FieldConflictError",
    "FieldPath",
    "add_tags",
    "append_values",
    "clear_where",
    "column",
    "get",
    "lists_from_pairs",
    "parse_ref",
    "remove",
    "remove_tags",
    "row_index",
    "set_field",
    "set_where",
]

FieldPath = tuple[str, ...]
_REF_RE = re.compile(r"(?:\[([^\[\]]+)\])+")
_PART_RE = re.compile(r"\[([^\[\]]+)\]")


class FieldConflictError(ValueError):
    """A nested field cannot be set because a parent holds a non-object value."""


def parse_ref(ref: str) -> FieldPath:
    """``"[a][b]"`` -> ``("a", "b")``; ``"a"`` and ``"a.b"`` are single top-level names.

    Raises:
        ConfigError: for an empty or malformed reference such as ``"[a"``.
    """
    text = ref.strip()
    if not text:
        raise ConfigError("a field reference must not be empty", expected=["[field]"])
    if text.startswith("["):
        if not _REF_RE.fullmatch(text):
            raise ConfigError(f"malformed field reference {ref!r}", expected=["[a][b]"])
        return tuple(_PART_RE.findall(text))
    if "[" in text or "]" in text:
        raise ConfigError(f"malformed field reference {ref!r}", expected=["[a][b]", "name"])
    return (text,)


def column(table: pa.Table, name: str) -> pa.Array:
    """The column ``name`` as one contiguous array."""
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def get(table: pa.Table, path: FieldPath) -> pa.Array | None:
    """The values of ``path`` for every row, or ``None`` when no row can have it.

    Rows where a parent is absent or not an object read as null.
    """
    if path[0] not in table.column_names:
        return None
    arr = column(table, path[0])
    for name in path[1:]:
        if not pa.types.is_struct(arr.type) or arr.type.get_field_index(name) < 0:
            return None
        arr = pc.struct_field(arr, name)
    return arr


def row_index(n: int) -> pa.Array:
    """``[0, 1, ..., n-1]`` as int64, built without a Python loop."""
    if n == 0:
        return pa.array([], pa.int64())
    ones = pa.nulls(n, pa.int64()).fill_null(1)
    return pc.subtract(pc.cumulative_sum(ones), 1)


def _with_child(parent: pa.Array | None, n: int, rest: FieldPath, values: pa.Array) -> pa.Array:
    """A struct array like ``parent`` with ``rest`` set to ``values`` (nulls = unset)."""
    name = rest[0]
    if parent is not None and not pa.types.is_struct(parent.type):
        if parent.null_count != len(parent):
            raise FieldConflictError(
                f"cannot set [{name}] inside a field holding {parent.type} values"
            )
        parent = None
    names: list[str] = []
    children: list[pa.Array] = []
    parent_valid = (
        parent.is_valid() if parent is not None else pa.nulls(n, pa.bool_()).fill_null(False)
    )
    if parent is not None:
        for i in range(parent.type.num_fields):
            names.append(parent.type.field(i).name)
            children.append(pc.struct_field(parent, i))
    old = children[names.index(name)] if name in names else None
    new = values if len(rest) == 1 else _with_child(old, n, rest[1:], values)
    if name in names:
        children[names.index(name)] = new
    else:
        names.append(name)
        children.append(new)
    valid = pc.or_(parent_valid, new.is_valid())
    return pa.StructArray.from_arrays(children, names, mask=pc.invert(valid))


def set_field(table: pa.Table, path: FieldPath, values: pa.Array) -> pa.Table:
    """Return ``table`` with ``path`` set to ``values`` for every row (nulls = absent).

    Raises:
        FieldConflictError: a parent of a nested path holds scalar values.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    name = path[0]
    if len(path) > 1:
        parent = column(table, name) if name in table.column_names else None
        values = _with_child(parent, table.num_rows, path[1:], values)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def set_where(
    table: pa.Table, path: FieldPath, values: pa.Array, mask: pa.Array | None = None
) -> pa.Table:
    """Set ``path`` to ``values`` on rows where ``mask`` is true and ``values`` is not null;
    other rows keep their old value. Old values of another type are cast to the new type
    when possible, else the new type's column takes the old rows as null.
    """
    old = get(table, path)
    if mask is None and (old is None or old.null_count == len(old)):
        if old is None and values.null_count == len(values):
            return table  # nothing to set, and no column to keep
        return set_field(table, path, values)
    take = values.is_valid() if mask is None else pc.and_(mask, values.is_valid())
    if old is None and not pc.any(take).as_py():
        return table
    if old is not None and old.null_count != len(old):
        if old.type != values.type:
            try:
                old = old.cast(values.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                old = pa.nulls(len(values), values.type)
        values = pc.if_else(take, values, old)
    else:
        values = pc.if_else(take, values, pa.nulls(len(values), values.type))
    return set_field(table, path, values)


def remove(table: pa.Table, path: FieldPath) -> pa.Table:
    """Return ``table`` without ``path`` (a no-op when it is absent)."""
    name = path[0]
    if name not in table.column_names:
        return table
    if len(path) == 1:
        return table.drop_columns([name])
    arr = column(table, name)
    return set_field(table, (name,), _without_child(arr, path[1:]))


def _without_child(arr: pa.Array, rest: FieldPath) -> pa.Array:
    if not pa.types.is_struct(arr.type) or arr.type.get_field_index(rest[0]) < 0:
        return arr
    names, children = [], []
    for i in range(arr.type.num_fields):
        child_name = arr.type.field(i).name
        child = pc.struct_field(arr, i)
        if child_name == rest[0]:
            if len(rest) == 1:
                continue
            child = _without_child(child, rest[1:])
        names.append(child_name)
        children.append(child)
    if not names:
        return pa.nulls(len(arr), pa.struct([]))
    return pa.StructArray.from_arrays(children, names, mask=pc.invert(arr.is_valid()))


def _as_list(arr: pa.Array | None, n: int) -> pa.Array:
    """A ``list<string>`` view of a tags-like column (a single string becomes ``[s]``)."""
    if arr is None or pa.types.is_null(arr.type):
        return pa.nulls(n, pa.list_(pa.string()))
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        return arr.cast(pa.list_(pa.string()))
    strings = arr.cast(pa.string())
    offsets = pc.cumulative_sum(pc.cast(strings.is_valid(), pa.int32()))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), offsets])
    return pa.ListArray.from_arrays(
        offsets, strings.drop_null(), mask=pc.invert(strings.is_valid())
    )


def add_tags(
    table: pa.Table, tags: Sequence[str], mask: pa.Array | None = None, field: str = "tags"
) -> pa.Table:
    """Append each of ``tags`` to the ``tags`` list of the rows where ``mask`` is true,
    unless the row already holds it (Logstash ``event.tag``). Other rows are unchanged.
    """
    n = table.num_rows
    tags = list(dict.fromkeys(tags))
    if not tags or n == 0:
        return table
    sel = pa.nulls(n, pa.bool_()).fill_null(True) if mask is None else mask.fill_null(False)
    if not pc.any(sel).as_py():
        return table
    old = _as_list(get(table, (field,)), n)
    rows = row_index(n)
    flat = pc.list_flatten(old)
    parents = pc.list_parent_indices(old)
    seq_old = pc.subtract(row_index(len(flat)), pc.take(_offsets(old), parents))
    row_parts, seq_parts, val_parts = [parents], [pc.cast(seq_old, pa.int64())], [flat]
    for k, tag in enumerate(tags):
        has = pc.is_in(rows, value_set=pc.filter(parents, pc.equal(flat, tag)))
        need = pc.filter(rows, pc.and_(sel, pc.invert(has)))
        row_parts.append(need)
        seq_parts.append(pa.nulls(len(need), pa.int64()).fill_null(1 << 40 | k))
        val_parts.append(pa.nulls(len(need), pa.string()).fill_null(tag))
    valid = pc.or_(old.is_valid(), sel)
    result = lists_from_pairs(
        pa.concat_arrays([pc.cast(p, pa.int64()) for p in row_parts]),
        pa.concat_arrays(seq_parts),
        pa.concat_arrays(val_parts),
        n,
        valid,
    )
    return set_field(table, (field,), result)


def lists_from_pairs(
    rows: pa.Array, seqs: pa.Array, values: pa.Array, n: int, valid: pa.Array
) -> pa.Array:
    """Build a list column of length ``n``: row ``r`` holds the ``values`` whose ``rows``
    entry is ``r``, ordered by ``seqs``; rows where ``valid`` is false are null."""
    pairs = pa.table({"r": rows, "s": seqs, "v": values}).sort_by(
        [("r", "ascending"), ("s", "ascending")]
    )
    counts = pairs.group_by("r").aggregate([("r", "count")])
    lengths = pc.take(counts["r_count"].combine_chunks(), _scatter_index(counts["r"], n)).fill_null(
        0
    )
    offsets = pa.concat_arrays(
        [pa.array([0], pa.int64()), pc.cumulative_sum(pc.cast(lengths, pa.int64()))]
    )
    value_type = values.type
    return pa.LargeListArray.from_arrays(
        offsets, pairs["v"].combine_chunks(), mask=pc.invert(valid)
    ).cast(pa.list_(value_type))


def append_values(old: pa.Array, new: pa.Array) -> pa.Array:
    """Logstash's "append to an existing field": a ``list<string>`` column where a row
    holding both values gets ``[old..., new]`` and any other row a list of what it has."""
    n = len(old)
    rows = row_index(n)
    if pa.types.is_list(old.type) or pa.types.is_large_list(old.type):
        old_items = pc.list_flatten(old).cast(pa.string(), safe=False)
        old_rows = pc.cast(pc.list_parent_indices(old), pa.int64())
        old_seq = row_index(len(old_items))
        old_valid = old.is_valid()
    else:
        old_s = old.cast(pa.string(), safe=False)
        old_valid = old_s.is_valid()
        old_items, old_rows = pc.filter(old_s, old_valid), pc.filter(rows, old_valid)
        old_seq = pc.multiply(old_rows, 0)
    new_s = new.cast(pa.string(), safe=False)
    keep_new = new_s.is_valid()
    new_rows = pc.filter(rows, keep_new)
    new_seq = pc.add(pc.multiply(new_rows, 0), 1 << 40)
    return lists_from_pairs(
        pa.concat_arrays([old_rows, new_rows]),
        pa.concat_arrays([pc.cast(old_seq, pa.int64()), pc.cast(new_seq, pa.int64())]),
        pa.concat_arrays([old_items, pc.filter(new_s, keep_new)]),
        n,
        pc.or_(old_valid, keep_new),
    )


def clear_where(table: pa.Table, path: FieldPath, mask: pa.Array) -> pa.Table:
    """Remove ``path`` from the rows where ``mask`` is true (the column goes when empty)."""
    old = get(table, path)
    if old is None:
        return table
    cleared = pc.if_else(mask, pa.nulls(len(old), old.type), old)
    if cleared.null_count == len(cleared):
        return remove(table, path)
    return set_field(table, path, cleared)


def remove_tags(
    table: pa.Table, tags: Sequence[str], mask: pa.Array | None = None, field: str = "tags"
) -> pa.Table:
    """Remove each of ``tags`` from the ``tags`` lists of the rows where ``mask`` is true."""
    if field not in table.column_names or not tags:
        return table
    n = table.num_rows
    old = _as_list(get(table, (field,)), n)
    flat = pc.list_flatten(old)
    parents = pc.cast(pc.list_parent_indices(old), pa.int64())
    hit = pc.is_in(flat, value_set=pa.array(list(tags), pa.string()))
    if mask is not None:
        hit = pc.and_(hit, pc.take(mask.fill_null(False), parents))
    keep = pc.invert(hit)
    result = lists_from_pairs(
        pc.filter(parents, keep),
        pc.filter(row_index(len(flat)), keep),
        pc.filter(flat, keep),
        n,
        old.is_valid(),
    )
    return set_field(table, (field,), result)


def _offsets(lists: pa.Array) -> pa.Array:
    return pc.cast(lists.offsets, pa.int64())[:-1] if len(lists) else pa.array([], pa.int64())


def _scatter_index(keys: pa.ChunkedArray | pa.Array, n: int) -> pa.Array:
    """An index array of length ``n``: position ``keys[j]`` holds ``j``, others null."""
    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    lookup = pc.index_in(row_index(n), value_set=keys)
    return lookup
