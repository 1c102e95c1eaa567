"""The ``kafka`` input: consume topics of a Kafka cluster, or of the pipeline's own bus.

Kafka (``bootstrap_servers => "host:port,..."``): a confluent-kafka consumer in group
``group_id`` subscribes to ``topics`` (or ``topics_pattern``, a regex); a group without
committed offsets starts per ``auto_offset_reset`` (``earliest``, ``latest`` - the default,
as in Logstash - or ``none``: an error). Each poll takes up to ``max_poll_records``
messages; their values are decoded by the codec (default ``plain``: the value is the
``message``), emitted, and only once they are durable in the pipeline's input topic are
the offsets committed (synchronously), so a crash replays at most one poll (at-least-once).
``enable_auto_commit`` is accepted, but commits always follow durability.

The bus (``bootstrap_servers => "bus"``, a Sluice extension): the same over topics of the
bus the pipeline runs on (the embedded log, or Kafka via ``--bootstrap``), with the group's
offsets stored on that bus; ``topics_pattern`` is not supported there.

``decorate_events => basic`` (or ``extended``) adds ``[@metadata][kafka]``: ``topic``,
``partition``, ``offset``, ``key``, ``timestamp``, ``consumer_group``. Only
``security_protocol => PLAINTEXT`` is supported; ``consumer_threads`` is accepted (one
consumer thread per input).
"""

from __future__ import annotations

import logging
from typing import Any

from sluice.bus import OffsetOutOfRangeError, TopicPartition
from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs import make_codec
from sluice.plugins.inputs.base import Event, Input

__all__ = ["KafkaInput"]

log = logging.getLogger(__name__)
BUS = "bus"


class KafkaInput(Input):
    """One consumer thread (Kafka or the bus, see the module doc)."""

    consumer: Any = None
    positions: dict[TopicPartition, int] | None = None
    """Bus mode: the next offset to read of each partition, once the thread has started."""

    def open(self) -> None:
        s = self.settings
        self.codec = make_codec(s.codec, "plain")
        reset = s.auto_offset_reset or "latest"
        if reset not in ("earliest", "latest", "none"):
            raise ConfigError(f"kafka input: auto_offset_reset {reset!r} is not one of "
                              "earliest, latest, none")  # fmt: skip
        if s.security_protocol != "PLAINTEXT":
            raise ConfigError("kafka input: only security_protocol => PLAINTEXT is supported")
        if s.decorate_events not in ("none", "basic", "extended", "false", "true"):
            raise ConfigError(f"kafka input: decorate_events {s.decorate_events!r} is not "
                              "none, basic or extended")  # fmt: skip
        self.reset = reset
        self.decorate = s.decorate_events not in ("none", "false")
        self.on_bus = s.bootstrap_servers == BUS
        if self.on_bus:
            if self.ctx.bus is None:
                raise ConfigError("kafka input: bootstrap_servers => bus needs a bus")
            if s.topics_pattern:
                raise ConfigError("kafka input: topics_pattern is not supported on the bus")
            for topic in s.topics:
                if not self.ctx.bus.topic_exists(topic):
                    raise ConfigError(f"kafka input: topic {topic!r} does not exist on the bus")
            return
        from confluent_kafka import Consumer

        self.consumer = Consumer({
            "bootstrap.servers": s.bootstrap_servers,
            "group.id": s.group_id,
            "client.id": s.client_id,
            "auto.offset.reset": "error" if reset == "none" else reset,
            "enable.auto.commit": False,
            "session.timeout.ms": s.session_timeout_ms,
        })  # fmt: skip
        topics = [f"^{s.topics_pattern}"] if s.topics_pattern else list(s.topics)
        self.consumer.subscribe(topics)

    def _events(self, value: bytes | None, meta: dict[str, Any]) -> list[Event]:
        decoder = self.codec.decoder()
        events = decoder.feed(value or b"") + decoder.flush()
        if self.decorate:
            for event in events:
                event.setdefault("@metadata", {})["kafka"] = dict(meta)
        return events

    def _run(self) -> None:
        if self.on_bus:
            self._run_bus()
            return
        s = self.settings
        try:
            while not self.stopping.is_set():
                messages = self.consumer.consume(num_messages=s.max_poll_records, timeout=0.2)
                events: list[Event] = []
                for msg in messages:
                    if msg.error():
                        if msg.error().fatal():
                            raise RuntimeError(f"kafka input: {msg.error()}")
                        log.warning("Kafka input %s: %s", self.node.id, msg.error())
                        continue
                    key = msg.key()
                    meta = {
                        "topic": msg.topic(), "partition": msg.partition(),
                        "offset": msg.offset(), "timestamp": msg.timestamp()[1],
                        "key": key.decode("utf-8", "replace") if key else None,
                        "consumer_group": s.group_id,
                    }  # fmt: skip
                    events.extend(self._events(msg.value(), meta))
                if not messages:
                    continue
                self.emit(events)
                self.consumer.commit(asynchronous=False)
        finally:
            self.consumer.close()

    def _start(self, tp: TopicPartition) -> int:
        bus = self.ctx.bus
        assert bus is not None
        committed = bus.committed(self.settings.group_id, tp)
        if committed is not None:
            return committed
        if self.reset == "none":
            raise RuntimeError(f"kafka input: group {self.settings.group_id} has no offset "
                               f"on {tp.topic}[{tp.partition}] and auto_offset_reset is none")  # fmt: skip
        if self.reset == "earliest":
            return bus.earliest_offset(tp.topic, tp.partition)
        return bus.latest_offset(tp.topic, tp.partition)

    def _run_bus(self) -> None:
        bus = self.ctx.bus
        assert bus is not None
        s = self.settings
        offsets: dict[TopicPartition, int] = {}
        for topic in s.topics:
            for p in range(bus.describe_topic(topic).partition_count):
                tp = TopicPartition(topic, p)
                offsets[tp] = self._start(tp)
        self.positions = offsets
        while not self.stopping.is_set():
            got = 0
            for tp, offset in list(offsets.items()):
                try:
                    result = bus.fetch(tp.topic, tp.partition, offset, s.max_poll_records)
                except OffsetOutOfRangeError:
                    offsets[tp] = bus.earliest_offset(tp.topic, tp.partition)
                    continue
                events: list[Event] = []
                last = None
                for r in result.records():
                    meta = {
                        "topic": tp.topic, "partition": tp.partition, "offset": r.offset,
                        "timestamp": r.timestamp, "consumer_group": s.group_id,
                        "key": r.key.decode("utf-8", "replace") if r.key else None,
                    }  # fmt: skip
                    events.extend(self._events(r.value, meta))
                    last = r.offset
                if last is None:
                    continue
                self.emit(events)
                offsets[tp] = last + 1
                bus.commit(s.group_id, {tp: last + 1})
                got += 1
            if got == 0:
                self.stopping.wait(0.2)
