"""The ``sluice`` input: read a bus topic (a result table is ``table_{rt_id}``).

Records are JSON objects (a non-object value becomes a ``message`` tagged
``_jsonparsefailure``). The consumer group (``consumer_group``, default
``pipeline_<name>_<input id>``) starts per ``consuming_mode`` and commits each batch's next
offset after the batch is durable in the pipeline's input topic (at-least-once).
"""

from __future__ import annotations

from sluice.bus import OffsetOutOfRangeError, TopicPartition
from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs import parse_event
from sluice.plugins.inputs.base import Event, Input

__all__ = ["SluiceInput"]


class SluiceInput(Input):
    """One thread reading every partition of the topic in turn."""

    def open(self) -> None:
        if self.ctx.bus is None:
            raise ConfigError("sluice input needs a bus")
        self.bus = self.ctx.bus
        self.topic = str(self.settings.topic)
        if not self.bus.topic_exists(self.topic):
            raise ConfigError(f"sluice input: topic {self.topic!r} does not exist")
        self.group = self.settings.consumer_group or f"pipeline_{self.ctx.pipeline}_{self.node.id}"

    def _start(self, partition: int) -> int:
        committed = self.bus.committed(self.group, TopicPartition(self.topic, partition))
        mode = self.settings.consuming_mode
        if committed is not None and mode == "continue":
            return committed
        if mode == "from_tail":
            return self.bus.latest_offset(self.topic, partition)
        return self.bus.earliest_offset(self.topic, partition)

    def _run(self) -> None:
        partitions = self.bus.describe_topic(self.topic).partition_count
        offsets = {p: self._start(p) for p in range(partitions)}
        while not self.stopping.is_set():
            got = 0
            for p in range(partitions):
                try:
                    result = self.bus.fetch(self.topic, p, offsets[p], max_records=1000, wait_ms=0)
                except OffsetOutOfRangeError:
                    offsets[p] = self.bus.earliest_offset(self.topic, p)
                    continue
                events: list[Event] = []
                last = None
                for record in result.records():
                    events.extend(parse_event(record.value))
                    last = record.offset
                if last is None:
                    continue
                self.emit(events)
                offsets[p] = last + 1
                self.bus.commit(self.group, {TopicPartition(self.topic, p): offsets[p]})
                got += len(events)
            if got == 0:
                self.stopping.wait(0.2)
