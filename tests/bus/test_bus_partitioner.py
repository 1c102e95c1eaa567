"""murmur2 partitioning: Sluice's function against librdkafka's Java-compatible partitioner."""

from __future__ import annotations

import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from sluice.bus.partitioner import murmur2, partition_for_key, partition_keys
from sluice.bus.tansu import TansuBroker


def test_murmur2_is_unsigned_32_bit_and_deterministic() -> None:
    for key in (b"", b"a", b"ab", b"abc", b"abcd", b"abcde", "键".encode()):
        h = murmur2(key)
        assert 0 <= h < 2**32
        assert murmur2(key) == h
    assert partition_keys([b"x", None, b"x"], 7, keyless=3) == [
        partition_for_key(b"x", 7),
        3,
        partition_for_key(b"x", 7),
    ]


def test_partitions_match_librdkafka_murmur2_random(tansu: TansuBroker) -> None:
    topic = f"p-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": tansu.bootstrap})
    admin.create_topics([NewTopic(topic, 7, 1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": tansu.bootstrap, "partitioner": "murmur2_random"})
    keys = [b"", b"k", b"key-1", b"user:42", "键值".encode(), *(b"%d" % i for i in range(60))]
    placed: dict[bytes, int] = {}

    def report(err: object, msg: object) -> None:
        assert err is None
        placed[msg.key()] = msg.partition()  # type: ignore[attr-defined]

    for key in keys:
        producer.produce(topic, b"v", key=key, on_delivery=report)
    assert producer.flush(20) == 0
    assert placed == {key: partition_for_key(key, 7) for key in keys}
