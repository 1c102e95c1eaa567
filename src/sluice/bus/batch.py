"""The record batch: Sluice's unit of storage and transfer, encoded as one bytes buffer.

A batch is a 40-byte header followed by a columnar payload, padded to a multiple of 8 bytes:

```
header  <q I I B B H i q q>  base_offset, length, crc, magic, flags, reserved, count,
                              first_timestamp, max_timestamp
payload [timestamps  count x int64]         absent when FLAG_UNIFORM_TS (all = first_timestamp)
        value offsets (count+1) x int32, value bytes, pad to 8
        [key offsets (count+1) x int32, key null mask count x uint8, key bytes, pad]  FLAG_KEYS
        [header offsets (count+1) x int32, encoded headers, pad]                     FLAG_HEADERS
```

``length`` counts every byte after the ``length`` field (so a batch occupies ``12 + length``
bytes); ``crc`` is the CRC32C of every byte after the ``crc`` field. Offsets inside a column are
Arrow-style (start at 0, one more than records), so :meth:`RecordBatch.values_array` hands a
zero-copy ``pyarrow`` binary array to the runtime without one Python object per record.

The memory and embedded backends store exactly these bytes; the Kafka backend builds the same
views from consumed messages, so consumers see one shape everywhere. The record types
(:class:`Records` and the others) live in :mod:`sluice.bus.records` and are re-exported here;
encoding records into batches is :mod:`sluice.bus.encode`'s.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from typing import Any, NamedTuple

import crc32c

from sluice.bus.errors import CorruptBatchError
from sluice.bus.records import ConsumedRecord, Headers, Record, Records, now_ms

__all__ = [
    "CRC_FROM",
    "FLAG_HEADERS",
    "FLAG_KEYS",
    "FLAG_UNIFORM_TS",
    "HEADER",
    "HEADER_NAME",
    "HEADER_SIZE",
    "HEADER_VALUE",
    "MAGIC",
    "MAX_BATCH_BYTES",
    "BatchHeader",
    "ConsumedRecord",
    "Headers",
    "Record",
    "RecordBatch",
    "Records",
    "check_crc",
    "now_ms",
    "parse_header",
]

HEADER = struct.Struct("<qIIBBHiqq")
HEADER_SIZE = HEADER.size  # 40
MAGIC = 1
FLAG_UNIFORM_TS = 1
FLAG_KEYS = 2
FLAG_HEADERS = 4
CRC_FROM = 16  # the CRC covers bytes [16:] of a batch
MAX_BATCH_BYTES = 256 * 1024 * 1024
HEADER_NAME = struct.Struct("<H")  # a record header's name length (then the name)
HEADER_VALUE = struct.Struct("<i")  # a record header's value length (then the value)


def _decode_headers(raw: bytes) -> Headers:
    out: list[tuple[str, bytes]] = []
    pos = 0
    while pos < len(raw):
        (n,) = HEADER_NAME.unpack_from(raw, pos)
        name = raw[pos + 2 : pos + 2 + n].decode()
        pos += 2 + n
        (m,) = HEADER_VALUE.unpack_from(raw, pos)
        out.append((name, raw[pos + 4 : pos + 4 + m]))
        pos += 4 + m
    return tuple(out)


class BatchHeader(NamedTuple):
    """The decoded header of one batch; ``size`` is the whole batch in bytes."""

    base_offset: int
    size: int
    crc: int
    flags: int
    record_count: int
    first_timestamp: int
    max_timestamp: int

    @property
    def next_offset(self) -> int:
        """The offset after the last record of the batch."""
        return self.base_offset + self.record_count


def parse_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    """Decode the header at ``buf[pos:]``; raises :class:`CorruptBatchError` if impossible."""
    if len(buf) - pos < HEADER_SIZE:
        raise CorruptBatchError("The buffer ends inside a batch header.")
    base, length, crc, magic, flags, _, count, first_ts, max_ts = HEADER.unpack_from(buf, pos)
    if magic != MAGIC or count <= 0 or length < HEADER_SIZE - 12 or (length + 12) % 8:
        raise CorruptBatchError(f"The batch header at byte {pos} is not a valid Sluice batch.")
    return BatchHeader(base, length + 12, crc, flags, count, first_ts, max_ts)


def check_crc(buf: bytes | bytearray | memoryview, pos: int, header: BatchHeader) -> bool:
    """True when the batch at ``buf[pos:]`` is whole and its CRC32C matches."""
    end = pos + header.size
    if len(buf) < end:
        return False
    return bool(crc32c.crc32c(memoryview(buf)[pos + CRC_FROM : end]) == header.crc)


class RecordBatch:
    """A read-only view of records ``start .. stop-1`` of one encoded batch.

    Fetches return these views (zero-copy slices of what was read). ``offsets``,
    ``timestamps``, ``keys``, ``values`` and ``headers`` are decoded lazily, each as one
    list; :meth:`values_array` gives the values as a zero-copy ``pyarrow.BinaryArray``.
    """

    __slots__ = ("_buf", "_cols", "_start", "_stop", "header")

    def __init__(
        self,
        buf: bytes | bytearray | memoryview,
        start: int = 0,
        stop: int | None = None,
    ) -> None:
        self.header = parse_header(buf)
        self._buf = memoryview(buf)[: self.header.size]
        self._start = start
        self._stop = self.header.record_count if stop is None else stop
        if not 0 <= self._start < self._stop <= self.header.record_count:
            raise ValueError(
                f"Bad slice {start}..{stop} of a {self.header.record_count}-record batch."
            )
        self._cols: dict[str, Any] | None = None

    def __len__(self) -> int:
        return self._stop - self._start

    def __repr__(self) -> str:
        return f"RecordBatch(offsets={self.base_offset}..{self.last_offset}, count={len(self)})"

    @property
    def base_offset(self) -> int:
        """Offset of the first record of this view."""
        return self.header.base_offset + self._start

    @property
    def last_offset(self) -> int:
        """Offset of the last record of this view."""
        return self.header.base_offset + self._stop - 1

    @property
    def next_offset(self) -> int:
        """The offset to fetch after this view."""
        return self.header.base_offset + self._stop

    @property
    def offsets(self) -> range:
        """The offsets of the records, in order."""
        return range(self.base_offset, self.next_offset)

    @property
    def max_timestamp(self) -> int:
        """The largest timestamp of the whole stored batch."""
        return self.header.max_timestamp

    def sliced(self, start: int, stop: int) -> RecordBatch:
        """A narrower view: records ``start .. stop-1`` of this view."""
        return RecordBatch(self._buf, self._start + start, self._start + stop)

    def _columns(self) -> dict[str, Any]:
        if self._cols is not None:
            return self._cols
        h, buf, n = self.header, self._buf, self.header.record_count
        pos = HEADER_SIZE
        cols: dict[str, Any] = {}
        if h.flags & FLAG_UNIFORM_TS:
            cols["ts"] = None
        else:
            cols["ts"] = buf[pos : pos + 8 * n].cast("q")
            pos += 8 * n

        def binary(with_mask: bool) -> tuple[memoryview, memoryview | None, memoryview, int]:
            nonlocal pos
            offs = buf[pos : pos + 4 * (n + 1)].cast("i")
            pos += 4 * (n + 1)
            mask = None
            if with_mask:
                mask = buf[pos : pos + n]
                pos += n
            data = buf[pos : pos + offs[n]]
            start = pos
            pos += offs[n]
            pos += -pos % 8
            return offs, mask, data, start

        cols["values"] = binary(False)
        cols["keys"] = binary(True) if h.flags & FLAG_KEYS else None
        cols["headers"] = binary(False) if h.flags & FLAG_HEADERS else None
        self._cols = cols
        return cols

    @property
    def timestamps(self) -> list[int]:
        """The record timestamps (ms since the epoch)."""
        ts = self._columns()["ts"]
        if ts is None:
            return [self.header.first_timestamp] * len(self)
        return list(ts[self._start : self._stop])

    @staticmethod
    def _items(col: tuple[memoryview, Any, memoryview, int], start: int, stop: int) -> list[bytes]:
        offs, _, data, _ = col
        o = offs[start : stop + 1].tolist()
        raw = data[o[0] : o[-1]].tobytes()  # one copy, then bytes slices (no double copy)
        base = o[0]
        if base:
            o = [x - base for x in o]
        return [raw[a:b] for a, b in itertools.pairwise(o)]

    @property
    def values(self) -> list[bytes]:
        """The record values."""
        return self._items(self._columns()["values"], self._start, self._stop)

    @property
    def keys(self) -> list[bytes | None]:
        """The record keys (``None`` for a record without key)."""
        col = self._columns()["keys"]
        if col is None:
            return [None] * len(self)
        items = self._items(col, self._start, self._stop)
        mask = col[1][self._start : self._stop]
        return [None if m else k for k, m in zip(items, mask, strict=True)]

    @property
    def headers(self) -> list[Headers]:
        """The record headers (``()`` when a record has none)."""
        col = self._columns()["headers"]
        if col is None:
            return [()] * len(self)
        return [_decode_headers(b) for b in self._items(col, self._start, self._stop)]

    @property
    def values_size(self) -> int:
        """Total bytes of the values in this view."""
        offs = self._columns()["values"][0]
        return int(offs[self._stop] - offs[self._start])

    def timestamps_array(self) -> Any:
        """The timestamps as a ``pyarrow`` int64 array sharing this batch's memory (no copy)."""
        import pyarrow as pa

        if self._columns()["ts"] is None:
            return pa.repeat(pa.scalar(self.header.first_timestamp, pa.int64()), len(self))
        n = self.header.record_count
        data = pa.py_buffer(self._buf).slice(HEADER_SIZE, 8 * n)
        return pa.Array.from_buffers(pa.int64(), n, [None, data]).slice(self._start, len(self))

    def values_array(self) -> Any:
        """The values as a ``pyarrow.BinaryArray`` sharing this batch's memory (no copy)."""
        import pyarrow as pa

        offs, _, _, data_start = self._columns()["values"]
        n = self.header.record_count
        whole = pa.py_buffer(self._buf)
        offsets_pos = data_start - 4 * (n + 1)
        offsets_buf = whole.slice(offsets_pos, 4 * (n + 1))
        data_buf = whole.slice(data_start, int(offs[n]))
        arr = pa.Array.from_buffers(pa.binary(), n, [None, offsets_buf, data_buf])
        return arr.slice(self._start, len(self))

    def records(self) -> Iterator[ConsumedRecord]:
        """The records one by one (convenient, not the fast path)."""
        yield from map(
            ConsumedRecord,
            self.offsets,
            self.timestamps,
            self.keys,
            self.values,
            self.headers,
        )
