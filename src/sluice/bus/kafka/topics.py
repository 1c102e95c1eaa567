"""Topics on Kafka through the ``AdminClient``: create, delete, list, describe, retention,
partitions; and the mapping of client errors to the bus's own.

Who uses it: :class:`~sluice.bus.kafka.bus.KafkaBus` builds one :class:`TopicAdmin` in
``open`` and answers its topic methods with it; it also asks it for partition counts (cached,
refreshed when a partition looks out of range) before produce and fetch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from sluice.bus.errors import (
    BusError,
    PartitionNotFoundError,
    TopicExistsError,
    TopicNotFoundError,
    UnsupportedOperationError,
)
from sluice.bus.local import validate_topic_name
from sluice.bus.types import PartitionInfo, TopicInfo

__all__ = ["TopicAdmin", "raise_for"]

Watermarks = Callable[[str, int], tuple[int, int]]
"""``(topic, partition) -> (low, high)`` as the broker reports them."""
TrueEnd = Callable[[str, int, int, int], int]
"""``(topic, partition, low, high) -> end``: the offset after the last readable record."""


def raise_for(exc: KafkaException, what: str) -> None:
    """Raise the bus error that ``exc`` means (``what`` names the failed operation).

    Raises:
        TopicExistsError, TopicNotFoundError, UnsupportedOperationError, BusError: always.
    """
    err = exc.args[0] if exc.args else None
    code = err.code() if isinstance(err, KafkaError) else None
    text = err.str() if isinstance(err, KafkaError) else str(exc)
    if code == KafkaError.TOPIC_ALREADY_EXISTS:
        raise TopicExistsError(f"{what}: the topic already exists.") from exc
    if code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
        raise TopicNotFoundError(f"{what}: the topic does not exist.") from exc
    if code in (KafkaError._UNSUPPORTED_FEATURE, KafkaError.UNSUPPORTED_VERSION):
        raise UnsupportedOperationError(f"{what}: the broker does not support it ({text}).")
    raise BusError(f"{what} failed: {text}.") from exc


class TopicAdmin:
    """The topic operations of a Kafka bus, over its ``AdminClient``.

    ``watermarks`` and ``true_end`` read offsets for :meth:`describe` (the bus's consumers);
    ``dropped`` is told about every deleted topic (the bus drops its readers of it).
    """

    def __init__(
        self,
        admin: Any,
        timeout_s: float,
        watermarks: Watermarks,
        true_end: TrueEnd,
        dropped: Callable[[str], None],
    ) -> None:
        self._admin = admin
        self._timeout = timeout_s
        self._watermarks = watermarks
        self._true_end = true_end
        self._dropped = dropped
        self._partitions: dict[str, int] = {}

    def metadata(self, topic: str | None = None) -> Any:
        """Cluster metadata. Always asks for *all* topics: brokers with auto-create (tansu
        does it unconditionally) would create a topic that a single-topic request names."""
        try:
            return self._admin.list_topics(timeout=self._timeout)
        except KafkaException as exc:
            raise_for(exc, f"Reading metadata of {topic or 'the cluster'}")
            raise

    def partition_count(self, topic: str, refresh: bool = False) -> int:
        """Partitions of ``topic`` (cached unless ``refresh``); raises TopicNotFoundError."""
        count = None if refresh else self._partitions.get(topic)
        if count is None:
            meta = self.metadata(topic).topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                raise TopicNotFoundError(f"Topic {topic!r} does not exist.")
            count = self._partitions[topic] = len(meta.partitions)
        return count

    def check_partition(self, topic: str, partition: int) -> None:
        """Raise PartitionNotFoundError unless ``partition`` exists (the cache is refreshed
        once before saying no: partitions may have been added elsewhere)."""
        count = self.partition_count(topic)
        if not 0 <= partition < count:
            count = self.partition_count(topic, refresh=True)
        if not 0 <= partition < count:
            raise PartitionNotFoundError(
                f"Topic {topic!r} has partitions 0..{count - 1}; {partition} is not one."
            )

    def create(
        self, name: str, partitions: int, retention_ms: int, retention_bytes: int
    ) -> TopicInfo:
        """See :meth:`sluice.bus.base.Bus.create_topic`."""
        validate_topic_name(name)
        if partitions < 1:
            raise ValueError(f"A topic needs at least one partition, not {partitions}.")
        conf = {"retention.ms": str(retention_ms), "retention.bytes": str(retention_bytes)}
        future = self._admin.create_topics([NewTopic(name, partitions, 1, config=conf)])[name]
        try:
            future.result(self._timeout)
        except KafkaException as exc:
            raise_for(exc, f"Creating topic {name!r}")
        self._partitions[name] = partitions
        return self.describe(name)

    def delete(self, name: str) -> None:
        """See :meth:`sluice.bus.base.Bus.delete_topic`."""
        self.partition_count(name, refresh=True)
        try:
            self._admin.delete_topics([name])[name].result(self._timeout)
        except KafkaException as exc:
            raise_for(exc, f"Deleting topic {name!r}")
        self._partitions.pop(name, None)
        self._dropped(name)

    def names(self) -> list[str]:
        """Topic names, the broker's internal ``__`` topics left out."""
        topics = self.metadata().topics
        return sorted(t for t in topics if not t.startswith("__"))

    def exists(self, name: str) -> bool:
        """Whether ``name`` exists."""
        meta = self.metadata().topics.get(name)
        return meta is not None and meta.error is None

    def _retention(self, name: str) -> tuple[int, int]:
        resource = ConfigResource("topic", name)
        try:
            entries = self._admin.describe_configs([resource])[resource].result(self._timeout)
        except KafkaException:
            return -1, -1

        def value(key: str) -> int:
            entry = entries.get(key)
            return int(entry.value) if entry is not None and entry.value is not None else -1

        return value("retention.ms"), value("retention.bytes")

    def describe(self, name: str) -> TopicInfo:
        """See :meth:`sluice.bus.base.Bus.describe_topic`."""
        count = self.partition_count(name, refresh=True)
        parts = []
        for p in range(count):
            low, high = self._watermarks(name, p)
            parts.append(PartitionInfo(p, low, self._true_end(name, p, low, high)))
        retention_ms, retention_bytes = self._retention(name)
        return TopicInfo(name, tuple(parts), retention_ms, retention_bytes)

    def set_retention(
        self, name: str, retention_ms: int | None, retention_bytes: int | None
    ) -> TopicInfo:
        """See :meth:`sluice.bus.base.Bus.set_retention`."""
        self.partition_count(name, refresh=True)
        entries = [
            ConfigEntry(key, str(value), incremental_operation=AlterConfigOpType.SET)
            for key, value in (("retention.ms", retention_ms), ("retention.bytes", retention_bytes))
            if value is not None
        ]
        if entries:
            resource = ConfigResource("topic", name, incremental_configs=entries)
            try:
                self._admin.incremental_alter_configs([resource])[resource].result(self._timeout)
            except KafkaException as exc:
                raise_for(exc, f"Changing the retention of {name!r}")
        return self.describe(name)

    def add_partitions(self, name: str, total: int) -> TopicInfo:
        """See :meth:`sluice.bus.base.Bus.add_partitions`."""
        current = self.partition_count(name, refresh=True)
        if total <= current:
            raise ValueError(
                f"Topic {name!r} has {current} partitions; the count can only grow, so {total} "
                "is not allowed."
            )
        try:
            self._admin.create_partitions([NewPartitions(name, total)])[name].result(self._timeout)
        except KafkaException as exc:
            raise_for(exc, f"Adding partitions to {name!r}")
        self._partitions[name] = total
        return self.describe(name)
