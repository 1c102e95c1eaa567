"""The task loop reads ahead for stateful processors too, without ever letting them see
read-ahead records as processed: checkpoint positions follow processed batches only, the
watched lag counts every unprocessed record, and ``prepare`` runs on its own thread.

Over a real embedded bus; the processor is a recording double of a windowed one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path

import orjson
import pytest

from sluice.bus import Records, TopicPartition, open_bus
from sluice.runtime.engine import NodeTask
from sluice.runtime.metrics import MetricsRegistry
from sluice.runtime.tasks.batch import BatchResult, MicroBatch
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.loop import TaskLoop
from sluice.runtime.tasks.settings import RuntimeSettings
from sluice.runtime.tasks.topics import ensure_topic, rt_topic
from sluice.testing import wait_until

RT = "1_read_ahead_in"
PARTITIONS = 2
PER_PARTITION = 400


class RecordingStateful:
    """Implements the loop's StatefulProcessor and Preparing hooks and records what the
    loop showed it at each call."""

    dead_letter_rt = "1_read_ahead_out_dlq"
    follows_consuming_mode = True
    file_storage = False
    tick_interval_s = 0.05

    def __init__(self) -> None:
        self.inputs = [RT]
        self.lag: Mapping[TopicPartition, int] = {}
        self.processed: dict[TopicPartition, int] = {}
        self.prepared_on: set[str] = set()
        self.unaccounted: list[str] = []
        self.ahead_of_processing: list[str] = []
        self.final: dict[TopicPartition, int] | None = None
        self.records = 0
        self.unprepared = 0
        self.latest: dict[TopicPartition, int] = {}

    def watch_lag(self, lag: Mapping[TopicPartition, int]) -> None:
        self.lag = lag

    def start_positions(
        self, mode: str, positions: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        self.processed = dict(positions)
        return positions

    def prepare(self, batch: MicroBatch) -> None:
        batch.prepared = threading.current_thread().name
        self.prepared_on.add(threading.current_thread().name)

    def process(self, batch: MicroBatch) -> BatchResult:
        if not isinstance(batch.prepared, str):
            self.unprepared += 1
        # Every record not processed before this batch must still count as lag, even when
        # the loop has already fetched the next batch.
        for tp, latest in self.latest.items():
            if self.lag.get(tp, 0) + self.processed[tp] < latest:
                self.unaccounted.append(
                    f"{tp}: lag {self.lag.get(tp, 0)}, processed {self.processed[tp]}"
                )
        for span in batch.inputs[RT].spans:
            tp = TopicPartition(rt_topic(RT), span.partition)
            self.processed[tp] = max(self.processed[tp], span.base_offset + span.count)
        self.records += batch.count
        time.sleep(0.01)  # give the fetch thread time to read the next batch ahead
        return BatchResult()

    def tick(self) -> BatchResult:
        return BatchResult()

    def after_batch(self, positions: Mapping[TopicPartition, int]) -> None:
        for tp, position in positions.items():
            if position > self.processed[tp]:
                self.ahead_of_processing.append(f"{tp}: {position} > {self.processed[tp]}")

    def finish(self, positions: Mapping[TopicPartition, int]) -> None:
        self.final = dict(positions)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("prefetch", [True, False])
def test_stateful_read_ahead_keeps_checkpoints_and_lag_exact(
    tmp_path: Path, prefetch: bool
) -> None:
    bus = open_bus(data_dir=tmp_path / "bus")
    try:
        topic = rt_topic(RT)
        ensure_topic(bus, topic, PARTITIONS)
        for partition in range(PARTITIONS):
            for start in range(0, PER_PARTITION, 50):
                values = [orjson.dumps({"i": i}) for i in range(start, start + 50)]
                bus.produce(topic, partition, Records(values=values))
        settings = RuntimeSettings(
            data_dir=tmp_path / "data",
            partitions=PARTITIONS,
            batch_records=40,
            prefetch=prefetch,
        )
        ctx = TaskContext(
            bus=bus, settings=settings, metrics=MetricsRegistry(), schema_of=lambda rt: []
        )
        task = NodeTask(
            flow_id=1,
            node_id=2,
            node_type="realtime",
            name="read_ahead",
            config={},
            inputs=[RT],
            outputs=[],
            consuming_mode="from_head",
        )
        processor = RecordingStateful()
        processor.latest = {
            TopicPartition(topic, p): bus.latest_offset(topic, p) for p in range(PARTITIONS)
        }
        loop = TaskLoop(ctx, task, processor)
        loop.start()
        wait_until(
            lambda: processor.records == PARTITIONS * PER_PARTITION or not loop.alive,
            timeout=60,
            what="every record processed",
        )
        loop.stop()
        assert loop.error is None
        assert processor.records == PARTITIONS * PER_PARTITION
        assert processor.unaccounted == []
        assert processor.ahead_of_processing == []
        assert processor.final == processor.latest
        if prefetch:  # every batch was prepared ahead, on the prepare thread
            assert processor.unprepared == 0
            assert processor.prepared_on
            assert all(name.startswith("sluice-prepare") for name in processor.prepared_on)
        committed = {tp: bus.committed("sluice_flow1_node2", tp) for tp in processor.latest}
        assert committed == processor.latest
    finally:
        bus.close()
