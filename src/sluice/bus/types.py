"""Plain values the bus protocol passes around: partitions, topic and group descriptions, results.

Everything here is immutable data with no I/O; backends build them and callers read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sluice.bus.batch import ConsumedRecord, RecordBatch

__all__ = [
    "FetchResult",
    "GroupInfo",
    "MemberInfo",
    "PartitionInfo",
    "ProduceResult",
    "ProducedSpan",
    "TopicInfo",
    "TopicPartition",
]


class TopicPartition(NamedTuple):
    """One partition of one topic."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition as ``describe_topic`` sees it.

    ``earliest`` is the log start offset (first offset still stored), ``latest`` the log end
    offset (offset the next record gets). ``size_bytes`` and ``segments`` are ``None`` where
    the backend cannot tell (Kafka).
    """

    partition: int
    earliest: int
    latest: int
    size_bytes: int | None = None
    segments: int | None = None

    @property
    def records(self) -> int:
        """Records currently stored (``latest - earliest``)."""
        return self.latest - self.earliest


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic, its retention and its partitions.

    ``retention_ms`` / ``retention_bytes`` are ``-1`` for unlimited (Kafka's convention).
    """

    name: str
    partitions: tuple[PartitionInfo, ...]
    retention_ms: int = -1
    retention_bytes: int = -1

    @property
    def partition_count(self) -> int:
        """Number of partitions."""
        return len(self.partitions)

    @property
    def size_bytes(self) -> int | None:
        """Bytes on disk over all partitions, or ``None`` when unknown."""
        sizes = [p.size_bytes for p in self.partitions]
        return None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by the CLI and the REST API)."""
        return {
            "name": self.name,
            "partition_count": self.partition_count,
            "retention_ms": self.retention_ms,
            "retention_bytes": self.retention_bytes,
            "size_bytes": self.size_bytes,
            "records": sum(p.records for p in self.partitions),
            "partitions": [
                {
                    "partition": p.partition,
                    "earliest": p.earliest,
                    "latest": p.latest,
                    "records": p.records,
                    "size_bytes": p.size_bytes,
                    "segments": p.segments,
                }
                for p in self.partitions
            ],
        }


@dataclass(frozen=True, slots=True)
class ProducedSpan:
    """Records of one produce call that went to one partition, at consecutive offsets.

    ``positions`` are the indices of these records in the produce input, or ``None`` when the
    span holds input records ``first_position .. first_position+count-1`` in order.
    """

    partition: int
    base_offset: int
    count: int
    first_position: int = 0
    positions: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class ProduceResult:
    """Where a produce call put its records (acknowledged per the backend's durability)."""

    topic: str
    spans: tuple[ProducedSpan, ...]

    def __len__(self) -> int:
        return sum(s.count for s in self.spans)

    def offsets(self) -> list[tuple[int, int]]:
        """``(partition, offset)`` of every input record, in input order."""
        out: list[tuple[int, int]] = [(-1, -1)] * len(self)
        for s in self.spans:
            positions = s.positions or range(s.first_position, s.first_position + s.count)
            for i, pos in enumerate(positions):
                out[pos] = (s.partition, s.base_offset + i)
        return out


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch returned from one partition.

    ``batches`` hold records ``>= requested offset`` in offset order (possibly none).
    ``next_offset`` is where the next fetch should start; ``high_watermark`` the partition's
    end offset and ``log_start_offset`` its first stored offset at fetch time.
    """

    topic: str
    partition: int
    batches: tuple[RecordBatch, ...]
    next_offset: int
    high_watermark: int
    log_start_offset: int

    def __len__(self) -> int:
        return sum(len(b) for b in self.batches)

    def records(self) -> Iterator[ConsumedRecord]:
        """Every record, one by one (convenient, not the fast path)."""
        for batch in self.batches:
            yield from batch.records()

    def values(self) -> list[bytes]:
        """All values in offset order."""
        out: list[bytes] = []
        for batch in self.batches:
            out += batch.values
        return out

    def values_array(self) -> Any:
        """All values as one ``pyarrow`` binary ``ChunkedArray`` (zero-copy chunks)."""
        import pyarrow as pa

        return pa.chunked_array([b.values_array() for b in self.batches], type=pa.binary())


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """One member of a consumer group and the partitions it holds."""

    member_id: str
    client_id: str = ""
    host: str = ""
    assignment: tuple[TopicPartition, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A consumer group: state, members and committed offsets (with lag where known)."""

    group: str
    state: str
    protocol: str = ""
    generation: int = 0
    members: tuple[MemberInfo, ...] = ()
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    lag: dict[TopicPartition, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by the CLI)."""
        return {
            "group": self.group,
            "state": self.state,
            "protocol": self.protocol,
            "generation": self.generation,
            "members": [
                {
                    "member_id": m.member_id,
                    "client_id": m.client_id,
                    "host": m.host,
                    "assignment": [str(tp) for tp in m.assignment],
                }
                for m in self.members
            ],
            "offsets": [
                {
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "offset": off,
                    "lag": self.lag.get(tp),
                }
                for tp, off in sorted(self.offsets.items())
            ],
        }
