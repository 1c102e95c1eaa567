"""The ``truncate`` filter: cut string fields to at most ``length_bytes`` bytes of UTF-8.

Logstash reference behaviour: ``fields`` (default: every string field at the top level)
are cut to ``length_bytes`` bytes; a character cut in the middle is dropped whole, so the
result stays valid UTF-8; arrays of strings have each item cut; other kinds are left alone.
Every event is "matched".

How it runs: rows already short enough are untouched; long ASCII rows are sliced with one
Arrow kernel; only long rows holding multi-byte text are cut one by one.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import get, parse_ref, set_field
from sluice.pipeline.settings.common import PluginSettings
from sluice.plugins.filters._util import all_false, as_mask

__all__ = ["truncate_kernel", "truncate_strings"]


def truncate_strings(strings: pa.Array, limit: int) -> pa.Array:
    """Each string cut to at most ``limit`` UTF-8 bytes without splitting a character."""
    long = as_mask(pc.greater(pc.binary_length(strings), limit))
    if not pc.any(long).as_py():
        return strings
    ascii_ = as_mask(pc.string_is_ascii(strings))
    out = pc.if_else(pc.and_(long, ascii_), pc.utf8_slice_codeunits(strings, 0, limit), strings)
    slow = pc.and_(long, pc.invert(ascii_))
    if pc.any(slow).as_py():
        values = out.to_pylist()
        for i in pc.indices_nonzero(slow).to_pylist():
            values[i] = values[i].encode("utf-8")[:limit].decode("utf-8", "ignore")
        out = pa.array(values, pa.string())
    return out


def _cut(arr: pa.Array, limit: int) -> pa.Array | None:
    if pa.types.is_string(arr.type):
        return truncate_strings(arr, limit)
    if pa.types.is_list(arr.type) and pa.types.is_string(arr.type.value_type) and len(arr):
        flat = truncate_strings(pc.list_flatten(arr), limit)
        return pa.ListArray.from_arrays(arr.offsets, flat, mask=pc.invert(arr.is_valid()))
    return None


def truncate_kernel(settings: PluginSettings) -> Kernel:
    """Build the truncate kernel (no failures)."""
    cfg: Any = settings
    limit = int(cfg.length_bytes)
    paths = [parse_ref(f) for f in cfg.fields]

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        targets = paths or [
            (f.name,)
            for f in table.schema
            if pa.types.is_string(f.type) and not f.name.startswith("__sluice")
        ]
        for path in targets:
            arr = get(table, path)
            if arr is None:
                continue
            cut = _cut(arr, limit)
            if cut is not None:
                table = set_field(table, path, cut)
        return table, all_false(table.num_rows)

    return kernel
