"""Kafka's default partitioner: murmur2 of the key, so keys land where Kafka puts them.

Java's ``DefaultPartitioner`` (and librdkafka's ``murmur2_random``) choose
``(murmur2(key) & 0x7fffffff) % partitions`` for a keyed record. Sluice uses the same
function in every backend, so a key maps to the same partition number in the embedded log
and on a Kafka cluster. Keyless records are spread by the caller (sticky per produce call).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["murmur2", "partition_for_key", "partition_keys"]

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """The 32-bit murmur2 hash exactly as Kafka's ``Utils.murmur2`` (as an unsigned int)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    end = length & ~3
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest == 3:
        h ^= data[end + 2] << 16
    if rest >= 2:
        h ^= data[end + 1] << 8
    if rest >= 1:
        h ^= data[end]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def partition_keys(keys: Sequence[bytes | None], partitions: int, keyless: int) -> list[int]:
    """Partition numbers for ``keys``; records without key go to the ``keyless`` partition."""
    cache: dict[bytes, int] = {}
    out: list[int] = []
    append = out.append
    for key in keys:
        if key is None:
            append(keyless)
            continue
        p = cache.get(key)
        if p is None:
            p = cache[key] = partition_for_key(key, partitions)
        append(p)
    return out
