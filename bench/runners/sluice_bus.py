"""Benchmark runner: produce N records to Sluice's embedded log, then consume them all back.

``python -m bench.runners.sluice_bus --records N --partitions P --record-size B --workdir DIR``

One topic with P partitions under ``DIR``; records of B bytes are produced in batches of
``--batch`` (keyless, so each produce call goes to the next partition, as Kafka's sticky
partitioner does), with fsync policy ``interval`` unless ``--fsync`` says otherwise. The
values are generated before each produce call and only the bus calls are timed (closing the
bus, which fsyncs the rest, is inside the produce time). Consuming reopens the log and reads
every partition from offset 0 to its end; the checksum (sum of the CRC32 of every value,
mod 2**64) is computed inside the timed consume loop.

The last stdout line is the JSON result the harness parses.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sluice.bus.base import Bus
from sluice.bus.batch import Records
from sluice.bus.embedded import EmbeddedBus, EmbeddedConfig

__all__ = ["consume_all", "main", "make_values", "parse_args", "produce_all"]

TOPIC = "bench"


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The runner contract's arguments (shared with ``kafka_bus``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--records", type=int, required=True, help="records to produce")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the topic")
    parser.add_argument("--record-size", type=int, default=100, help="bytes per value")
    parser.add_argument("--workdir", required=True, help="scratch directory")
    parser.add_argument("--batch", type=int, default=10_000, help="records per produce call")
    parser.add_argument("--fsync", default="interval", choices=("always", "interval", "os"))
    return parser.parse_args(argv)


def make_values(start: int, stop: int, size: int) -> list[bytes]:
    """Values ``start .. stop-1``: the record number, zero-padded to ``size`` bytes."""
    fmt = b"%0" + str(size).encode() + b"d"
    return [fmt % i for i in range(start, stop)]


def batches(records: int, batch: int, size: int) -> Iterator[list[bytes]]:
    """The values to produce, one produce call at a time."""
    for start in range(0, records, batch):
        yield make_values(start, min(start + batch, records), size)


def produce_all(bus: Bus, args: argparse.Namespace) -> float:
    """Produce every record; returns the seconds spent inside the bus."""
    spent = 0.0
    for values in batches(args.records, args.batch, args.record_size):
        t0 = time.perf_counter()
        bus.produce(TOPIC, None, Records(values))
        spent += time.perf_counter() - t0
    return spent


def consume_all(bus: Bus, partitions: int) -> tuple[int, int]:
    """Read every partition from 0 to its end; returns ``(count, checksum)``."""
    count = checksum = 0
    crc = zlib.crc32
    for p in range(partitions):
        offset, end = bus.earliest_offset(TOPIC, p), bus.latest_offset(TOPIC, p)
        while offset < end:
            result = bus.fetch(TOPIC, p, offset, max_records=1_000_000, max_bytes=4 << 20)
            for batch in result.batches:
                values = batch.values
                count += len(values)
                checksum += sum(map(crc, values))
            offset = result.next_offset
    return count, checksum % 2**64


def emit(result: dict[str, Any]) -> None:
    """Print the result as the last stdout line."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    """Run the workload and print the result line."""
    args = parse_args("Sluice embedded log: produce then consume.", argv)
    root = Path(args.workdir) / "sluice-bus"
    shutil.rmtree(root, ignore_errors=True)
    config = EmbeddedConfig(path=root, fsync=args.fsync)
    bus = EmbeddedBus(config).open()
    bus.create_topic(TOPIC, args.partitions)
    produce_seconds = produce_all(bus, args)
    t0 = time.perf_counter()
    bus.close()
    produce_seconds += time.perf_counter() - t0

    t0 = time.perf_counter()
    with EmbeddedBus(config) as reader:
        consumed, checksum = consume_all(reader, args.partitions)
    consume_seconds = time.perf_counter() - t0
    shutil.rmtree(root, ignore_errors=True)
    emit(
        {
            "records": args.records,
            "bytes": args.records * args.record_size,
            "produce_seconds": round(produce_seconds, 4),
            "consume_seconds": round(consume_seconds, 4),
            "consumed": consumed,
            "checksum": checksum,
        }
    )


if __name__ == "__main__":
    main()
