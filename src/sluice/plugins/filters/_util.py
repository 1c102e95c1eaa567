"""Helpers shared by the filter kernels of this package: masks and string views.

Who calls it: the kernel factories in :mod:`sluice.plugins.filters` only.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["all_false", "all_true", "as_mask", "is_stringish", "objects_array"]


def all_true(n: int) -> pa.Array:
    """A boolean array of ``n`` trues."""
    return pa.nulls(n, pa.bool_()).fill_null(True)


def all_false(n: int) -> pa.Array:
    """A boolean array of ``n`` falses."""
    return pa.nulls(n, pa.bool_()).fill_null(False)


def as_mask(arr: pa.Array) -> pa.Array:
    """``arr`` (boolean, maybe with nulls) as a mask without nulls (null = false)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pc.fill_null(arr, False)


def is_stringish(arr: pa.Array | None) -> bool:
    """True for string-typed columns."""
    return arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    return type(value).__name__


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def objects_array(rows: list[dict[str, Any]]) -> pa.StructArray:
    """JSON objects as one struct array. A field whose values have different kinds across
    the rows (``1`` here, ``"x"`` there) becomes text (JSON for objects and arrays), since
    an Arrow column has one type; nested conflicts make nested values JSON text."""
    try:
        return pa.array(rows, pa.struct([])) if not any(rows) else pa.array(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    kinds: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            if value is not None:
                kinds.setdefault(key, set()).add(_kind(value))
    mixed = {k for k, v in kinds.items() if len(v) > 1}
    fixed = [{k: _text(v) if k in mixed else v for k, v in row.items()} for row in rows]
    try:
        return pa.array(fixed)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    flat = [
        {k: _text(v) if isinstance(v, dict | list) else v for k, v in row.items()} for row in fixed
    ]
    return pa.array(flat)
