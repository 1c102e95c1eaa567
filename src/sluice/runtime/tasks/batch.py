"""Micro-batches: the records a task read from its inputs, as Arrow, with their origins.

A task's loop (:mod:`sluice.runtime.tasks.loop`) fetches record batches from every partition
of every input topic and hands them to its processor as one :class:`MicroBatch`: per input
result table, the values as one binary Arrow array and the record timestamps as one int64
array (no Python object per record), plus the ``(partition, offset)`` spans they came from,
so a record the processor cannot handle is dead-lettered with its exact origin.
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
    """The records of one input result table within a micro-batch, in fetch order."""

    def __init__(self, rt: str, batches: list[tuple[int, RecordBatch]]) -> None:
        self.rt = rt
        self.spans = [Span(p, b.base_offset, len(b)) for p, b in batches]
        self._starts: list[int] = []
        total = 0
        for span in self.spans:
            self._starts.append(total)
            total += span.count
        self.count = total
        chunks = [b.values_array() for _, b in batches]
        self.values: pa.Array = (
            (pa.concat_arrays(chunks) if len(chunks) != 1 else chunks[0])
            if chunks
            else pa.array([], pa.binary())
        )
        stamps = [b.timestamps_array() for _, b in batches]
        self.timestamps: pa.Array = pa.concat_arrays(stamps) if stamps else pa.array([], pa.int64())

    def __len__(self) -> int:
        return self.count

    def origin(self, index: int) -> tuple[int, int]:
        """``(partition, offset)`` of the record at ``index``."""
        i = bisect.bisect_right(self._starts, index) - 1
        span = self.spans[i]
        return span.partition, span.base_offset + index - self._starts[i]

    def value(self, index: int) -> bytes:
        """The raw value of the record at ``index``."""
        raw = self.values[index].as_py()
        return b"" if raw is None else bytes(raw)


@dataclass
class MicroBatch:
    """One micro-batch: input RT id -> its records (only inputs that delivered appear)."""

    inputs: dict[str, InputBatch]

    @property
    def count(self) -> int:
        """Records over all inputs."""
        return sum(b.count for b in self.inputs.values())
