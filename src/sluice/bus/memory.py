"""The memory backend: partitions as lists of encoded batches, for tests and throwaway runs.

It stores the same encoded batches as the embedded log (so fetches return the same views),
applies retention batch by batch, and loses everything on ``close``.
"""

from __future__ import annotations

import bisect

from sluice.bus.batch import RecordBatch, now_ms, parse_header
from sluice.bus.encode import EncodedBatch
from sluice.bus.groups import OffsetStore
from sluice.bus.local import LocalBus, PartitionLog

__all__ = ["MemoryBus", "MemoryLog"]


class MemoryLog(PartitionLog):
    """One partition held as a list of encoded batches."""

    def __init__(self) -> None:
        super().__init__()
        self._bases: list[int] = []
        self._batches: list[bytes] = []
        self._start = 0
        self._end = 0
        self._size = 0

    @property
    def earliest(self) -> int:
        return self._start

    @property
    def latest(self) -> int:
        return self._end

    def append(self, batch: EncodedBatch) -> int:
        base = self._end
        batch.set_base_offset(base)
        data = batch.join()
        count = parse_header(data).record_count
        self._bases.append(base)
        self._batches.append(data)
        self._size += len(data)
        self._end = base + count
        return base

    def read(self, offset: int, max_records: int, max_bytes: int) -> list[RecordBatch]:
        with self.cond:
            bases, batches = list(self._bases), list(self._batches)
        i = max(bisect.bisect_right(bases, offset) - 1, 0)
        out: list[RecordBatch] = []
        size = 0
        while i < len(batches) and max_records > 0:
            view = RecordBatch(batches[i])
            if view.next_offset <= offset:
                i += 1
                continue
            if out and size + view.header.size > max_bytes:
                break
            start = max(offset - view.base_offset, 0)
            stop = min(len(view), start + max_records)
            out.append(view if (start, stop) == (0, len(view)) else view.sliced(start, stop))
            max_records -= stop - start
            size += view.header.size
            i += 1
        return out

    def offset_for_timestamp(self, timestamp_ms: int) -> int | None:
        with self.cond:
            batches = list(self._batches)
        for data in batches:
            if parse_header(data).max_timestamp >= timestamp_ms:
                view = RecordBatch(data)
                for off, ts in zip(view.offsets, view.timestamps, strict=True):
                    if ts >= timestamp_ms:
                        return off
        return None

    def enforce_retention(self, retention_ms: int, retention_bytes: int) -> int:
        dropped = 0
        horizon = now_ms() - retention_ms
        while self._batches:
            header = parse_header(self._batches[0])
            too_old = retention_ms >= 0 and header.max_timestamp < horizon
            too_big = retention_bytes >= 0 and self._size - header.size >= retention_bytes
            if not (too_old or too_big):
                break
            self._bases.pop(0)
            self._batches.pop(0)
            self._size -= header.size
            self._start = header.next_offset
            dropped += 1
        return dropped

    def stats(self) -> tuple[int, int]:
        return self._size, len(self._batches)


class MemoryBus(LocalBus):
    """A :class:`~sluice.bus.base.Bus` that keeps everything in this process's memory."""

    kind = "memory"

    def __init__(self) -> None:
        super().__init__(OffsetStore())

    def _new_log(self, topic: str, partition: int) -> PartitionLog:
        return MemoryLog()
