"""Fetching one partition through confluent-kafka, as the bus protocol's ``fetch`` asks.

Each partition being read gets a :class:`PartitionReader`: a consumer *assigned* (not
subscribed) to that one partition, so reads never join a group. A reader remembers where its
consumer stands; a fetch at another offset re-assigns it there. Messages come back as the same
:class:`~sluice.bus.batch.RecordBatch` views as the local backends (one per run of consecutive
offsets), so consumers see one shape everywhere.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from confluent_kafka import Consumer, KafkaError
from confluent_kafka import TopicPartition as KafkaTP

from sluice.bus.batch import RecordBatch, Records
from sluice.bus.encode import encode_batch
from sluice.bus.errors import BusError, OffsetOutOfRangeError
from sluice.bus.kafka.config import KafkaConfig

__all__ = ["PartitionReader", "ReaderPool"]


def to_batches(messages: list[Any]) -> list[RecordBatch]:
    """Encode messages (in offset order) as batch views, cutting at offset gaps."""
    out: list[RecordBatch] = []
    run: list[Any] = []

    def flush() -> None:
        if not run:
            return
        keys = [m.key() for m in run]
        headers = [tuple(m.headers() or ()) for m in run]
        records = Records(
            values=[m.value() or b"" for m in run],
            keys=keys if any(k is not None for k in keys) else None,
            timestamps=[m.timestamp()[1] for m in run],
            headers=headers if any(headers) else None,
        )
        out.append(RecordBatch(encode_batch(records, run[0].offset())))
        run.clear()

    for m in messages:
        if run and m.offset() != run[-1].offset() + 1:
            flush()
        run.append(m)
    flush()
    return out


class PartitionReader:
    """One consumer reading one partition; calls are serialised by ``lock``."""

    def __init__(self, config: KafkaConfig, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.lock = threading.Lock()
        self._consumer = Consumer(
            config.client(
                **{
                    "group.id": f"sluice-reader-{uuid.uuid4().hex}",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "auto.offset.reset": "error",
                    "enable.partition.eof": False,
                    "fetch.wait.max.ms": 100,
                }
            )
        )
        self._position = -1

    def read(
        self, offset: int, max_records: int, max_bytes: int, first_wait_s: float
    ) -> list[RecordBatch]:
        """Messages from ``offset`` on: wait up to ``first_wait_s`` for the first one, then take
        what has already arrived, up to ``max_records`` / ``max_bytes``.
        """
        if offset != self._position:
            self._consumer.assign([KafkaTP(self.topic, self.partition, offset)])
            self._position = offset
        messages = self._consumer.consume(1, first_wait_s)
        if messages and max_records > 1:
            messages += self._consumer.consume(max_records - 1, 0)
        kept: list[Any] = []
        size = 0
        for m in messages:
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                self._position = -1
                if err.code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET):
                    raise OffsetOutOfRangeError(
                        f"Offset {offset} is out of range for {self.topic}-{self.partition}: "
                        f"{err.str()}."
                    )
                raise BusError(f"Fetching {self.topic}-{self.partition} failed: {err.str()}.")
            if kept and size + len(m.value() or b"") > max_bytes:
                break
            if int(m.offset() or 0) < offset:
                continue
            kept.append(m)
            size += len(m.value() or b"")
        if kept:
            nxt = int(kept[-1].offset() or 0) + 1
            last = messages[-1]
            last_seen = int(last.offset() or 0) + 1 if last.error() is None else -1
            self._position = nxt if last_seen == nxt else -1
        return to_batches(kept)

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()


class ReaderPool:
    """Up to ``size`` :class:`PartitionReader` objects, least recently used closed first."""

    def __init__(self, config: KafkaConfig, size: int = 64) -> None:
        self._config = config
        self._size = size
        self._lock = threading.Lock()
        self._readers: OrderedDict[tuple[str, int], PartitionReader] = OrderedDict()

    def get(self, topic: str, partition: int) -> PartitionReader:
        """The reader of ``topic``/``partition`` (created on first use)."""
        evicted: list[PartitionReader] = []
        with self._lock:
            key = (topic, partition)
            reader = self._readers.get(key)
            if reader is None:
                reader = self._readers[key] = PartitionReader(self._config, topic, partition)
            self._readers.move_to_end(key)
            while len(self._readers) > self._size:
                evicted.append(self._readers.popitem(last=False)[1])
        for old in evicted:
            with old.lock:
                old.close()
        return reader

    def drop_topic(self, topic: str) -> None:
        """Close the readers of a deleted topic."""
        with self._lock:
            keys = [k for k in self._readers if k[0] == topic]
            readers = [self._readers.pop(k) for k in keys]
        for reader in readers:
            with reader.lock:
                reader.close()

    def close(self) -> None:
        """Close every reader."""
        with self._lock:
            readers = list(self._readers.values())
            self._readers.clear()
        for reader in readers:
            with reader.lock:
                reader.close()
