"""Arrow columns as produce input: values and timestamps laid out without a Python object
per record.

:class:`~sluice.bus.batch.Records` accepts a ``pyarrow`` binary (or string) array as its
``values`` and an integer array as its ``timestamps``. A batch stores values exactly as
Arrow does (int32 offsets then the bytes), so :func:`binary_layout` hands the encoder the
array's own buffers (the offsets rebased to 0 when the array is a slice), and
:func:`int64_view` the timestamps' buffer. ``pyarrow`` is imported only when such a column
is given: the bus itself does not need it.
"""

from __future__ import annotations

import bisect
from typing import Any

__all__ = ["binary_layout", "int64_view", "is_arrow", "split_points", "to_bytes_list"]


def is_arrow(column: object) -> bool:
    """Whether ``column`` is a ``pyarrow`` array or chunked array."""
    return type(column).__module__.startswith("pyarrow")


def _binary(values: Any) -> Any:
    """``values`` as one ``binary`` array without nulls (zero-copy for binary and string)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type
    if pa.types.is_string(kind):
        values = values.view(pa.binary())
    elif pa.types.is_large_string(kind) or pa.types.is_large_binary(kind):
        values = values.cast(pa.binary())
    elif not pa.types.is_binary(kind):
        raise ValueError(f"Records.values must be a binary or string array, not {kind}.")
    if values.null_count:
        raise ValueError(f"Records.values holds {values.null_count} null(s); values are bytes.")
    return values


def _offsets(values: Any) -> memoryview:
    """The ``len(values) + 1`` int32 offsets of a binary array, as the array stores them."""
    start = values.offset
    raw = memoryview(values.buffers()[1])[4 * start : 4 * (start + len(values) + 1)]
    return raw.cast("B").cast("i")


def binary_layout(values: Any) -> tuple[memoryview, memoryview]:
    """``(offsets, data)`` of a non-empty Arrow binary column, as stored in a batch.

    ``offsets`` is ``len + 1`` int32 starting at 0 (a byte view); ``data`` the values'
    bytes end to end. Raises ``ValueError`` for nulls or a non-binary type.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _binary(values)
    n = len(arr)
    offs = _offsets(arr)
    first, last = offs[0], offs[n]
    buffer = arr.buffers()[2]
    data = memoryview(buffer)[first:last] if buffer is not None else memoryview(b"")
    if first:
        whole = pa.Array.from_buffers(pa.int32(), n + 1, [None, arr.buffers()[1]], 0, arr.offset)
        rebased = pc.subtract(whole, pa.scalar(first, pa.int32()))
        offs = _offsets_of_int32(rebased)
    return offs.cast("B"), data.cast("B")


def _offsets_of_int32(column: Any) -> memoryview:
    start = column.offset
    raw = memoryview(column.buffers()[1])[4 * start : 4 * (start + len(column))]
    return raw.cast("B").cast("i")


def split_points(values: Any, max_bytes: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` cutting an Arrow binary column into runs whose bytes stay
    near ``max_bytes`` (each run holds at least one value); ``[]`` when it is empty."""
    arr = _binary(values)
    n = len(arr)
    if n == 0:
        return []
    offs = _offsets(arr)
    if offs[n] - offs[0] <= max_bytes:
        return [(0, n)]
    runs: list[tuple[int, int]] = []
    start = 0
    while start < n:
        stop = bisect.bisect_right(offs, offs[start] + max_bytes, start + 1, n + 1) - 1
        stop = max(stop, start + 1)
        runs.append((start, stop))
        start = stop
    return runs


def int64_view(timestamps: Any) -> tuple[memoryview, int, int]:
    """``(view, min, max)`` of an Arrow integer column without nulls: ``view`` is its
    values as int64 bytes. Raises ``ValueError`` for nulls or a non-integer type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(timestamps, pa.ChunkedArray):
        timestamps = timestamps.combine_chunks()
    if not pa.types.is_integer(timestamps.type):
        raise ValueError(f"Records.timestamps must be integers, not {timestamps.type}.")
    if timestamps.null_count:
        raise ValueError(f"Records.timestamps holds {timestamps.null_count} null(s).")
    column = timestamps.cast(pa.int64())
    start, n = column.offset, len(column)
    view = memoryview(column.buffers()[1])[8 * start : 8 * (start + n)].cast("B")
    bounds = pc.min_max(column)
    return view, int(bounds["min"].as_py()), int(bounds["max"].as_py())


def to_bytes_list(values: Any) -> list[bytes]:
    """The values of an Arrow binary or string column as ``bytes`` (the slow path)."""
    result: list[bytes] = _binary(values).to_pylist()
    return result
