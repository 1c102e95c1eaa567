"""Decode big batches of JSON values in parallel pieces (the runtime's decode entry point).

:func:`decode_values` cuts a batch into contiguous pieces of at least ``min_piece`` values
(given a chunked array, its chunks are sliced instead of joined, and only runs of chunks
under ``min_piece`` values are joined, so a piece may then be smaller), decodes
each with the record codec (:func:`sluice.runtime.records.decode_json_values`) on a
shared pool of ``os.cpu_count()`` threads (pyarrow's reader and kernels release the GIL), and
joins the results: the tables end to end (no copy), the bad records' indices shifted back to
the batch. Every piece follows the codec's rules exactly, so the result is the codec's result
on the whole batch: same rows in the same order, same bad records and reasons (the tests
check this on arbitrary mixes of good and bad values). One processing time is taken for the
whole batch, so ``localTime`` and defaulted event times agree across pieces.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from sluice.runtime.records import BadRecord, as_binary_array, decode_json_values
from sluice.sql.types import Schema

__all__ = ["MIN_PIECE", "decode_values"]

MIN_PIECE = 8192
"""Fewest values per piece: below it, splitting costs more than it saves."""

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _workers() -> int:
    return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="sluice-json")
        return _pool


def decode_values(
    values: pa.Array | pa.ChunkedArray | Sequence[bytes | None],
    schema: Schema,
    *,
    timestamps_ms: pa.Array | Sequence[int] | None = None,
    now_ms: int | None = None,
    timezone: str = "UTC",
    workers: int | None = None,
    min_piece: int = MIN_PIECE,
    derived_fields: bool = True,
) -> tuple[pa.Table, list[BadRecord]]:
    """Decode a batch of JSON values like :func:`decode_json_values`, in parallel pieces.

    Called by the runtime's processors (:func:`sluice.runtime.tasks.codec.decode_input`) for
    every input batch; safe to call from several task threads at once (they share the pool).

    Args:
        values, schema, timestamps_ms, now_ms, timezone, derived_fields: as for
            :func:`decode_json_values`.
        workers: pieces decoded at once (default: the CPU count).
        min_piece: fewest values per piece; a batch under ``2 * min_piece`` is decoded
            in the calling thread.

    Returns:
        ``(table, bad)`` exactly as :func:`decode_json_values` returns them for the batch.

    Raises:
        ValueError: ``min_piece`` or ``workers`` below 1, or ``timestamps_ms`` of another
            length than ``values``.
    """
    if min_piece < 1 or (workers is not None and workers < 1):
        raise ValueError("decode_values needs min_piece >= 1 and workers >= 1.")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    n = len(values)
    count = min(workers or _workers(), n // min_piece)
    chunked = isinstance(values, pa.ChunkedArray) and values.num_chunks > 1
    binary = as_binary_array(values) if count <= 1 or not chunked else None
    stamps: pa.Array | None = None
    if timestamps_ms is not None:
        stamps = (
            timestamps_ms.cast(pa.int64())
            if isinstance(timestamps_ms, pa.Array)
            else pa.array(timestamps_ms, pa.int64())
        )
        if len(stamps) != n:
            raise ValueError(f"{len(stamps)} timestamps were given for {n} values.")
    if binary is not None and count <= 1:
        return decode_json_values(
            binary,
            schema,
            timestamps_ms=stamps,
            now_ms=now,
            timezone=timezone,
            derived_fields=derived_fields,
        )
    step = -(-n // count)
    if binary is not None:
        pieces = [(start, binary.slice(start, step)) for start in range(0, n, step)]
    else:
        assert isinstance(values, pa.ChunkedArray)
        pieces = _pieces(values, step, min_piece)
    futures = [
        _executor().submit(
            decode_json_values,
            piece,
            schema,
            timestamps_ms=None if stamps is None else stamps.slice(start, len(piece)),
            now_ms=now,
            timezone=timezone,
            derived_fields=derived_fields,
        )
        for start, piece in pieces
    ]
    starts = [start for start, _ in pieces]
    tables: list[pa.Table] = []
    bad: list[BadRecord] = []
    for start, future in zip(starts, futures, strict=True):
        table, piece_bad = future.result()
        tables.append(table)
        bad.extend((start + index, reason) for index, reason in piece_bad)
    return pa.concat_tables(tables), bad


def _pieces(values: pa.ChunkedArray, step: int, min_piece: int) -> list[tuple[int, pa.Array]]:
    """``[(start, piece), ...]`` covering ``values`` in order: each chunk cut into slices of
    at most ``step`` values (zero-copy); only runs of consecutive slices under ``min_piece``
    are joined (small copies), up to ``min_piece`` values or the next bigger slice."""
    pieces: list[tuple[int, pa.Array]] = []
    small: list[pa.Array] = []
    small_start = small_count = position = 0

    def flush() -> None:
        nonlocal small_count
        if small:
            pieces.append((small_start, _concat(small)))
            small.clear()
            small_count = 0

    for chunk in values.chunks:
        binary = as_binary_array(chunk)
        for at in range(0, len(binary), step):
            part = binary.slice(at, step)
            if len(part) >= min_piece:
                flush()
                pieces.append((position, part))
            else:
                if not small:
                    small_start = position
                small.append(part)
                small_count += len(part)
                if small_count >= min_piece:
                    flush()
            position += len(part)
    flush()
    return pieces


def _concat(parts: list[pa.Array]) -> pa.Array:
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
