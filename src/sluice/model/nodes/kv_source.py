"""KV sources: a result table kept in a key-value store, joined by ``realtime`` nodes.

BKData names it ``kv_source`` (TRedis) and ``unified_kv_source``; the log platform sends
``redis_kv_source``. All three read the Redis ``join`` table a ``redis_storage`` writes.
"""

from __future__ import annotations

from typing import ClassVar

from sluice.model.errors import Message
from sluice.model.nodes.stream_source import StreamSourceNode

__all__ = ["KvSourceNode", "RedisKvSourceNode", "UnifiedKvSourceNode"]


class KvSourceNode(StreamSourceNode):
    """``kv_source``: a Redis join table as a lookup input."""

    name: ClassVar[str] = "kv_source"
    rule_name: ClassVar[str] = "kv_source"
    display = Message("实时关联数据源", "Real-time KV source")
    order = 103


class UnifiedKvSourceNode(KvSourceNode):
    """``unified_kv_source``: the same lookup input under BKData's unified name."""

    name: ClassVar[str] = "unified_kv_source"
    rule_name: ClassVar[str] = "unified_kv_source"
    display = Message("关联数据源", "Unified KV source")
    order = 104


class RedisKvSourceNode(KvSourceNode):
    """``redis_kv_source``: the name the log platform sends for its Redis KV source."""

    name: ClassVar[str] = "redis_kv_source"
    rule_name: ClassVar[str] = "kv_source"
    display = Message("Redis关联数据源", "Redis KV source")
    order = 105
