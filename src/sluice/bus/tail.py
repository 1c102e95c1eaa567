"""The latest records of a topic across its partitions, for people looking at data flowing."""

from __future__ import annotations

from typing import Any

import orjson

from sluice.bus.base import Bus

__all__ = ["decode_value", "tail_records"]


def decode_value(raw: bytes | None) -> Any:
    """JSON values decoded; anything else as text (``None`` stays ``None``)."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")


def tail_records(bus: Bus, topic: str, n: int) -> list[dict[str, Any]]:
    """The latest ``n`` records over all partitions of ``topic``, oldest first by timestamp.

    Each record is ``{partition, offset, timestamp, key, value}`` with JSON keys and values
    decoded. Raises the bus's ``TopicNotFoundError`` when the topic does not exist.
    """
    rows: list[dict[str, Any]] = []
    for part in bus.describe_topic(topic).partitions:
        start = max(part.earliest, part.latest - n)
        if start >= part.latest:
            continue
        for rec in bus.fetch(topic, part.partition, start, max_records=n).records():
            rows.append(
                {
                    "partition": part.partition,
                    "offset": rec.offset,
                    "timestamp": rec.timestamp,
                    "key": decode_value(rec.key),
                    "value": decode_value(rec.value),
                }
            )
    rows.sort(key=lambda r: (r["timestamp"], r["partition"], r["offset"]))
    return rows[-n:]
