"""``RecordBatch.timestamps_array()`` equals ``timestamps`` for every batch shape and slice."""

from __future__ import annotations

from pathlib import Path

from sluice.bus import EmbeddedBus, MemoryBus, Record
from sluice.bus.embedded import EmbeddedConfig


def _check(bus: MemoryBus | EmbeddedBus) -> None:
    bus.create_topic("ts", 1)
    bus.produce(
        "ts",
        0,
        [
            Record(value=b"a", timestamp=5),
            Record(value=b"b", timestamp=7),
            Record(value=b"c", timestamp=9),
        ],
    )
    bus.produce("ts", 0, [Record(value=b"d", timestamp=3), Record(value=b"e", timestamp=3)])
    for start in range(5):
        result = bus.fetch("ts", 0, start, max_records=2)
        for batch in result.batches:
            assert batch.timestamps_array().to_pylist() == batch.timestamps
            assert len(batch.timestamps_array()) == len(batch)


def test_memory_backend() -> None:
    bus = MemoryBus()
    bus.open()
    try:
        _check(bus)
    finally:
        bus.close()


def test_embedded_backend(tmp_path: Path) -> None:
    bus = EmbeddedBus(EmbeddedConfig(path=tmp_path))
    bus.open()
    try:
        _check(bus)
    finally:
        bus.close()
