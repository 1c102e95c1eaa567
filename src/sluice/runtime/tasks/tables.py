"""Reading and writing a result table's topic for the API: produce, tail, page by offset.

The flow manager exposes these to the entry points (``POST .../produce/``,
``GET .../tail/``, ``GET .../records/``). A result table must exist in the store; its topic
``table_{rt_id}`` is created with the result table (``POST /v3/sluice/result_tables/``) or,
for tables registered otherwise, on first produce, with the runtime's default partition count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from sluice.bus import Bus, Records, TopicNotFoundError
from sluice.model.errors import Message, ParamsError
from sluice.runtime.tasks.topics import ensure_topic, rt_topic

__all__ = ["MAX_PAGE", "TableIO"]

MAX_PAGE = 10_000


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")


class TableIO:
    """Result-table I/O over the bus (thread-safe, as the bus is)."""

    def __init__(self, bus: Bus, partitions: int) -> None:
        self.bus = bus
        self.partitions = partitions

    def ensure(self, rt_id: str) -> str:
        """Create the result table's topic if it does not exist; return its name.

        Called by the API right after a result table is registered, so pipelines and other
        producers can write to ``table_{rt_id}`` before anything was produced through Sluice.
        """
        topic = rt_topic(rt_id)
        ensure_topic(self.bus, topic, self.partitions)
        return topic

    def produce(
        self, rt_id: str, records: Sequence[Any] | None, values: Sequence[str] | None
    ) -> dict[str, Any]:
        """Append JSON objects (``records``) and/or raw text values (``values``) to the RT.

        Raw values are stored as given, so any producer's bytes (even invalid JSON) can be
        replayed; the nodes reading the RT dead-letter what they cannot decode.

        Raises:
            ParamsError: a record that is not a JSON object (its index is named).
        """
        encoded: list[bytes] = []
        for index, record in enumerate(records or ()):
            if not isinstance(record, dict):
                raise ParamsError(
                    Message(f"第{index}条记录不是JSON对象", f"Record {index} is not a JSON object"),
                    {"records": [f"{index}: expected a JSON object"]},
                )
            encoded.append(orjson.dumps(record))
        encoded += [v.encode("utf-8") for v in values or ()]
        topic = rt_topic(rt_id)
        ensure_topic(self.bus, topic, self.partitions)
        if encoded:
            self.bus.produce(topic, None, Records(values=encoded))
        return {"result_table_id": rt_id, "topic": topic, "count": len(encoded)}

    def tail(self, rt_id: str, n: int) -> dict[str, Any]:
        """The latest ``n`` records over all partitions, oldest first (by timestamp).

        Each is ``{partition, offset, timestamp, value}`` with the JSON value decoded.
        """
        topic = rt_topic(rt_id)
        rows: list[dict[str, Any]] = []
        try:
            info = self.bus.describe_topic(topic)
        except TopicNotFoundError:
            return {"result_table_id": rt_id, "topic": topic, "records": []}
        for part in info.partitions:
            start = max(part.earliest, part.latest - n)
            offset = start
            while offset < part.latest:
                result = self.bus.fetch(topic, part.partition, offset, max_records=n)
                if not len(result):
                    break
                for rec in result.records():
                    rows.append(
                        {
                            "partition": part.partition,
                            "offset": rec.offset,
                            "timestamp": rec.timestamp,
                            "value": _decode(rec.value),
                        }
                    )
                offset = result.next_offset
        rows.sort(key=lambda r: (r["timestamp"], r["partition"], r["offset"]))
        return {"result_table_id": rt_id, "topic": topic, "records": rows[-n:]}

    def read(self, topic: str, partition: int, offset: int, limit: int) -> dict[str, Any]:
        """Up to ``limit`` records of one partition of ``topic`` from ``offset``.

        Raises:
            TopicNotFoundError, PartitionNotFoundError, OffsetOutOfRangeError: from the bus.
        """
        limit = max(1, min(limit, MAX_PAGE))
        result = self.bus.fetch(topic, partition, offset, max_records=limit)
        records = [
            {"offset": r.offset, "timestamp": r.timestamp, "value": _decode(r.value)}
            for r in result.records()
        ][:limit]
        return {
            "topic": topic,
            "partition": partition,
            "next_offset": records[-1]["offset"] + 1 if records else offset,
            "high_watermark": result.high_watermark,
            "records": records,
        }
