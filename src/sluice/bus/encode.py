"""Encoding records into record batches (the layout is :mod:`sluice.bus.batch`'s).

Who calls it: the local backends' ``produce`` (:class:`sluice.bus.local.LocalBus`) through
:func:`encode_parts`, and the Kafka backend's fetch through :func:`encode_batch`.

:func:`encode_parts` never joins the payload: an :class:`EncodedBatch` is the 40-byte header
plus the payload's parts, most of them views of the records' own memory (an Arrow column's
offsets and bytes), with the CRC32C computed part by part. The embedded log writes the parts
with one ``writev``, so a produced value is copied once, into the file, instead of first into
a joined buffer (for big batches that copy and its page faults cost as much as the write).
"""

from __future__ import annotations

import bisect
import itertools
import struct
from array import array
from collections.abc import Sequence
from typing import Any

import crc32c

from sluice.bus.batch import (
    CRC_FROM,
    FLAG_HEADERS,
    FLAG_KEYS,
    FLAG_UNIFORM_TS,
    HEADER,
    HEADER_NAME,
    HEADER_SIZE,
    HEADER_VALUE,
    MAGIC,
    MAX_BATCH_BYTES,
    BatchHeader,
    Headers,
    Records,
    now_ms,
    parse_header,
)
from sluice.bus.columns import binary_layout, int64_view, is_arrow, split_points

__all__ = ["EncodedBatch", "Part", "encode_batch", "encode_parts", "split_for_batches"]

Part = bytes | bytearray | memoryview
"""One piece of an encoded batch."""


class EncodedBatch:
    """One encoded batch as its parts: ``header`` (mutable: the log writes the base offset
    into it when it appends) and the payload ``parts`` in order. ``size`` is the whole batch
    in bytes. The parts may be views of the produced records' memory: keep them unchanged
    until the batch is stored."""

    __slots__ = ("header", "parts", "size")

    def __init__(self, header: bytearray, parts: list[Part]) -> None:
        self.header = header
        self.parts = parts
        self.size = len(header) + sum(len(p) for p in parts)

    def set_base_offset(self, base_offset: int) -> None:
        """Write ``base_offset`` into the header (the CRC does not cover it)."""
        struct.pack_into("<q", self.header, 0, base_offset)

    def parsed(self) -> BatchHeader:
        """The decoded header."""
        return parse_header(self.header)

    def buffers(self) -> list[Part]:
        """The header then the parts: the batch's bytes, in order (for ``os.writev``)."""
        return [self.header, *self.parts]

    def join(self) -> bytes:
        """The batch as one contiguous bytes object (one copy)."""
        return b"".join(self.buffers())


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 8)


def _offsets(items: Sequence[bytes]) -> array[int]:
    out = array("i", [0])
    out.extend(itertools.accumulate(map(len, items)))
    return out


def _encode_headers(headers: Headers) -> bytes:
    parts: list[bytes] = []
    for name, value in headers:
        raw = name.encode()
        parts += [HEADER_NAME.pack(len(raw)), raw, HEADER_VALUE.pack(len(value)), value]
    return b"".join(parts)


def split_for_batches(records: Records, max_bytes: int = 8 * 1024 * 1024) -> list[Records]:
    """Cut ``records`` into runs whose values stay near ``max_bytes`` (at least one record)."""
    n = len(records)
    if n == 0:
        return []
    if is_arrow(records.values):
        runs = split_points(records.values, max_bytes)
        return [records] if len(runs) == 1 else [records.slice(a, b) for a, b in runs]
    ends = list(itertools.accumulate(map(len, records.values)))
    if ends[-1] <= max_bytes:
        return [records]
    out: list[Records] = []
    start, base = 0, 0
    while start < n:
        stop = max(bisect.bisect_right(ends, base + max_bytes, lo=start), start + 1)
        out.append(records.slice(start, stop))
        base = ends[stop - 1]
        start = stop
    return out


def _timestamps(records: Records, parts: list[Part]) -> tuple[int, int, int]:
    """``(flags, first_ts, max_ts)``; appends the timestamp column to ``parts`` unless they
    are all equal."""
    ts: Any = records.timestamps
    if ts is None or isinstance(ts, int):
        first_ts = max_ts = now_ms() if ts is None else ts
        return FLAG_UNIFORM_TS, first_ts, max_ts
    if is_arrow(ts):
        view, low, max_ts = int64_view(ts)
        first_ts = int.from_bytes(view[:8], "little", signed=True)
        if low == max_ts:
            return FLAG_UNIFORM_TS, first_ts, max_ts
        parts.append(view)
        return 0, first_ts, max_ts
    first_ts, max_ts = ts[0], max(ts)
    if min(ts) == max_ts:
        return FLAG_UNIFORM_TS, first_ts, max_ts
    parts.append(array("q", ts).tobytes())
    return 0, first_ts, max_ts


def encode_parts(records: Records, base_offset: int = 0) -> EncodedBatch:
    """Encode ``records`` as one batch with ``base_offset`` and its CRC, as parts.

    Raises ``ValueError`` for an empty batch or one above 256 MiB.
    """
    count = len(records)
    if count == 0:
        raise ValueError("A record batch needs at least one record.")
    parts: list[Part] = []
    flags, first_ts, max_ts = _timestamps(records, parts)
    values = records.values
    if is_arrow(values):
        value_offsets, view = binary_layout(values)
        parts += [value_offsets, view, _pad(4 * (count + 1) + len(view))]
    else:
        data = b"".join(values)
        parts += [_offsets(values).tobytes(), data, _pad(4 * (count + 1) + len(data))]
    if records.keys is not None:
        flags |= FLAG_KEYS
        keys = [b"" if k is None else k for k in records.keys]
        kdata = b"".join(keys)
        mask = bytes(k is None for k in records.keys)
        parts += [_offsets(keys).tobytes(), mask, kdata, _pad(4 * (count + 1) + count + len(kdata))]
    if records.headers is not None:
        flags |= FLAG_HEADERS
        blobs = [_encode_headers(h) for h in records.headers]
        hdata = b"".join(blobs)
        parts += [_offsets(blobs).tobytes(), hdata, _pad(4 * (count + 1) + len(hdata))]
    payload_len = sum(len(p) for p in parts)
    if payload_len > MAX_BATCH_BYTES:
        raise ValueError(f"A record batch of {payload_len} bytes is above the 256 MiB limit.")
    header = bytearray(HEADER_SIZE)
    HEADER.pack_into(
        header, 0, base_offset, HEADER_SIZE + payload_len - 12, 0, MAGIC, flags, 0, count,
        first_ts, max_ts,
    )  # fmt: skip
    crc = crc32c.crc32c(memoryview(header)[CRC_FROM:])
    for part in parts:
        crc = crc32c.crc32c(part, value=crc)
    struct.pack_into("<I", header, 12, crc)
    return EncodedBatch(header, parts)


def encode_batch(records: Records, base_offset: int = 0) -> bytearray:
    """:func:`encode_parts` joined into one ``bytearray`` (the whole batch, contiguous)."""
    return bytearray().join(encode_parts(records, base_offset).buffers())
