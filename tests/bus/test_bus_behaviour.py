"""The behaviour suite: Kafka's semantics, checked on every backend (memory, embedded, Kafka)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from sluice.bus import (
    Bus,
    OffsetOutOfRangeError,
    PartitionNotFoundError,
    Record,
    Records,
    TopicExistsError,
    TopicNotFoundError,
    TopicPartition,
)
from sluice.bus.partitioner import partition_for_key


def test_topic_admin(bus: Bus, topic: str) -> None:
    info = bus.create_topic(topic, partitions=3, retention_ms=86_400_000)
    assert info.name == topic
    assert [p.partition for p in info.partitions] == [0, 1, 2]
    assert all(p.earliest == p.latest == 0 for p in info.partitions)
    assert info.retention_ms == 86_400_000
    assert topic in bus.list_topics()
    with pytest.raises(TopicExistsError):
        bus.create_topic(topic, partitions=1)
    bus.delete_topic(topic)
    assert topic not in bus.list_topics()
    with pytest.raises(TopicNotFoundError):
        bus.describe_topic(topic)
    with pytest.raises(TopicNotFoundError):
        bus.delete_topic(topic)


@pytest.mark.parametrize("name", ["", "a b", "x/y", "..", "é"])
def test_bad_topic_names_are_refused(bus: Bus, name: str) -> None:
    with pytest.raises(ValueError, match="Invalid topic name"):
        bus.create_topic(name)


def test_produce_and_fetch_round_trip(bus: Bus, topic: str) -> None:
    bus.create_topic(topic, partitions=2)
    records = [
        Record(b"v0", key=b"k0", timestamp=1_000, headers=(("h", b"1"),)),
        Record(b"", key=None, timestamp=1_001),
        Record(b"v2" * 100, key=b"k2", timestamp=999),
    ]
    result = bus.produce(topic, 1, records)
    assert result.offsets() == [(1, 0), (1, 1), (1, 2)]
    more = bus.produce(topic, 1, Records([b"a", b"b"], timestamps=5_000))
    assert more.offsets() == [(1, 3), (1, 4)]
    fetched = bus.fetch(topic, 1, 0)
    got = list(fetched.records())
    assert [r.offset for r in got] == [0, 1, 2, 3, 4]
    assert [r.value for r in got] == [b"v0", b"", b"v2" * 100, b"a", b"b"]
    assert [r.key for r in got] == [b"k0", None, b"k2", None, None]
    assert [r.timestamp for r in got] == [1_000, 1_001, 999, 5_000, 5_000]
    assert got[0].headers == (("h", b"1"),)
    assert fetched.next_offset == 5
    assert fetched.high_watermark == 5
    assert fetched.values() == [r.value for r in got]
    assert fetched.values_array().to_pylist() == [r.value for r in got]
    assert bus.latest_offset(topic, 1) == 5
    assert bus.earliest_offset(topic, 1) == 0
    assert bus.latest_offset(topic, 0) == 0


def test_fetch_from_the_middle_and_limits(bus: Bus, topic: str) -> None:
    bus.create_topic(topic)
    for i in range(5):
        bus.produce(topic, 0, Records([b"%d-%d" % (i, j) for j in range(10)]))
    mid = bus.fetch(topic, 0, 13, max_records=4)
    assert [r.offset for r in mid.records()] == [13, 14, 15, 16]
    assert mid.next_offset == 17
    assert mid.values() == [b"1-3", b"1-4", b"1-5", b"1-6"]
    # max_bytes smaller than a batch still returns something (never stuck), in order
    small = bus.fetch(topic, 0, 20, max_bytes=1)
    assert len(small) >= 1
    assert next(iter(small.records())).offset == 20
    everything: list[bytes] = []
    offset = 0
    while offset < 50:
        part = bus.fetch(topic, 0, offset, max_records=7)
        assert len(part) > 0
        everything += part.values()
        offset = part.next_offset
    assert everything == [b"%d-%d" % (i, j) for i in range(5) for j in range(10)]


def test_fetch_out_of_range_and_at_end(bus: Bus, topic: str) -> None:
    bus.create_topic(topic)
    bus.produce(topic, 0, Records([b"x", b"y"]))
    at_end = bus.fetch(topic, 0, 2)
    assert len(at_end) == 0
    assert at_end.next_offset == 2
    with pytest.raises(OffsetOutOfRangeError):
        bus.fetch(topic, 0, 3)
    with pytest.raises(OffsetOutOfRangeError):
        bus.fetch(topic, 0, -1)
    with pytest.raises(PartitionNotFoundError):
        bus.fetch(topic, 1, 0)
    with pytest.raises(TopicNotFoundError):
        bus.fetch(topic + "-missing", 0, 0)


def test_fetch_waits_for_new_data(bus: Bus, topic: str) -> None:
    bus.create_topic(topic)
    timer = threading.Timer(0.3, lambda: bus.produce(topic, 0, Records([b"late"])))
    timer.start()
    try:
        started = time.monotonic()
        result = bus.fetch(topic, 0, 0, wait_ms=8_000)
        while not len(result) and time.monotonic() - started < 8:
            result = bus.fetch(topic, 0, 0, wait_ms=1_000)
    finally:
        timer.join()
    assert result.values() == [b"late"]
    empty = bus.fetch(topic, 0, 1, wait_ms=50)
    assert len(empty) == 0


def test_keys_land_on_kafkas_murmur2_partition(bus: Bus, topic: str) -> None:
    bus.create_topic(topic, partitions=4)
    keys = [b"user-%d" % i for i in range(40)]
    result = bus.produce(topic, None, Records([b"v"] * 40, keys=keys))
    placed = result.offsets()
    for key, (partition, _) in zip(keys, placed, strict=True):
        assert partition == partition_for_key(key, 4)
    again = bus.produce(topic, None, [Record(b"w", key=keys[7])]).offsets()
    assert again[0][0] == placed[7][0]
    counts = [bus.latest_offset(topic, p) for p in range(4)]
    assert sum(counts) == 41


def test_keyless_records_stick_per_call_and_rotate(bus: Bus, topic: str) -> None:
    bus.create_topic(topic, partitions=3)
    used = []
    for _ in range(6):
        spans = bus.produce(topic, None, Records([b"a", b"b", b"c"])).spans
        assert len({s.partition for s in spans}) == 1
        used.append(spans[0].partition)
    assert set(used) == {0, 1, 2}
    assert [bus.latest_offset(topic, p) for p in range(3)] == [6, 6, 6]


def test_committed_offsets(bus: Bus, topic: str) -> None:
    bus.create_topic(topic, partitions=2)
    bus.produce(topic, 0, Records([b"x"] * 10))
    group = f"g-{topic}"
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    assert bus.committed(group, tp0) is None
    bus.commit(group, {tp0: 4})
    bus.commit(group, {tp0: 7, tp1: 0})
    assert bus.committed(group, tp0) == 7
    assert bus.committed_offsets(group) == {tp0: 7, tp1: 0}
    assert group in bus.list_groups()
    info = bus.describe_group(group)
    assert info.offsets[tp0] == 7
    assert info.lag[tp0] == 3
    assert info.lag[tp1] == 0


def test_committed_offsets_survive_reopen(
    bus: Bus, topic: str, reopen: Callable[[Bus], Bus]
) -> None:
    bus.create_topic(topic)
    bus.produce(topic, 0, Records([b"a", b"b", b"c"]))
    bus.commit("survivor", {TopicPartition(topic, 0): 2})
    again = reopen(bus)
    assert again.committed("survivor", TopicPartition(topic, 0)) == 2
    assert again.fetch(topic, 0, 2).values() == [b"c"]


def test_retention_setting_is_kept(bus: Bus, topic: str) -> None:
    bus.create_topic(topic)
    info = bus.set_retention(topic, retention_ms=3_600_000)
    assert info.retention_ms == 3_600_000
    assert bus.describe_topic(topic).retention_ms == 3_600_000


def test_offset_for_timestamp(bus: Bus, topic: str) -> None:
    if bus.kind == "kafka":
        pytest.skip("tansu 0.6 answers ListOffsets by timestamp with the log start offset.")
    bus.create_topic(topic)
    bus.produce(topic, 0, Records([b"a", b"b", b"c"], timestamps=[100, 300, 200]))
    bus.produce(topic, 0, Records([b"d"], timestamps=500))
    assert bus.offset_for_timestamp(topic, 0, 50) == 0
    assert bus.offset_for_timestamp(topic, 0, 150) == 1
    assert bus.offset_for_timestamp(topic, 0, 250) == 1
    assert bus.offset_for_timestamp(topic, 0, 301) == 3
    assert bus.offset_for_timestamp(topic, 0, 501) is None


def test_add_partitions(bus: Bus, topic: str) -> None:
    if bus.kind == "kafka":
        pytest.skip("tansu 0.6 does not implement CreatePartitions (KIP-195).")
    bus.create_topic(topic, partitions=2)
    with pytest.raises(ValueError, match="only grow"):
        bus.add_partitions(topic, 2)
    info = bus.add_partitions(topic, 5)
    assert info.partition_count == 5
    bus.produce(topic, 4, Records([b"new"]))
    assert bus.fetch(topic, 4, 0).values() == [b"new"]
