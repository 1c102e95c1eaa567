"""The Kafka backend: :class:`~sluice.bus.base.Bus` over confluent-kafka.

Produce goes through one shared idempotent producer and waits for every delivery report, so
``produce`` returns real broker offsets. Sluice picks the partition itself (murmur2 for keys,
sticky round-robin without), exactly like the local backends. Fetch uses per-partition
assigned consumers (:mod:`.fetch`), topics the ``AdminClient`` (:mod:`.topics`), committed offsets a consumer
of the group (or the group's live member, see :mod:`.group`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka import TopicPartition as KafkaTP
from confluent_kafka.admin import AdminClient

from sluice.bus.base import DEFAULT_FETCH_MAX_BYTES, DEFAULT_FETCH_MAX_RECORDS, Bus, GroupMember
from sluice.bus.batch import Record, Records
from sluice.bus.errors import (
    BusClosedError,
    BusError,
    OffsetOutOfRangeError,
)
from sluice.bus.kafka.config import KafkaConfig
from sluice.bus.kafka.fetch import ReaderPool
from sluice.bus.kafka.group import KafkaGroupMember
from sluice.bus.kafka.groups_admin import GroupAdmin
from sluice.bus.kafka.topics import TopicAdmin, raise_for
from sluice.bus.partitioner import partition_keys
from sluice.bus.types import (
    FetchResult,
    GroupInfo,
    ProducedSpan,
    ProduceResult,
    TopicInfo,
    TopicPartition,
)

__all__ = ["KafkaBus"]


class KafkaBus(Bus):
    """A :class:`~sluice.bus.base.Bus` on a Kafka cluster (any Kafka-protocol broker)."""

    kind = "kafka"

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__()
        self.config = config
        self._timeout = config.timeout_ms / 1000
        self._opened = False
        self._closed = False
        self._lock = threading.Lock()
        self._members: dict[str, KafkaGroupMember] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> KafkaBus:
        """Create the clients (they connect lazily) and check the cluster answers."""
        if self._opened:
            return self
        self._admin = AdminClient(self.config.client())
        self._producer = Producer(
            self.config.client(
                **{"linger.ms": self.config.linger_ms, "enable.idempotence": True, "acks": "all"}
            )
        )
        self._meta = Consumer(self.config.client(**{"group.id": f"sluice-meta-{uuid.uuid4().hex}"}))
        self._readers = ReaderPool(self.config)
        self._groups = GroupAdmin(self.config, self._admin, self.latest_offset)
        self._topics = TopicAdmin(
            self._admin, self._timeout, self._watermarks, self._true_end, self._readers.drop_topic
        )
        self._opened = True
        try:
            self._admin.list_topics(timeout=self._timeout)
        except KafkaException as exc:
            self.close()
            raise BusError(
                f"Cannot reach the Kafka cluster at {self.config.bootstrap}: {exc}."
            ) from exc
        return self

    def close(self) -> None:
        if not self._opened or self._closed:
            return
        self._closed = True
        for member in list(self._members.values()):
            member.leave()
        self._producer.flush(self._timeout)
        self._readers.close()
        self._groups.close()
        self._meta.close()

    def _check(self) -> None:
        if not self._opened or self._closed:
            raise BusClosedError(f"The Kafka bus for {self.config.bootstrap} is not open.")

    # -- admin (see :mod:`.topics`) ---------------------------------------------------------

    def _partition_count(self, topic: str, refresh: bool = False) -> int:
        self._check()
        return self._topics.partition_count(topic, refresh)

    def _check_partition(self, topic: str, partition: int) -> None:
        self._check()
        self._topics.check_partition(topic, partition)

    def create_topic(
        self, name: str, partitions: int = 1, retention_ms: int = -1, retention_bytes: int = -1
    ) -> TopicInfo:
        self._check()
        return self._topics.create(name, partitions, retention_ms, retention_bytes)

    def delete_topic(self, name: str) -> None:
        self._check()
        self._topics.delete(name)

    def list_topics(self) -> list[str]:
        self._check()
        return self._topics.names()

    def topic_exists(self, name: str) -> bool:
        self._check()
        return self._topics.exists(name)

    def describe_topic(self, name: str) -> TopicInfo:
        self._check()
        return self._topics.describe(name)

    def set_retention(
        self, name: str, retention_ms: int | None = None, retention_bytes: int | None = None
    ) -> TopicInfo:
        self._check()
        return self._topics.set_retention(name, retention_ms, retention_bytes)

    def add_partitions(self, name: str, total: int) -> TopicInfo:
        self._check()
        return self._topics.add_partitions(name, total)

    # -- produce -----------------------------------------------------------------------------

    def produce(
        self, topic: str, partition: int | None, records: Records | Sequence[Record]
    ) -> ProduceResult:
        recs = self._as_records(records).as_lists()
        n = len(recs)
        if n == 0:
            return ProduceResult(topic, ())
        count = self._partition_count(topic)
        if partition is not None:
            self._check_partition(topic, partition)
            targets: list[int] = [partition] * n
        elif recs.keys is None or count == 1:
            targets = [self._keyless_partition(count)] * n
        else:
            targets = partition_keys(recs.keys, count, self._keyless_partition(count))
        acks: list[tuple[int, int, Any]] = [(-1, -1, None)] * n
        produce = self._producer.produce
        keys, ts, headers = recs.keys, recs.timestamps, recs.headers
        for i, value in enumerate(recs.values):

            def report(err: Any, msg: Any, i: int = i) -> None:
                acks[i] = (msg.partition(), msg.offset(), err)

            while True:
                try:
                    produce(
                        topic,
                        value=value,
                        key=None if keys is None else keys[i],
                        partition=targets[i],
                        on_delivery=report,
                        timestamp=ts if isinstance(ts, int) else (0 if ts is None else ts[i]),
                        headers=None if headers is None else list(headers[i]) or None,
                    )
                    break
                except BufferError:
                    self._producer.poll(0.05)  # the local queue is full: let deliveries drain
        remaining = self._producer.flush(self._timeout)
        if remaining:
            raise BusError(f"{remaining} records to {topic!r} were not acknowledged in time.")
        failed = [err for _, _, err in acks if err is not None]
        if failed:
            raise BusError(f"{len(failed)} of {n} records to {topic!r} failed: {failed[0].str()}.")
        return ProduceResult(topic, _spans(acks))

    # -- fetch and offsets -------------------------------------------------------------------

    def _watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        self._check()
        try:
            low, high = self._meta.get_watermark_offsets(
                KafkaTP(topic, partition), timeout=self._timeout, cached=False
            )
        except KafkaException as exc:
            raise_for(exc, f"Reading the offsets of {topic}-{partition}")
            raise
        return int(low), int(high)

    def fetch(
        self,
        topic: str,
        partition: int,
        offset: int,
        max_records: int = DEFAULT_FETCH_MAX_RECORDS,
        max_bytes: int = DEFAULT_FETCH_MAX_BYTES,
        wait_ms: int = 0,
    ) -> FetchResult:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}.")
        self._check_partition(topic, partition)
        low, high = self._watermarks(topic, partition)
        if offset >= high:
            high = self._true_end(topic, partition, low, high)
        if offset < low or offset > high:
            raise OffsetOutOfRangeError(
                f"Offset {offset} is out of range for {topic}-{partition}: the log holds "
                f"offsets {low}..{high - 1} (end {high})."
            )
        if offset == high and wait_ms <= 0:
            return FetchResult(topic, partition, (), offset, high, low)
        first_wait = self._timeout if offset < high else wait_ms / 1000
        reader = self._readers.get(topic, partition)
        with reader.lock:
            batches = reader.read(offset, max_records, max_bytes, first_wait)
        nxt = batches[-1].next_offset if batches else offset
        return FetchResult(topic, partition, tuple(batches), nxt, max(high, nxt), low)

    def _true_end(self, topic: str, partition: int, low: int, high: int) -> int:
        """The log end offset, checked by reading the last batch.

        Some Kafka-protocol brokers (tansu 0.6) answer ListOffsets(latest) with the last
        batch's *base* offset + 1; reading from ``high - 1`` to the end gives the true end
        (on Apache Kafka it reads one record and confirms ``high``).
        """
        if high <= low:
            return high
        end, at = high, high - 1
        reader = self._readers.get(topic, partition)
        with reader.lock:
            wait = self._timeout
            while True:
                batches = reader.read(at, 1_000_000, 64 << 20, wait)
                if not batches:
                    return end
                at = end = max(end, batches[-1].next_offset)
                wait = 0.05

    def earliest_offset(self, topic: str, partition: int) -> int:
        self._check_partition(topic, partition)
        return self._watermarks(topic, partition)[0]

    def latest_offset(self, topic: str, partition: int) -> int:
        self._check_partition(topic, partition)
        low, high = self._watermarks(topic, partition)
        return self._true_end(topic, partition, low, high)

    def offset_for_timestamp(self, topic: str, partition: int, timestamp_ms: int) -> int | None:
        self._check_partition(topic, partition)
        try:
            (found,) = self._meta.offsets_for_times(
                [KafkaTP(topic, partition, timestamp_ms)], timeout=self._timeout
            )
        except KafkaException as exc:
            raise_for(exc, f"Looking up a timestamp in {topic}-{partition}")
            raise
        return None if found.offset < 0 else int(found.offset)

    # -- groups ------------------------------------------------------------------------------

    def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        self._check()
        for tp, off in offsets.items():
            self._check_partition(tp.topic, tp.partition)
            if off < 0:
                raise ValueError(f"Cannot commit negative offset {off} for {tp}.")
        member = self._members.get(group)
        if member is not None and not member._left:
            member.commit(offsets)
        else:
            self._groups.commit(group, offsets)

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        self._check()
        return self._groups.committed(group, tp)

    def committed_offsets(self, group: str) -> dict[TopicPartition, int]:
        self._check()
        return self._groups.committed_offsets(group)

    def list_groups(self) -> list[str]:
        self._check()
        return self._groups.list_groups()

    def describe_group(self, group: str) -> GroupInfo:
        self._check()
        return self._groups.describe(group)

    def join_group(
        self,
        group: str,
        topics: Sequence[str],
        strategy: str = "range",
        session_timeout_ms: int = 10_000,
        client_id: str = "",
    ) -> GroupMember:
        self._check()
        for topic in topics:
            self._partition_count(topic, refresh=True)
        member = KafkaGroupMember(
            self.config, group, topics, strategy, max(session_timeout_ms, 6000), client_id
        )
        self._members[group] = member
        return member


def _spans(acks: list[tuple[int, int, Any]]) -> tuple[ProducedSpan, ...]:
    """Group per-record acks into spans of consecutive offsets on one partition."""
    spans: list[ProducedSpan] = []
    by_partition: dict[int, list[tuple[int, int]]] = {}
    for i, (p, off, _) in enumerate(acks):
        by_partition.setdefault(p, []).append((off, i))
    for p, items in sorted(by_partition.items()):
        items.sort()
        run: list[tuple[int, int]] = []
        for item in items:
            if run and item[0] != run[-1][0] + 1:
                spans.append(_span(p, run))
                run = []
            run.append(item)
        spans.append(_span(p, run))
    return tuple(spans)


def _span(partition: int, run: list[tuple[int, int]]) -> ProducedSpan:
    positions = tuple(i for _, i in run)
    if positions[-1] - positions[0] == len(positions) - 1:
        return ProducedSpan(partition, run[0][0], len(run), positions[0])
    return ProducedSpan(partition, run[0][0], len(run), positions[0], positions)
