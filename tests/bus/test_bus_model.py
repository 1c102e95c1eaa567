"""A hypothesis state machine: the bus against a reference model of Kafka's offset semantics.

The model is a list of values per partition, a log start offset per partition (raised only by
retention), and a dict of committed offsets. Rules append, fetch, commit, apply retention and
reopen the bus; after each step earliest/latest must match the model and every fetch must
return exactly the model's records from the asked offset.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from sluice.bus import (
    Bus,
    EmbeddedBus,
    EmbeddedConfig,
    MemoryBus,
    OffsetOutOfRangeError,
    Records,
    TopicPartition,
)

PARTITIONS = 2
values_st = st.lists(st.binary(max_size=40), min_size=1, max_size=6)


class BusModel(RuleBasedStateMachine):
    """Subclasses choose the backend through :meth:`make_bus`."""

    kind = "memory"
    bootstrap = ""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="sluice-model-"))
        self.topic = f"m-{uuid.uuid4().hex[:10]}"
        self.bus = self.make_bus()
        self.bus.create_topic(self.topic, partitions=PARTITIONS)
        self.log: list[list[bytes]] = [[] for _ in range(PARTITIONS)]
        self.start = [0] * PARTITIONS
        self.commits: dict[tuple[str, int], int] = {}

    def make_bus(self) -> Bus:
        if self.kind == "memory":
            return MemoryBus()
        if self.kind == "embedded":
            config = EmbeddedConfig(path=self.dir, fsync="os", segment_bytes=4096)
            return EmbeddedBus(config).open()
        from sluice.bus.kafka import KafkaBus, KafkaConfig

        return KafkaBus(KafkaConfig(bootstrap=self.bootstrap, timeout_ms=10_000)).open()

    def teardown(self) -> None:
        self.bus.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @initialize()
    def nothing(self) -> None:
        pass

    @rule(partition=st.integers(0, PARTITIONS - 1), values=values_st, spread=st.booleans())
    def produce(self, partition: int, values: list[bytes], spread: bool) -> None:
        # spread: a few batches of one value each, else one batch
        chunks = [[v] for v in values] if spread else [values]
        for chunk in chunks:
            placed = self.bus.produce(self.topic, partition, Records(chunk)).offsets()
            end = len(self.log[partition])
            assert placed == [(partition, end + i) for i in range(len(chunk))]
            self.log[partition] += chunk

    @rule(
        partition=st.integers(0, PARTITIONS - 1),
        back=st.integers(0, 30),
        max_records=st.integers(1, 50),
    )
    def fetch(self, partition: int, back: int, max_records: int) -> None:
        end = len(self.log[partition])
        offset = max(self.start[partition], end - back)
        result = self.bus.fetch(self.topic, partition, offset, max_records=max_records)
        got = result.values()
        assert 0 < len(got) <= max_records or offset == end
        assert got == self.log[partition][offset : offset + len(got)]
        assert [r.offset for r in result.records()] == list(range(offset, offset + len(got)))
        assert result.next_offset == offset + len(got)

    @rule(partition=st.integers(0, PARTITIONS - 1), past=st.integers(1, 5))
    def fetch_past_the_end_fails(self, partition: int, past: int) -> None:
        with pytest.raises(OffsetOutOfRangeError):
            self.bus.fetch(self.topic, partition, len(self.log[partition]) + past)

    @rule(
        group=st.sampled_from(["ga", "gb"]),
        partition=st.integers(0, PARTITIONS - 1),
        data=st.data(),
    )
    def commit(self, group: str, partition: int, data: Any) -> None:
        offset = data.draw(st.integers(0, len(self.log[partition])))
        self.bus.commit(group, {TopicPartition(self.topic, partition): offset})
        self.commits[(group, partition)] = offset

    @precondition(lambda self: self.kind != "kafka")
    @rule(partition=st.integers(0, PARTITIONS - 1), keep=st.integers(0, 3000))
    def retention(self, partition: int, keep: int) -> None:
        assert isinstance(self.bus, MemoryBus | EmbeddedBus)
        self.bus.set_retention(self.topic, retention_bytes=keep)
        self.bus.set_retention(self.topic, retention_bytes=-1)
        for p in range(PARTITIONS):
            new_start = self.bus.earliest_offset(self.topic, p)
            assert self.start[p] <= new_start <= len(self.log[p])
            self.start[p] = new_start

    @rule()
    def reopen(self) -> None:
        if self.kind == "memory":
            return
        self.bus.close()
        self.bus = self.make_bus()

    @invariant()
    def offsets_match(self) -> None:
        for p in range(PARTITIONS):
            assert self.bus.earliest_offset(self.topic, p) == self.start[p]
            assert self.bus.latest_offset(self.topic, p) == len(self.log[p])
        for (group, p), offset in self.commits.items():
            assert self.bus.committed(group, TopicPartition(self.topic, p)) == offset


class MemoryModel(BusModel):
    kind = "memory"


class EmbeddedModel(BusModel):
    kind = "embedded"


class KafkaModel(BusModel):
    kind = "kafka"


fast = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


TestMemoryModel = MemoryModel.TestCase
TestMemoryModel.settings = fast
TestEmbeddedModel = EmbeddedModel.TestCase
TestEmbeddedModel.settings = fast


def test_kafka_backend_follows_the_model(tansu: Any) -> None:
    KafkaModel.bootstrap = tansu.bootstrap
    run_state_machine_as_test(
        KafkaModel,
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
