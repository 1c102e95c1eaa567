"""The shared core of the in-process backends: topics of partition logs, plus groups.

:class:`LocalBus` implements the whole :class:`~sluice.bus.base.Bus` protocol over
:class:`PartitionLog` objects; the memory backend keeps batches in lists, the embedded backend
in segment files. Subclasses only say how to open, persist and delete a partition log.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sluice.bus.base import DEFAULT_FETCH_MAX_BYTES, DEFAULT_FETCH_MAX_RECORDS, Bus, GroupMember
from sluice.bus.batch import Record, RecordBatch, Records
from sluice.bus.encode import EncodedBatch, encode_parts, split_for_batches
from sluice.bus.errors import (
    BusClosedError,
    OffsetOutOfRangeError,
    PartitionNotFoundError,
    TopicExistsError,
    TopicNotFoundError,
)
from sluice.bus.groups import GroupCoordinator, LocalGroupMember, OffsetStore
from sluice.bus.partitioner import partition_keys
from sluice.bus.types import (
    FetchResult,
    GroupInfo,
    PartitionInfo,
    ProducedSpan,
    ProduceResult,
    TopicInfo,
    TopicPartition,
)

__all__ = ["LocalBus", "PartitionLog", "validate_topic_name"]

_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def validate_topic_name(name: str) -> str:
    """Return ``name`` if Kafka accepts it as a topic name, else raise ``ValueError``."""
    if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(
            f"Invalid topic name {name!r}: use 1-249 characters among letters, digits, "
            "'.', '_' and '-' (not '.' or '..')."
        )
    return name


class PartitionLog(ABC):
    """One partition's log. Appends are serialised by ``cond``; reads need no lock.

    ``cond`` is notified after every append so waiting fetches wake up.
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()

    @property
    @abstractmethod
    def earliest(self) -> int:
        """The log start offset."""

    @property
    @abstractmethod
    def latest(self) -> int:
        """The log end offset."""

    @abstractmethod
    def append(self, batch: EncodedBatch) -> int:
        """Store an encoded batch at the log end (patching its base offset); returns it.

        The caller holds ``cond``.
        """

    @abstractmethod
    def read(self, offset: int, max_records: int, max_bytes: int) -> list[RecordBatch]:
        """Views of the records at offsets ``>= offset`` (``earliest <= offset < latest``)."""

    @abstractmethod
    def offset_for_timestamp(self, timestamp_ms: int) -> int | None:
        """Earliest offset with a timestamp ``>= timestamp_ms``, or ``None``."""

    @abstractmethod
    def enforce_retention(self, retention_ms: int, retention_bytes: int) -> int:
        """Drop whole old segments/batches past retention; returns how many were dropped."""

    @abstractmethod
    def stats(self) -> tuple[int, int]:
        """``(size_bytes, segments)``."""

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Make appended data durable (embedded); no-op in memory."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files (embedded); no-op in memory."""


@dataclass
class _Topic:
    name: str
    retention_ms: int
    retention_bytes: int
    logs: list[PartitionLog] = field(default_factory=list)


