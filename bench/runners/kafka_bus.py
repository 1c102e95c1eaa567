"""Benchmark runner: the ``sluice_bus`` workload through confluent-kafka against tansu.

``python -m bench.runners.kafka_bus --records N --partitions P --record-size B --workdir DIR``

Starts a tansu broker (memory storage) on a free 127.0.0.1 port, creates one topic with P
partitions, produces N records of B bytes with a plain confluent-kafka ``Producer``
(keyless, ``linger.ms=5``, ``acks=all``; each batch of ``--batch`` values goes to the next
partition, as in the Sluice runner) and reads them all back with a ``Consumer`` assigned to
every partition from offset 0. Only the client calls are timed (values are generated outside
the timer, as in ``sluice_bus``); the checksum is the same (sum of CRC32 of every value,
mod 2**64) and is computed inside the consume loop. The broker is stopped at the end.

The last stdout line is the JSON result the harness parses.
"""

from __future__ import annotations

import time
import zlib
from typing import cast

from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as KafkaTP
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from bench.runners.sluice_bus import batches, emit, parse_args
from sluice.bus.tansu import TansuBroker

__all__ = ["main"]

TOPIC = "bench"


def produce_all(bootstrap: str, records: int, partitions: int, size: int, batch: int) -> float:
    """Produce every record and wait for all acks; returns the seconds spent in the client."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "acks": "all",
            "queue.buffering.max.messages": 1_000_000,
            "batch.num.messages": 10_000,
        }
    )
    spent = 0.0
    for n, values in enumerate(batches(records, batch, size)):
        partition = n % partitions
        t0 = time.perf_counter()
        produce = producer.produce
        for value in values:
            while True:
                try:
                    produce(TOPIC, value, partition=partition)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.poll(0)
        spent += time.perf_counter() - t0
    t0 = time.perf_counter()
    left = producer.flush(120)
    spent += time.perf_counter() - t0
    if left:
        raise RuntimeError(f"{left} records were not acknowledged by the broker.")
    return spent


def consume_all(bootstrap: str, records: int, partitions: int) -> tuple[int, int]:
    """Read every partition from 0 until ``records`` values arrived; ``(count, checksum)``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([KafkaTP(TOPIC, p, 0) for p in range(partitions)])
    count = checksum = 0
    crc = zlib.crc32
    idle_since = time.monotonic()
    while count < records and time.monotonic() - idle_since < 30:
        messages = consumer.consume(10_000, 1.0)
        if not messages:
            continue
        idle_since = time.monotonic()
        values = [m.value() for m in messages if m.error() is None]
        count += len(values)
        checksum += sum(map(crc, cast("list[bytes]", values)))  # records always have values
    consumer.close()
    return count, checksum % 2**64


def main(argv: list[str] | None = None) -> None:
    """Run the workload against a fresh tansu broker and print the result line."""
    args = parse_args("confluent-kafka against tansu: produce then consume.", argv)
    with TansuBroker() as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(TOPIC, args.partitions, 1)])[TOPIC].result(30)
        produce_seconds = produce_all(
            broker.bootstrap, args.records, args.partitions, args.record_size, args.batch
        )
        t0 = time.perf_counter()
        consumed, checksum = consume_all(broker.bootstrap, args.records, args.partitions)
        consume_seconds = time.perf_counter() - t0
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
