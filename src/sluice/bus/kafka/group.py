"""Consumer-group membership on Kafka: the broker's group coordinator does the work.

A :class:`KafkaGroupMember` is a confluent-kafka consumer *subscribed* to the topics. It only
takes part in the group protocol: every assigned partition is paused at once, so its polls
never fetch records (data is read by the bus's :class:`~sluice.bus.kafka.fetch.ReaderPool`).
Commits of a group this process is a member of go through this consumer, so the broker
accepts them with the current generation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as KafkaTP

from sluice.bus.base import GroupMember
from sluice.bus.errors import GroupError
from sluice.bus.kafka.config import KafkaConfig
from sluice.bus.types import TopicPartition

__all__ = ["KafkaGroupMember"]


class KafkaGroupMember(GroupMember):
    """This process's member of a Kafka consumer group."""

    def __init__(
        self,
        config: KafkaConfig,
        group: str,
        topics: Sequence[str],
        strategy: str,
        session_timeout_ms: int,
        client_id: str,
    ) -> None:
        if strategy not in ("range", "roundrobin"):
            raise GroupError(f"Unknown assignment strategy {strategy!r}; known: range, roundrobin.")
        self.group = group
        self._lock = threading.RLock()
        self._assignment: list[TopicPartition] = []
        self._generation = 0
        self._left = False
        self._consumer = Consumer(
            config.client(
                **{
                    "group.id": group,
                    "client.id": client_id or config.client_id,
                    "partition.assignment.strategy": strategy,
                    "session.timeout.ms": session_timeout_ms,
                    "heartbeat.interval.ms": max(100, session_timeout_ms // 10),
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                }
            )
        )
        self._consumer.subscribe(list(topics), on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.member_id = ""

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self._assignment = sorted(TopicPartition(p.topic, p.partition) for p in partitions)
        self._generation += 1
        if partitions:
            consumer.pause(partitions)
        self.member_id = consumer.memberid() or self.member_id

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        self._assignment = []

    @property
    def generation(self) -> int:
        """Rebalances this member has seen (local count; Kafka keeps the real generation)."""
        return self._generation

    def poll(self, timeout_ms: int = 0) -> list[TopicPartition]:
        if self._left:
            raise GroupError(f"This member already left group {self.group!r}.")
        deadline = time.monotonic() + timeout_ms / 1000
        seen = self._generation
        with self._lock:
            while True:
                remaining = deadline - time.monotonic()
                msg = self._consumer.poll(max(0.0, min(remaining, 0.1)))
                err = None if msg is None else msg.error()
                if err is not None:
                    raise GroupError(f"Group {self.group!r} poll failed: {err.str()}.")
                if self._generation != seen or remaining <= 0:
                    return list(self._assignment)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit through this member (accepted by the broker for the current generation)."""
        with self._lock:
            self._consumer.commit(
                offsets=[KafkaTP(tp.topic, tp.partition, off) for tp, off in offsets.items()],
                asynchronous=False,
            )

    def leave(self) -> None:
        with self._lock:
            if not self._left:
                self._left = True
                self._assignment = []
                self._consumer.close()
