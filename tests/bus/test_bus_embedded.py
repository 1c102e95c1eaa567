"""The embedded log on disk: segments, roll, indexes, retention, recovery, writer lock."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from sluice.bus import (
    EmbeddedBus,
    EmbeddedConfig,
    OffsetOutOfRangeError,
    ReadOnlyBusError,
    Records,
    TopicPartition,
    WriterLockedError,
)
from sluice.bus.batch import now_ms


def open_bus(path: Path, **kw: object) -> EmbeddedBus:
    return EmbeddedBus(EmbeddedConfig(path=path, fsync="os", **kw)).open()  # type: ignore[arg-type]


def logs(path: Path, topic: str, partition: int = 0) -> list[str]:
    return sorted(p.name for p in (path / "topics" / f"{topic}-{partition}").glob("*.log"))


def test_layout_and_roll_by_size(tmp_path: Path) -> None:
    with open_bus(tmp_path, segment_bytes=8192) as bus:
        bus.create_topic("t", partitions=2)
        for i in range(40):
            bus.produce("t", 0, Records([b"%04d" % i + b"x" * 500]))
        names = logs(tmp_path, "t")
        assert len(names) > 2
        assert names[0] == "00000000000000000000.log"
        bases = [int(n[:-4]) for n in names]
        assert bases == sorted(bases)
        for name in names:
            stem = tmp_path / "topics" / "t-0" / name[:-4]
            assert stem.with_suffix(".index").exists()
            assert stem.with_suffix(".timeindex").exists()
            assert stem.with_suffix(".log").stat().st_size <= 8192
        info = bus.describe_topic("t").partitions[0]
        assert info.segments == len(names)
        assert info.latest == 40
        values = []
        offset = 0
        while offset < 40:
            part = bus.fetch("t", 0, offset)
            values += part.values()
            offset = part.next_offset
        assert [v[:4] for v in values] == [b"%04d" % i for i in range(40)]


def test_roll_by_age(tmp_path: Path) -> None:
    with open_bus(tmp_path, segment_ms=50) as bus:
        bus.create_topic("t")
        bus.produce("t", 0, Records([b"a"]))
        bus.produce("t", 0, Records([b"b"]))
        assert len(logs(tmp_path, "t")) == 1
        time.sleep(0.08)
        bus.produce("t", 0, Records([b"c"]))
        assert logs(tmp_path, "t") == ["00000000000000000000.log", "00000000000000000002.log"]


def test_retention_by_size_deletes_whole_old_segments(tmp_path: Path) -> None:
    with open_bus(tmp_path, segment_bytes=4096) as bus:
        bus.create_topic("t", retention_bytes=10_000)
        for i in range(60):
            bus.produce("t", 0, Records([b"%03d" % i + b"y" * 300]))
        before = bus.describe_topic("t").partitions[0]
        dropped = bus.enforce_retention("t")
        after = bus.describe_topic("t").partitions[0]
        assert dropped > 0
        assert after.segments == before.segments - dropped
        assert after.size_bytes is not None and after.size_bytes <= 10_000 + 4096
        assert after.earliest > 0
        assert logs(tmp_path, "t")[0] == f"{after.earliest:020d}.log"
        assert after.latest == 60
        with pytest.raises(OffsetOutOfRangeError):
            bus.fetch("t", 0, 0)
        first = bus.fetch("t", 0, after.earliest).values()[0]
        assert first[:3] == b"%03d" % after.earliest


def test_retention_by_time_uses_record_timestamps(tmp_path: Path) -> None:
    with open_bus(tmp_path, segment_bytes=4096) as bus:
        bus.create_topic("t")
        old = now_ms() - 3 * 86_400_000
        for _ in range(20):
            bus.produce("t", 0, Records([b"z" * 400], timestamps=old))
        bus.produce("t", 0, Records([b"fresh"]))
        info = bus.set_retention("t", retention_ms=86_400_000)
        part = info.partitions[0]
        # whole segments only: the one holding the fresh record stays, with its old neighbours
        assert part.segments == 1
        assert 0 < part.earliest <= 20
        assert logs(tmp_path, "t") == [f"{part.earliest:020d}.log"]
        assert bus.fetch("t", 0, part.earliest).values()[-1] == b"fresh"
        # everything expired: the log is empty but keeps its offsets
        bus.produce("t", 0, Records([b"q"], timestamps=old))
        bus.set_retention("t", retention_ms=0)
        part = bus.describe_topic("t").partitions[0]
        assert part.earliest == part.latest == 22
        assert bus.produce("t", 0, Records([b"next"])).offsets() == [(0, 22)]


def test_time_index_lookup_matches_brute_force(tmp_path: Path) -> None:
    rng = random.Random(7)
    stamps: list[int] = []
    with open_bus(tmp_path, segment_bytes=4096, index_interval_bytes=256) as bus:
        bus.create_topic("t")
        base = 1_700_000_000_000
        for _ in range(120):
            n = rng.randint(1, 6)
            ts = [base + rng.randint(-500, 500) for _ in range(n)]
            base += 100
            stamps += ts
            bus.produce("t", 0, Records([b"v" * 60] * n, timestamps=ts))
        assert bus.describe_topic("t").partitions[0].segments > 2
        for target in [stamps[0] - 1000, *rng.sample(stamps, 40), max(stamps), max(stamps) + 1]:
            expected = next((i for i, ts in enumerate(stamps) if ts >= target), None)
            assert bus.offset_for_timestamp("t", 0, target) == expected, target
    with open_bus(tmp_path) as bus:
        target = stamps[len(stamps) // 2]
        expected = next(i for i, ts in enumerate(stamps) if ts >= target)
        assert bus.offset_for_timestamp("t", 0, target) == expected


def test_reopen_keeps_data_offsets_and_rebuilds_lost_indexes(tmp_path: Path) -> None:
    with open_bus(tmp_path, segment_bytes=4096) as bus:
        bus.create_topic("t", partitions=2, retention_ms=-1)
        for i in range(30):
            bus.produce("t", i % 2, Records([b"%d" % i + b"p" * 200]))
        bus.commit("g", {TopicPartition("t", 1): 9})
    for index in (tmp_path / "topics" / "t-0").glob("*.index"):
        index.write_bytes(b"")  # lost or emptied indexes are rebuilt from the log
    with open_bus(tmp_path, segment_bytes=4096) as bus:
        assert [p.latest for p in bus.describe_topic("t").partitions] == [15, 15]
        assert bus.fetch("t", 0, 7, max_records=1).values() == [b"14" + b"p" * 200]
        assert bus.committed("g", TopicPartition("t", 1)) == 9
        assert bus.produce("t", 0, Records([b"more"])).offsets() == [(0, 15)]


def test_torn_and_corrupt_tails_are_cut_on_open(tmp_path: Path) -> None:
    with open_bus(tmp_path) as bus:
        bus.create_topic("t")
        for i in range(5):
            bus.produce("t", 0, Records([b"rec-%d" % i] * 3))
    seg = tmp_path / "topics" / "t-0" / "00000000000000000000.log"
    whole = seg.stat().st_size
    with open(seg, "ab") as f:  # half a batch: a header and a few bytes
        f.write(bytes(range(60)))
    with open_bus(tmp_path) as bus:
        assert bus.latest_offset("t", 0) == 15
        assert seg.stat().st_size == whole
        assert len(bus.fetch("t", 0, 0, max_records=100)) == 15
    # flip one payload byte of the last batch: its CRC fails, it is dropped
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0xFF
    seg.write_bytes(bytes(data))
    with open_bus(tmp_path) as bus:
        assert bus.latest_offset("t", 0) == 12
        assert bus.fetch("t", 0, 0, max_records=100).values()[-1] == b"rec-3"
        assert bus.produce("t", 0, Records([b"after"])).offsets() == [(0, 12)]


def test_second_writer_is_refused_and_readers_follow(tmp_path: Path) -> None:
    writer = open_bus(tmp_path)
    try:
        writer.create_topic("t")
        with pytest.raises(WriterLockedError, match=f"process {os.getpid()}"):
            open_bus(tmp_path)
        reader = open_bus(tmp_path, read_only=True)
        assert reader.list_topics() == ["t"]
        writer.produce("t", 0, Records([b"one"]))
        assert reader.fetch("t", 0, 0).values() == [b"one"]
        writer.produce("t", 0, Records([b"two"]))
        writer.commit("g", {TopicPartition("t", 0): 1})
        assert reader.latest_offset("t", 0) == 2
        assert reader.committed("g", TopicPartition("t", 0)) == 1
        writer.create_topic("later")
        assert "later" in reader.list_topics()
        with pytest.raises(ReadOnlyBusError):
            reader.produce("t", 0, Records([b"no"]))
        reader.close()
    finally:
        writer.close()
    open_bus(tmp_path).close()  # the lock is released on close


def test_waiting_fetch_is_woken_by_a_produce(tmp_path: Path) -> None:
    with open_bus(tmp_path) as bus:
        bus.create_topic("t")
        got: list[bytes] = []
        waiter = threading.Thread(
            target=lambda: got.extend(bus.fetch("t", 0, 0, wait_ms=10_000).values())
        )
        waiter.start()
        time.sleep(0.1)
        bus.produce("t", 0, Records([b"wake"]))
        waiter.join(5)
        assert not waiter.is_alive()
        assert got == [b"wake"]


def test_concurrent_producers_get_distinct_offsets(tmp_path: Path) -> None:
    with open_bus(tmp_path, segment_bytes=16384) as bus:
        bus.create_topic("t")

        def work(tag: int) -> None:
            for i in range(50):
                bus.produce("t", 0, Records([b"%d-%d" % (tag, i)] * 3))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert bus.latest_offset("t", 0) == 600
        values = []
        offset = 0
        while offset < 600:
            part = bus.fetch("t", 0, offset)
            values += part.values()
            offset = part.next_offset
        for tag in range(4):
            mine = [v for v in values if v.startswith(b"%d-" % tag)]
            assert mine == [b"%d-%d" % (tag, i) for i in range(50) for _ in range(3)]


def test_fsync_always_and_interval_policies_write_the_same(tmp_path: Path) -> None:
    for policy in ("always", "interval"):
        path = tmp_path / policy
        config = EmbeddedConfig(path=path, fsync=policy, fsync_interval_ms=10)
        with EmbeddedBus(config) as bus:
            bus.create_topic("t")
            bus.produce("t", 0, Records([b"a", b"b"]))
            time.sleep(0.05)
        with EmbeddedBus(config) as bus:
            assert bus.fetch("t", 0, 0).values() == [b"a", b"b"]


def test_deleted_topic_can_be_created_again_empty(tmp_path: Path) -> None:
    with open_bus(tmp_path) as bus:
        bus.create_topic("t")
        bus.produce("t", 0, Records([b"old"]))
        bus.delete_topic("t")
        assert not (tmp_path / "topics" / "t-0").exists()
        bus.create_topic("t")
        assert bus.latest_offset("t", 0) == 0
