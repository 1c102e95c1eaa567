"""The ``split`` filter: one event per piece of a string or per item of an array.

Logstash reference behaviour: ``field`` (default ``message``) is split at ``terminator``
(default ``\\n``) when it is a string, item by item when it is an array; each piece goes
into a copy of the event, in ``target`` (default: the same field). Empty string pieces are
skipped; a string that does not split (one piece) and an event without the field pass
through unchanged.

How it runs: ``split_pattern`` + ``list_flatten`` + one ``take`` of the batch by parent
row; the copies keep their event's hidden row number, so conditionals keep the order.
Difference: the common options (``add_tag``...) apply to every row leaving the filter,
including events passed through unchanged (the executor has no mask for a filter that
changes the row count).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import get, parse_ref, row_index, set_field
from sluice.pipeline.settings.common import PluginSettings
from sluice.plugins.filters._util import as_mask

__all__ = ["split_kernel"]


def split_kernel(settings: PluginSettings) -> Kernel:
    """Build the split kernel (changes the row count; no mask)."""
    cfg: Any = settings
    field = parse_ref(cfg.field)
    target = parse_ref(cfg.target) if cfg.target else field
    terminator = str(cfg.terminator)

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        arr = get(table, field)
        n = table.num_rows
        if arr is None:
            return table, None
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            pieces = pc.split_pattern(arr.cast(pa.string()), terminator)
            flat = pc.list_flatten(pieces)
            parents = pc.list_parent_indices(pieces)
            keep = pc.not_equal(flat, "")
            flat, parents = pc.filter(flat, keep), pc.filter(parents, keep)
            counts = pc.value_counts(parents)
            multi = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
        elif pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
            flat = pc.list_flatten(arr)
            parents = pc.list_parent_indices(arr)
            multi = pc.unique(parents)
        else:
            return table, None
        rows = row_index(n)
        split_rows = as_mask(pc.is_in(rows, value_set=pc.cast(multi, pa.int64())))
        taken = pc.is_in(pc.cast(parents, pa.int64()), value_set=pc.filter(rows, split_rows))
        flat, parents = pc.filter(flat, taken), pc.cast(pc.filter(parents, taken), pa.int64())
        # rows that do not split pass through as they are, at their place
        passthrough = pc.filter(rows, pc.invert(split_rows))
        order = pa.concat_arrays([parents, passthrough])
        seq = pa.concat_arrays([row_index(len(parents)), pa.nulls(len(passthrough), pa.int64())])
        idx = pa.table({"r": order, "s": seq.fill_null(-1)}).sort_by(
            [("r", "ascending"), ("s", "ascending")]
        )
        taken_table = table.take(idx.column("r"))
        # the new value: the piece for split rows, the old value for passed-through rows
        pos = idx.column("s").combine_chunks()
        is_piece = pc.greater_equal(pos, 0)
        piece = pc.take(flat, pc.if_else(is_piece, pos, 0)) if len(flat) else None
        if piece is None:
            return taken_table, None
        old = get(taken_table, target)
        if old is not None and old.type != piece.type:
            try:
                old = old.cast(piece.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                old = None
        fill = old if old is not None else pa.nulls(len(pos), piece.type)
        return set_field(taken_table, target, pc.if_else(is_piece, piece, fill)), None

    return kernel
