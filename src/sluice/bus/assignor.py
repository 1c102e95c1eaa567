"""Partition assignment strategies of consumer groups: Kafka's ``range`` and ``roundrobin``.

Both are pure functions of the members (with the topics each subscribes to) and the partition
counts, so every backend that coordinates a group itself computes the same assignment Kafka's
Java assignors would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sluice.bus.types import TopicPartition

__all__ = ["STRATEGIES", "assign", "range_assign", "roundrobin_assign"]

STRATEGIES = ("range", "roundrobin")


def range_assign(
    subscriptions: Mapping[str, Sequence[str]], partitions: Mapping[str, int]
) -> dict[str, list[TopicPartition]]:
    """Kafka's RangeAssignor: per topic, contiguous runs of partitions to sorted members."""
    out: dict[str, list[TopicPartition]] = {m: [] for m in subscriptions}
    topics = sorted({t for ts in subscriptions.values() for t in ts})
    for topic in topics:
        members = sorted(m for m, ts in subscriptions.items() if topic in ts)
        count = partitions.get(topic, 0)
        if not members or not count:
            continue
        per, extra = divmod(count, len(members))
        start = 0
        for i, member in enumerate(members):
            n = per + (1 if i < extra else 0)
            out[member] += [TopicPartition(topic, p) for p in range(start, start + n)]
            start += n
    return out


def roundrobin_assign(
    subscriptions: Mapping[str, Sequence[str]], partitions: Mapping[str, int]
) -> dict[str, list[TopicPartition]]:
    """Kafka's RoundRobinAssignor: all partitions, sorted, dealt over sorted members in turn.

    A partition skips members not subscribed to its topic, as in Kafka.
    """
    out: dict[str, list[TopicPartition]] = {m: [] for m in subscriptions}
    members = sorted(subscriptions)
    if not members:
        return out
    topics = sorted({t for ts in subscriptions.values() for t in ts})
    turn = 0
    for topic in topics:
        for p in range(partitions.get(topic, 0)):
            for _ in range(len(members)):
                member = members[turn % len(members)]
                turn += 1
                if topic in subscriptions[member]:
                    out[member].append(TopicPartition(topic, p))
                    break
    return out


def assign(
    strategy: str, subscriptions: Mapping[str, Sequence[str]], partitions: Mapping[str, int]
) -> dict[str, list[TopicPartition]]:
    """Assign with the named strategy (``range`` or ``roundrobin``); ValueError otherwise."""
    if strategy == "range":
        return range_assign(subscriptions, partitions)
    if strategy == "roundrobin":
        return roundrobin_assign(subscriptions, partitions)
    raise ValueError(f"Unknown assignment strategy {strategy!r}; known: {', '.join(STRATEGIES)}.")
