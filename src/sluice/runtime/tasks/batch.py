"""Micro-batches: the records a task read from its inputs, as Arrow, with their origins.

A task's loop (:mod:`sluice.runtime.tasks.loop`) fetches record batches from every partition
of every input topic and hands them to its processor as one :class:`MicroBatch`: per input
result table, the values and the record timestamps as Arrow arrays (no Python object per
record; the fetched batches' own buffers until a processor asks for one joined array), plus
the ``(partition, offset)`` spans they came from, so a record the processor cannot handle is
dead-lettered with its exact origin.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import pyarrow as pa

from sluice.bus import RecordBatch

__all__ = ["BatchResult", "DeadLetter", "InputBatch", "MicroBatch", "Span"]


@dataclass(frozen=True, slots=True)
class Span:
    """Consecutive records of one partition: ``count`` records from ``base_offset``."""

    partition: int
    base_offset: int
    count: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record a processor could not handle: input RT, index in its batch, reason."""

    rt: str
    index: int
    reason: str


@dataclass
class BatchResult:
    """What a processor did with one micro-batch (the loop turns it into metrics and DLQ)."""

    records_out: int = 0
    dropped: int = 0
    dead: list[DeadLetter] = field(default_factory=list)


class InputBatch:
    """The records of one input result table within a micro-batch, in fetch order.

    The values stay the fetched batches' own zero-copy Arrow views (:attr:`value_chunks`,
    :meth:`chunked_values`); :attr:`values` and :attr:`timestamps` join them into one array
    on first use (a copy when the micro-batch spans several fetched batches).
    """

    def __init__(self, rt: str, batches: list[tuple[int, RecordBatch]]) -> None:
        self.rt = rt
        self.spans = [Span(p, b.base_offset, len(b)) for p, b in batches]
        self._starts: list[int] = []
        total = 0
        for span in self.spans:
            self._starts.append(total)
            total += span.count
        self.count = total
        self.value_chunks: list[pa.Array] = [b.values_array() for _, b in batches]
        """The values of each fetched batch (binary views of the bus's buffers, no copy)."""
        self.timestamp_chunks: list[pa.Array] = [b.timestamps_array() for _, b in batches]
        """The record timestamps of each fetched batch (int64)."""
        self._values: pa.Array | None = None
        self._timestamps: pa.Array | None = None

    def __len__(self) -> int:
        return self.count

    @property
    def values(self) -> pa.Array:
        """All values as one binary array (joined once, on first use)."""
        if self._values is None:
            self._values = _joined(self.value_chunks, pa.binary())
        return self._values

    @property
    def timestamps(self) -> pa.Array:
        """All record timestamps (ms) as one int64 array (joined once, on first use)."""
        if self._timestamps is None:
            self._timestamps = _joined(self.timestamp_chunks, pa.int64())
        return self._timestamps

    def chunked_values(self) -> pa.ChunkedArray:
        """All values as a chunked array of the fetched batches' views (no copy)."""
        return pa.chunked_array(self.value_chunks, type=pa.binary())

    def origin(self, index: int) -> tuple[int, int]:
        """``(partition, offset)`` of the record at ``index``."""
        i = bisect.bisect_right(self._starts, index) - 1
        span = self.spans[i]
        return span.partition, span.base_offset + index - self._starts[i]

    def value(self, index: int) -> bytes:
        """The raw value of the record at ``index``."""
        i = bisect.bisect_right(self._starts, index) - 1
        raw = self.value_chunks[i][index - self._starts[i]].as_py()
        return b"" if raw is None else bytes(raw)


def _joined(chunks: list[pa.Array], data_type: pa.DataType) -> pa.Array:
    if not chunks:
        return pa.array([], data_type)
    return chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)


@dataclass
class MicroBatch:
    """One micro-batch: input RT id -> its records (only inputs that delivered appear)."""

    inputs: dict[str, InputBatch]
    prepared: object = None
    """What the processor's ``prepare`` made of this batch ahead of ``process`` (its own
    type; ``None`` when the loop did not prepare the batch)."""

    @property
    def count(self) -> int:
        """Records over all inputs."""
        return sum(b.count for b in self.inputs.values())