class LocalBus(Bus):
    """A :class:`Bus` whose partitions live in this process (memory or files)."""

    def __init__(self, offset_store: OffsetStore) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._topics: dict[str, _Topic] = {}
        self._closed = False
        self.groups = GroupCoordinator(offset_store, self._partition_count)

    # -- hooks -------------------------------------------------------------------------------

    @abstractmethod
    def _new_log(self, topic: str, partition: int) -> PartitionLog:
        """Create (or open) the log of one partition."""

    def _save_topic(self, topic: _Topic) -> None:
        """Persist topic metadata (embedded)."""

    def _drop_topic(self, topic: _Topic) -> None:
        """Remove a deleted topic's files (embedded)."""

    def _check_writable(self) -> None:
        """Raise if this bus may not write (read-only embedded)."""

    def _refresh(self, topic: _Topic) -> None:
        """Pick up data other processes wrote (read-only embedded)."""

    # -- helpers -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosedError(f"The {self.kind} bus is closed.")

    def _topic(self, name: str) -> _Topic:
        self._check_open()
        with self._lock:
            topic = self._topics.get(name)
        if topic is None:
            raise TopicNotFoundError(f"Topic {name!r} does not exist.")
        return topic

    def _log(self, name: str, partition: int) -> PartitionLog:
        topic = self._topic(name)
        if not 0 <= partition < len(topic.logs):
            raise PartitionNotFoundError(
                f"Topic {name!r} has partitions 0..{len(topic.logs) - 1}; {partition} is not one."
            )
        self._refresh(topic)
        return topic.logs[partition]

    def _partition_count(self, name: str) -> int:
        with self._lock:
            topic = self._topics.get(name)
            return 0 if topic is None else len(topic.logs)

    # -- admin -------------------------------------------------------------------------------

    def create_topic(
        self, name: str, partitions: int = 1, retention_ms: int = -1, retention_bytes: int = -1
    ) -> TopicInfo:
        self._check_open()
        self._check_writable()
        validate_topic_name(name)
        if partitions < 1:
            raise ValueError(f"A topic needs at least one partition, not {partitions}.")
        with self._lock:
            if name in self._topics:
                raise TopicExistsError(f"Topic {name!r} already exists.")
            topic = _Topic(name, retention_ms, retention_bytes)
            topic.logs = [self._new_log(name, p) for p in range(partitions)]
            self._save_topic(topic)
            self._topics[name] = topic
        return self.describe_topic(name)

    def delete_topic(self, name: str) -> None:
        self._check_writable()
        with self._lock:
            topic = self._topic(name)
            del self._topics[name]
        for log in topic.logs:
            log.close()
        self._drop_topic(topic)
        self.groups.offsets.drop_topic(name)

    def list_topics(self) -> list[str]:
        self._check_open()
        with self._lock:
            return sorted(self._topics)

    def describe_topic(self, name: str) -> TopicInfo:
        topic = self._topic(name)
        self._refresh(topic)
        parts = []
        for p, log in enumerate(topic.logs):
            size, segments = log.stats()
            parts.append(PartitionInfo(p, log.earliest, log.latest, size, segments))
        return TopicInfo(name, tuple(parts), topic.retention_ms, topic.retention_bytes)

    def set_retention(
        self, name: str, retention_ms: int | None = None, retention_bytes: int | None = None
    ) -> TopicInfo:
        self._check_writable()
        topic = self._topic(name)
        with self._lock:
            if retention_ms is not None:
                topic.retention_ms = retention_ms
            if retention_bytes is not None:
                topic.retention_bytes = retention_bytes
            self._save_topic(topic)
        self.enforce_retention(name)
        return self.describe_topic(name)

    def add_partitions(self, name: str, total: int) -> TopicInfo:
        self._check_writable()
        topic = self._topic(name)
        with self._lock:
            if total <= len(topic.logs):
                raise ValueError(
                    f"Topic {name!r} has {len(topic.logs)} partitions; the count can only grow, "
                    f"so {total} is not allowed."
                )
            topic.logs += [self._new_log(name, p) for p in range(len(topic.logs), total)]
            self._save_topic(topic)
        return self.describe_topic(name)

    def enforce_retention(self, name: str | None = None) -> int:
        """Apply retention now to one topic (or all); returns the segments/batches dropped."""
        self._check_writable()
        names = [name] if name is not None else self.list_topics()
        dropped = 0
        for n in names:
            topic = self._topic(n)
            for log in topic.logs:
                with log.cond:
                    dropped += log.enforce_retention(topic.retention_ms, topic.retention_bytes)
        return dropped

    # -- produce / fetch ---------------------------------------------------------------------

    def produce(
        self, topic: str, partition: int | None, records: Records | Sequence[Record]
    ) -> ProduceResult:
        self._check_writable()
        t = self._topic(topic)
        recs = self._as_records(records)
        n = len(recs)
        if n == 0:
            return ProduceResult(topic, ())
        count = len(t.logs)
        if partition is not None:
            self._log(topic, partition)
            return ProduceResult(topic, tuple(self._append(t, partition, recs, 0)))
        keyless = self._keyless_partition(count)
        if recs.keys is None or count == 1:
            return ProduceResult(topic, tuple(self._append(t, keyless, recs, 0)))
        targets = partition_keys(recs.keys, count, keyless)
        by_partition: dict[int, list[int]] = {}
        for i, p in enumerate(targets):
            by_partition.setdefault(p, []).append(i)
        spans: list[ProducedSpan] = []
        for p, positions in sorted(by_partition.items()):
            for span in self._append(t, p, recs.take(positions), 0):
                picked = tuple(positions[span.first_position : span.first_position + span.count])
                spans.append(ProducedSpan(p, span.base_offset, span.count, picked[0], picked))
        return ProduceResult(topic, tuple(spans))

    def _append(self, t: _Topic, partition: int, recs: Records, first: int) -> list[ProducedSpan]:
        log = t.logs[partition]
        encoded = [encode_parts(chunk) for chunk in split_for_batches(recs)]
        spans = []
        with log.cond:
            for chunk in encoded:
                base = log.append(chunk)
                count = chunk.parsed().record_count
                spans.append(ProducedSpan(partition, base, count, first))
                first += count
            log.cond.notify_all()
        return spans

    def fetch(
        self,
        topic: str,
        partition: int,
        offset: int,
        max_records: int = DEFAULT_FETCH_MAX_RECORDS,
        max_bytes: int = DEFAULT_FETCH_MAX_BYTES,
        wait_ms: int = 0,
    ) -> FetchResult:
        log = self._log(topic, partition)
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}.")
        end = log.latest
        if offset == end and wait_ms > 0:
            end = self._wait(log, offset, wait_ms)
        start = log.earliest
        if offset < start or offset > end:
            raise OffsetOutOfRangeError(
                f"Offset {offset} is out of range for {topic}-{partition}: the log holds "
                f"offsets {start}..{end - 1} (end {end})."
            )
        batches = log.read(offset, max_records, max_bytes) if offset < end else []
        nxt = batches[-1].next_offset if batches else offset
        return FetchResult(topic, partition, tuple(batches), nxt, max(end, nxt), start)

    def _wait(self, log: PartitionLog, offset: int, wait_ms: int) -> int:
        with log.cond:
            log.cond.wait_for(lambda: log.latest > offset or self._closed, wait_ms / 1000)
            return log.latest

    def earliest_offset(self, topic: str, partition: int) -> int:
        return self._log(topic, partition).earliest

    def latest_offset(self, topic: str, partition: int) -> int:
        return self._log(topic, partition).latest

    def offset_for_timestamp(self, topic: str, partition: int, timestamp_ms: int) -> int | None:
        return self._log(topic, partition).offset_for_timestamp(timestamp_ms)

    # -- groups ------------------------------------------------------------------------------

    def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        self._check_open()
        self._check_writable()
        for tp, off in offsets.items():
            self._log(tp.topic, tp.partition)
            if off < 0:
                raise ValueError(f"Cannot commit negative offset {off} for {tp}.")
        with self._lock:
            self.groups.offsets.put(group, {TopicPartition(*tp): o for tp, o in offsets.items()})

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        self._check_open()
        with self._lock:
            return self.groups.offsets.get(group).get(TopicPartition(*tp))

    def committed_offsets(self, group: str) -> dict[TopicPartition, int]:
        self._check_open()
        with self._lock:
            return self.groups.offsets.get(group)

    def list_groups(self) -> list[str]:
        self._check_open()
        return self.groups.list_groups()

    def describe_group(self, group: str) -> GroupInfo:
        self._check_open()

        def latest(tp: TopicPartition) -> int | None:
            try:
                return self.latest_offset(tp.topic, tp.partition)
            except (TopicNotFoundError, PartitionNotFoundError):
                return None

        return self.groups.describe(group, latest)

    def join_group(
        self,
        group: str,
        topics: Sequence[str],
        strategy: str = "range",
        session_timeout_ms: int = 10_000,
        client_id: str = "",
    ) -> GroupMember:
        self._check_open()
        for name in topics:
            self._topic(name)
        member_id = self.groups.join(group, topics, strategy, session_timeout_ms, client_id)
        return LocalGroupMember(self.groups, group, member_id)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            topics = list(self._topics.values())
        for topic in topics:
            for log in topic.logs:
                with log.cond:
                    log.cond.notify_all()
                log.close()
