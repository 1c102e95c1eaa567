"""Committed offsets and group descriptions on Kafka (for groups this process is not in).

Commits use a plain consumer of the group that never subscribes (generation ``-1``), which the
broker accepts while the group has no active members; a process that is a member commits
through its :class:`~sluice.bus.kafka.group.KafkaGroupMember` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka import TopicPartition as KafkaTP

from sluice.bus.errors import BusError
from sluice.bus.kafka.config import KafkaConfig
from sluice.bus.types import GroupInfo, MemberInfo, TopicPartition

__all__ = ["GroupAdmin"]


class GroupAdmin:
    """Offsets and descriptions of consumer groups through the admin API and consumers."""

    def __init__(self, config: KafkaConfig, admin: Any, latest: Callable[[str, int], int]) -> None:
        self._config = config
        self._admin = admin
        self._latest = latest
        self._timeout = config.timeout_ms / 1000
        self._lock = threading.Lock()
        self._consumers: dict[str, Any] = {}

    def _consumer(self, group: str) -> Any:
        with self._lock:
            consumer = self._consumers.get(group)
            if consumer is None:
                consumer = self._consumers[group] = Consumer(
                    self._config.client(**{"group.id": group, "enable.auto.commit": False})
                )
            return consumer

    def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit ``offsets`` for ``group`` and wait for the broker's answer."""
        parts = [KafkaTP(tp.topic, tp.partition, off) for tp, off in offsets.items()]
        try:
            result = self._consumer(group).commit(offsets=parts, asynchronous=False)
        except KafkaException as exc:
            raise BusError(f"Committing offsets of group {group!r} failed: {exc}.") from exc
        for tp in result or ():
            if tp.error is not None:
                raise BusError(f"Committing {tp.topic}-{tp.partition} for {group!r}: {tp.error}.")

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        """The committed offset, or ``None``."""
        try:
            (found,) = self._consumer(group).committed(
                [KafkaTP(tp.topic, tp.partition)], timeout=self._timeout
            )
        except KafkaException as exc:
            raise BusError(f"Reading offsets of group {group!r} failed: {exc}.") from exc
        return None if found.offset < 0 else int(found.offset)

    def committed_offsets(self, group: str) -> dict[TopicPartition, int]:
        """Every committed offset of ``group``."""
        request = [ConsumerGroupTopicPartitions(group)]
        try:
            result = self._admin.list_consumer_group_offsets(request)[group].result(self._timeout)
        except KafkaException as exc:
            raise BusError(f"Listing offsets of group {group!r} failed: {exc}.") from exc
        return {
            TopicPartition(tp.topic, tp.partition): int(tp.offset)
            for tp in result.topic_partitions or ()
            if tp.offset >= 0 and tp.error is None
        }

    def list_groups(self) -> list[str]:
        """Every group the cluster knows, sorted."""
        try:
            result = self._admin.list_consumer_groups().result(self._timeout)
        except KafkaException as exc:
            raise BusError(f"Listing consumer groups failed: {exc}.") from exc
        return sorted(g.group_id for g in result.valid if not g.group_id.startswith("sluice-"))

    def describe(self, group: str) -> GroupInfo:
        """State, members and committed offsets (with lag) of ``group``."""
        try:
            desc = self._admin.describe_consumer_groups([group])[group].result(self._timeout)
        except KafkaException as exc:
            raise BusError(f"Describing group {group!r} failed: {exc}.") from exc
        members = tuple(
            MemberInfo(
                m.member_id,
                m.client_id,
                m.host,
                tuple(
                    TopicPartition(tp.topic, tp.partition)
                    for tp in (m.assignment.topic_partitions if m.assignment else ())
                ),
            )
            for m in desc.members or ()
        )
        offsets = self.committed_offsets(group)
        lag = {
            tp: max(self._latest(tp.topic, tp.partition) - off, 0) for tp, off in offsets.items()
        }
        state = getattr(desc.state, "name", str(desc.state)).title()
        return GroupInfo(
            group=group,
            state="Empty" if state == "Unknown" and not members else state,
            protocol=desc.partition_assignor or "",
            members=members,
            offsets=offsets,
            lag=lag,
        )

    def close(self) -> None:
        """Close the committing consumers."""
        with self._lock:
            consumers = list(self._consumers.values())
            self._consumers.clear()
        for consumer in consumers:
            consumer.close()
