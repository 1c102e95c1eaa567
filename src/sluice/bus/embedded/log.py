"""One embedded partition: a directory of segments, rolled by size or age, cut by retention.

``<data>/topics/<topic>-<partition>/`` holds the segments (see :mod:`.segment`). Only the last
(active) segment is written. Opening a writable log recovers the active segment: its tail is
checked by CRC and truncated to the last whole batch, so after a crash nothing torn is ever
visible. A read-only log (another process holds the writer lock) follows the writer by
re-scanning the directory and the active segment's tail on every read.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from sluice.bus.batch import HEADER_SIZE, RecordBatch, check_crc, parse_header
from sluice.bus.embedded.segment import Segment
from sluice.bus.encode import EncodedBatch
from sluice.bus.errors import CorruptBatchError, ReadOnlyBusError
from sluice.bus.local import PartitionLog

__all__ = ["FileLog", "LogSettings"]

log = logging.getLogger(__name__)


class LogSettings:
    """The knobs a :class:`FileLog` needs (taken from ``EmbeddedConfig``)."""

    __slots__ = ("fsync_always", "index_interval", "segment_bytes", "segment_ms", "writable")

    def __init__(
        self,
        segment_bytes: int,
        segment_ms: int,
        index_interval: int,
        fsync_always: bool,
        writable: bool,
    ) -> None:
        self.segment_bytes = segment_bytes
        self.segment_ms = segment_ms
        self.index_interval = index_interval
        self.fsync_always = fsync_always
        self.writable = writable


class FileLog(PartitionLog):
    """A partition stored as segment files under ``directory``."""

    def __init__(self, directory: Path, settings: LogSettings) -> None:
        super().__init__()
        self.directory = directory
        self._s = settings
        self._segments: list[Segment] = []
        self._rolled_at = time.monotonic()
        self._hint: tuple[int, Segment, int] | None = None
        if settings.writable:
            directory.mkdir(parents=True, exist_ok=True)
        self._open_segments()

    # -- opening -----------------------------------------------------------------------------

    def _bases_on_disk(self) -> list[int]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(int(n[:-4]) for n in names if n.endswith(".log") and n[:-4].isdigit())

    def _segment(self, base: int) -> Segment:
        return Segment(self.directory, base, self._s.writable, self._s.index_interval)

    def _open_segments(self) -> None:
        bases = self._bases_on_disk()
        for i, base in enumerate(bases):
            seg = self._segment(base)
            if i + 1 < len(bases):
                seg.load_closed(bases[i + 1])
            else:
                dropped = seg.recover()
                if dropped:
                    log.warning(
                        "Partition %s: truncated %d bytes of torn or corrupt data after offset "
                        "%d (the last whole batch) while opening %s.",
                        self.directory.name,
                        dropped,
                        seg.next_offset,
                        seg.path,
                    )
            self._segments.append(seg)
        if not self._segments and self._s.writable:
            self._segments.append(self._segment(0))

    # -- offsets -----------------------------------------------------------------------------

    @property
    def earliest(self) -> int:
        segs = self._segments
        return segs[0].base_offset if segs else 0

    @property
    def latest(self) -> int:
        segs = self._segments
        return segs[-1].next_offset if segs else 0

    # -- writing -----------------------------------------------------------------------------

    def append(self, batch: EncodedBatch) -> int:
        if not self._s.writable:
            raise ReadOnlyBusError(f"Partition {self.directory.name} is open read-only.")
        active = self._segments[-1]
        if active.size and (
            active.size + batch.size > self._s.segment_bytes
            or (time.monotonic() - self._rolled_at) * 1000 >= self._s.segment_ms
        ):
            active = self.roll()
        base = active.next_offset
        batch.set_base_offset(base)
        active.append(batch.buffers(), batch.size, batch.parsed())
        if self._s.fsync_always:
            active.flush()
        return base

    def roll(self) -> Segment:
        """Seal the active segment and start a new one at the log end (caller holds ``cond``)."""
        active = self._segments[-1]
        active.seal()
        active.flush()
        seg = self._segment(active.next_offset)
        self._segments = [*self._segments, seg]
        self._rolled_at = time.monotonic()
        return seg

    def flush(self) -> None:
        with self.cond:
            segments = list(self._segments)
        for seg in segments:
            seg.flush()

    # -- reading -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read-only mode: pick up new batches, new segments and deleted ones from disk."""
        with self.cond:
            segs = self._segments
            if segs and os.path.exists(segs[-1].path):
                active = segs[-1]
                size = active.file_size()
                if size > active.size:
                    active.scan(size)
                    self.cond.notify_all()
                    return
            bases = self._bases_on_disk()
            known = {s.base_offset: s for s in segs}
            fresh: list[Segment] = []
            for base in bases:
                seg = known.get(base)
                if seg is None:
                    seg = self._segment(base)
                    seg.recover()
                fresh.append(seg)
            if [s.base_offset for s in fresh] != [s.base_offset for s in segs]:
                self._segments = fresh
                self.cond.notify_all()

    def _locate(self, offset: int) -> tuple[Segment, int] | None:
        hint = self._hint
        if hint is not None and hint[0] == offset and hint[2] < hint[1].size:
            return hint[1], hint[2]
        for seg in reversed(self._segments):
            if seg.base_offset <= offset:
                if offset >= seg.next_offset:
                    return None
                return seg, seg.position_of(offset)
        return None

    def read(self, offset: int, max_records: int, max_bytes: int) -> list[RecordBatch]:
        found = self._locate(offset)
        if found is None:
            return []
        seg, pos = found
        want = self._extent(seg, pos, offset, max_records, max_bytes)
        buf = seg.pread(want, pos)
        out: list[RecordBatch] = []
        at = 0
        while at + HEADER_SIZE <= len(buf) and max_records > 0:
            header = parse_header(buf, at)
            if at + header.size > len(buf):
                break
            if not check_crc(buf, at, header):
                raise CorruptBatchError(
                    f"The batch at byte {pos + at} of {seg.path} fails its CRC32C check."
                )
            view = RecordBatch(memoryview(buf)[at : at + header.size])
            start = max(offset - header.base_offset, 0)
            stop = min(header.record_count, start + max_records)
            if start < stop:
                whole = start == 0 and stop == header.record_count
                out.append(view if whole else view.sliced(start, stop))
                max_records -= stop - start
            at += header.size
        if out and out[-1].next_offset == out[-1].header.next_offset:
            self._hint = (out[-1].next_offset, seg, pos + at)
        return out

    @staticmethod
    def _extent(seg: Segment, pos: int, offset: int, max_records: int, max_bytes: int) -> int:
        """Bytes from ``pos`` holding the whole batches a read returns: the first one, then
        the next ones while they fit ``max_bytes`` and records are still wanted (found by
        reading their headers only, so no byte is read and dropped)."""
        end = seg.size
        first = parse_header(seg.pread(HEADER_SIZE, pos))
        want = first.size
        records = first.next_offset - offset
        while records < max_records and pos + want + HEADER_SIZE <= end:
            header = parse_header(seg.pread(HEADER_SIZE, pos + want))
            if want + header.size > max_bytes:
                break
            want += header.size
            records += header.record_count
        return min(want, end - pos)

    def offset_for_timestamp(self, timestamp_ms: int) -> int | None:
        for seg in list(self._segments):
            if seg.max_timestamp < timestamp_ms:
                continue
            pos, end = seg.position_for_time(timestamp_ms), seg.size
            while pos < end:
                header = parse_header(seg.pread(HEADER_SIZE, pos))
                if header.max_timestamp >= timestamp_ms:
                    view = RecordBatch(seg.pread(header.size, pos))
                    for off, ts in zip(view.offsets, view.timestamps, strict=True):
                        if ts >= timestamp_ms:
                            return off
                pos += header.size
        return None

    # -- retention ---------------------------------------------------------------------------

    def enforce_retention(self, retention_ms: int, retention_bytes: int) -> int:
        if not self._s.writable:
            raise ReadOnlyBusError(f"Partition {self.directory.name} is open read-only.")
        horizon = time.time() * 1000 - retention_ms
        active = self._segments[-1]
        if retention_ms >= 0 and active.size and active.max_timestamp < horizon:
            self.roll()  # an expired active segment is rolled so it can go as a whole
        dropped: list[Segment] = []
        total = sum(s.size for s in self._segments)
        segs = list(self._segments)
        while len(segs) > 1:
            oldest = segs[0]
            too_old = retention_ms >= 0 and oldest.max_timestamp < horizon
            too_big = retention_bytes >= 0 and total - oldest.size >= retention_bytes
            if not (too_old or too_big):
                break
            total -= oldest.size
            dropped.append(segs.pop(0))
        if dropped:
            self._segments = segs
            for seg in dropped:
                seg.delete()
            log.info(
                "Partition %s: retention deleted %d segment(s); the log now starts at offset %d.",
                self.directory.name,
                len(dropped),
                segs[0].base_offset,
            )
        return len(dropped)

    def stats(self) -> tuple[int, int]:
        segs = self._segments
        return sum(s.size for s in segs), len(segs)

    def close(self) -> None:
        with self.cond:
            segments, self._segments = self._segments, []
            self._hint = None
        for seg in segments:
            if seg.writable:
                seg.flush()
            seg.close()
