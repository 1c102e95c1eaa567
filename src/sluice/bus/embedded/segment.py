"""One segment of an embedded partition: a log file of batches plus its two sparse indexes.

Files, named by the segment's base offset (20 digits, as Kafka does)::

    00000000000000000000.log        batches, back to back (see sluice.bus.batch)
    00000000000000000000.index      <i i>  relative offset, byte position   (sparse)
    00000000000000000000.timeindex  <q i>  max timestamp so far, relative offset

Both index files get one entry for the segment's first batch and then one for each batch that
starts ``index_interval_bytes`` or more after the previous entry, so they stay small and the
entry ``k`` of each describes the same batch. The time index stores the running maximum
timestamp, which never decreases, so it can be bisected.

The segment does no locking: its :class:`~sluice.bus.embedded.log.FileLog` serialises writers
and publishes ``size`` only after a batch is fully written, so readers using ``pread`` below
``size`` never see a partial batch.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import struct
from array import array
from collections.abc import Sequence
from pathlib import Path

from sluice.bus.batch import HEADER_SIZE, BatchHeader, check_crc, parse_header
from sluice.bus.encode import Part
from sluice.bus.errors import CorruptBatchError

__all__ = ["Segment", "segment_name"]

_OFFSET_ENTRY = struct.Struct("<ii")
_TIME_ENTRY = struct.Struct("<qi")


def segment_name(base_offset: int) -> str:
    """The file stem of a segment: its base offset on 20 digits."""
    return f"{base_offset:020d}"


class Segment:
    """A segment file with its indexes. ``writable=False`` opens everything read-only."""

    def __init__(
        self, directory: Path, base_offset: int, writable: bool, index_interval: int = 4096
    ) -> None:
        self.base_offset = base_offset
        self.writable = writable
        stem = directory / segment_name(base_offset)
        self.path = stem.with_suffix(".log")
        self.index_path = stem.with_suffix(".index")
        self.time_index_path = stem.with_suffix(".timeindex")
        self._interval = index_interval
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND if writable else os.O_RDONLY
        self._fd = os.open(self.path, flags, 0o644)
        self._ifd = os.open(self.index_path, flags, 0o644) if writable else -1
        self._tfd = os.open(self.time_index_path, flags, 0o644) if writable else -1
        self.size = 0
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.first_timestamp = -1
        self._rel = array("i")
        self._pos = array("i")
        self._ts = array("q")
        self._since_entry = 0
        self.dirty = False

    # -- loading and recovery ----------------------------------------------------------------

    def _load_indexes(self) -> None:
        raw_i = self.index_path.read_bytes() if self.index_path.exists() else b""
        raw_t = self.time_index_path.read_bytes() if self.time_index_path.exists() else b""
        n = min(len(raw_i) // 8, len(raw_t) // 12)
        for k in range(n):
            rel, pos = _OFFSET_ENTRY.unpack_from(raw_i, 8 * k)
            ts, rel_t = _TIME_ENTRY.unpack_from(raw_t, 12 * k)
            if rel_t != rel or (k and (rel <= self._rel[-1] or pos <= self._pos[-1])):
                break
            self._rel.append(rel)
            self._pos.append(pos)
            self._ts.append(ts)

    def load_closed(self, next_offset: int) -> None:
        """Open a segment that was rolled cleanly: trust its size, end and indexes.

        A cleanly rolled segment ends with a sentinel entry at its end position (see
        :meth:`seal`); without it (a crash during the roll) the segment is recovered instead.
        """
        self._load_indexes()
        self.size = os.fstat(self._fd).st_size
        if not self.size or not len(self._pos) or self._pos[-1] != self.size:
            del self._rel[:], self._pos[:], self._ts[:]
            self.recover()
            return
        self.next_offset = next_offset
        self.max_timestamp = self._ts[-1]
        self.first_timestamp = self._first_timestamp()

    def _first_timestamp(self) -> int:
        buf = os.pread(self._fd, HEADER_SIZE, 0)
        return parse_header(buf).first_timestamp if len(buf) == HEADER_SIZE else -1

    def recover(self) -> int:
        """Check the tail from the last index entry by CRC; cut everything after the last whole
        batch (writable) or just stop before it (read-only). Returns the bytes dropped.
        """
        if not len(self._pos):
            self._load_indexes()
        file_size = os.fstat(self._fd).st_size
        keep = bisect.bisect_left(self._pos, file_size)
        self.size, self.next_offset, self.max_timestamp = 0, self.base_offset, -1
        if keep:
            # Re-verify from the batch of the last entry that lies inside the file; the entry's
            # timestamp is the exact maximum of every batch before it.
            k = keep - 1
            self.size, self.next_offset = self._pos[k], self.base_offset + self._rel[k]
            self.max_timestamp = self._ts[k]
            keep = k
        del self._rel[keep:], self._pos[keep:], self._ts[keep:]
        self._since_entry = self._interval
        self.scan(file_size)
        dropped = file_size - self.size
        if self.writable:
            if dropped:
                os.ftruncate(self._fd, self.size)
            self._rewrite_indexes()
        self.first_timestamp = self._first_timestamp() if self.size else -1
        return dropped

    def scan(self, file_size: int) -> None:
        """Extend ``size``/``next_offset`` over whole, CRC-valid batches up to ``file_size``."""
        pos = self.size
        chunk = 4 * 1024 * 1024
        while pos + HEADER_SIZE <= file_size:
            buf = os.pread(self._fd, max(chunk, HEADER_SIZE), pos)
            try:
                header = parse_header(buf)
            except CorruptBatchError:
                return
            if header.size > len(buf):
                if pos + header.size > file_size:
                    return
                buf = os.pread(self._fd, header.size, pos)
            at = 0
            while at + HEADER_SIZE <= len(buf):
                try:
                    header = parse_header(buf, at)
                except CorruptBatchError:
                    return
                if at + header.size > len(buf):
                    break
                if header.base_offset != self.next_offset or not check_crc(buf, at, header):
                    return
                self._note(header, pos + at, write=False)
                at += header.size
            if at == 0:
                return
            pos += at

    def _rewrite_indexes(self) -> None:
        os.ftruncate(self._ifd, 0)
        os.ftruncate(self._tfd, 0)
        os.write(
            self._ifd,
            b"".join(_OFFSET_ENTRY.pack(r, p) for r, p in zip(self._rel, self._pos, strict=True)),
        )
        os.write(
            self._tfd,
            b"".join(_TIME_ENTRY.pack(t, r) for t, r in zip(self._ts, self._rel, strict=True)),
        )

    # -- writing -----------------------------------------------------------------------------

    def _note(self, header: BatchHeader, pos: int, write: bool) -> None:
        """Account for a batch stored at ``pos`` and add index entries when due.

        An entry's timestamp is the largest timestamp of every batch *before* its batch, so the
        time index never decreases and recovery can restart exactly at any entry.
        """
        if self.first_timestamp < 0:
            self.first_timestamp = header.first_timestamp
        if not len(self._pos) or self._since_entry >= self._interval:
            self._add_entry(header.base_offset - self.base_offset, pos, write)
        self.max_timestamp = max(self.max_timestamp, header.max_timestamp)
        self._since_entry += header.size
        self.size = pos + header.size
        self.next_offset = header.next_offset

    def _add_entry(self, rel: int, pos: int, write: bool) -> None:
        self._rel.append(rel)
        self._pos.append(pos)
        self._ts.append(self.max_timestamp)
        self._since_entry = 0
        if write:
            os.write(self._ifd, _OFFSET_ENTRY.pack(rel, pos))
            os.write(self._tfd, _TIME_ENTRY.pack(self.max_timestamp, rel))

    def append(self, parts: Sequence[Part], size: int, header: BatchHeader) -> None:
        """Write one encoded batch (its ``parts``, ``size`` bytes in all) at the end with one
        ``writev`` (caller holds the partition lock). A short write is cut off again and
        raises ``OSError``: the log never keeps part of a batch."""
        pos = self.size
        written = os.writev(self._fd, parts)
        if written != size:
            os.ftruncate(self._fd, pos)
            raise OSError(f"Short write to {self.path}: {written} of {size} bytes.")
        self.dirty = True
        self._note(header, pos, write=True)

    def seal(self) -> None:
        """Called at roll: add the sentinel entry (end offset, end position, max timestamp) so a
        reopen trusts this segment without scanning it."""
        if self.size:
            self._add_entry(self.next_offset - self.base_offset, self.size, write=True)

    def flush(self) -> None:
        """fsync the log file (indexes are rebuilt from it after a crash)."""
        if self.writable and self.dirty:
            self.dirty = False
            os.fdatasync(self._fd)

    # -- reading -----------------------------------------------------------------------------

    def position_of(self, offset: int) -> int:
        """Byte position of the batch holding ``offset`` (``size`` if past the end)."""
        k = bisect.bisect_right(self._rel, offset - self.base_offset) - 1
        pos = self._pos[k] if k >= 0 else 0
        size = self.size
        while pos < size:
            header = parse_header(os.pread(self._fd, HEADER_SIZE, pos))
            if header.next_offset > offset:
                return pos
            pos += header.size
        return size

    def position_for_time(self, timestamp_ms: int) -> int:
        """Position of a batch at or before the first one that may hold ``timestamp_ms``.

        Every batch before entry ``k`` has timestamps ``<= ts[k]``; the last entry whose
        ``ts < timestamp_ms`` is therefore a safe place to start scanning.
        """
        k = bisect.bisect_left(self._ts, timestamp_ms) - 1
        return min(self._pos[k], self.size) if k >= 0 else 0

    def file_size(self) -> int:
        """Bytes in the log file right now (a writer may still be adding to it)."""
        return os.fstat(self._fd).st_size

    def pread(self, size: int, pos: int) -> bytes:
        """Read ``size`` bytes at ``pos``."""
        return os.pread(self._fd, size, pos)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the files (idempotent)."""
        for name in ("_fd", "_ifd", "_tfd"):
            fd = getattr(self, name)
            if fd >= 0:
                setattr(self, name, -1)
                os.close(fd)

    def delete(self) -> None:
        """Remove the files; open descriptors stay readable until the segment is dropped."""
        for path in (self.path, self.index_path, self.time_index_path):
            path.unlink(missing_ok=True)

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            self.close()
