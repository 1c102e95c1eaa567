"""Sluice's bus: a Kafka-style partitioned log (protocol in :mod:`sluice.bus.base`).

Backends: :class:`MemoryBus` (tests), :class:`EmbeddedBus` (default; segment files under the
data dir) and :class:`KafkaBus` (confluent-kafka, scale-out). :func:`open_bus` picks one from
a data dir or a bootstrap address. See ``docs/bus.md``.
"""

from __future__ import annotations

from pathlib import Path

from sluice.bus.base import Bus, GroupMember
from sluice.bus.batch import ConsumedRecord, Headers, Record, RecordBatch, Records
from sluice.bus.embedded import EmbeddedBus, EmbeddedConfig
from sluice.bus.errors import (
    BusClosedError,
    BusError,
    CorruptBatchError,
    GroupError,
    OffsetOutOfRangeError,
    PartitionNotFoundError,
    ReadOnlyBusError,
    TopicExistsError,
    TopicNotFoundError,
    UnsupportedOperationError,
    WriterLockedError,
)
from sluice.bus.memory import MemoryBus
from sluice.bus.types import (
    FetchResult,
    GroupInfo,
    MemberInfo,
    PartitionInfo,
    ProducedSpan,
    ProduceResult,
    TopicInfo,
    TopicPartition,
)

__all__ = [
    "Bus",
    "BusClosedError",
    "BusError",
    "ConsumedRecord",
    "CorruptBatchError",
    "EmbeddedBus",
    "EmbeddedConfig",
    "FetchResult",
    "GroupError",
    "GroupInfo",
    "GroupMember",
    "Headers",
    "MemberInfo",
    "MemoryBus",
    "OffsetOutOfRangeError",
    "PartitionInfo",
    "PartitionNotFoundError",
    "ProduceResult",
    "ProducedSpan",
    "ReadOnlyBusError",
    "Record",
    "RecordBatch",
    "Records",
    "TopicExistsError",
    "TopicInfo",
    "TopicNotFoundError",
    "TopicPartition",
    "UnsupportedOperationError",
    "WriterLockedError",
    "open_bus",
]


def open_bus(
    data_dir: str | Path | None = None,
    bootstrap: str | None = None,
    read_only: bool = False,
) -> Bus:
    """Open the Kafka backend when ``bootstrap`` is given, else the embedded log at ``data_dir``.

    ``read_only`` opens the embedded log without the writer lock (ignored for Kafka).
    """
    if bootstrap:
        from sluice.bus.kafka import KafkaBus, KafkaConfig

        return KafkaBus(KafkaConfig(bootstrap=bootstrap)).open()
    if data_dir is None:
        raise ValueError("open_bus needs a data_dir or a bootstrap address.")
    return EmbeddedBus(EmbeddedConfig(path=Path(data_dir), read_only=read_only)).open()
