"""Topic names and creation: RT topics, dead-letter topics and queue topics on the bus."""

from __future__ import annotations

import contextlib

from sluice.bus import Bus, TopicExistsError
from sluice.model.result_table import topic_of

__all__ = ["dlq_rt", "ensure_topic", "queue_topic", "rt_topic"]


def rt_topic(rt_id: str) -> str:
    """The topic of result table ``rt_id``: ``table_{rt_id}``."""
    return topic_of(rt_id)


def dlq_rt(rt_id: str) -> str:
    """The dead-letter result table of a node whose output is ``rt_id``: ``{rt_id}_dlq``."""
    return f"{rt_id}_dlq"


def queue_topic(rt_id: str) -> str:
    """The topic a ``queue_storage`` node writes ``rt_id`` to: ``queue_{rt_id}``."""
    return f"queue_{rt_id}"


def ensure_topic(bus: Bus, name: str, partitions: int, retention_ms: int = -1) -> int:
    """Create topic ``name`` unless it exists; returns its partition count.

    A topic created concurrently by another caller is not an error.
    """
    if not bus.topic_exists(name):
        with contextlib.suppress(TopicExistsError):
            bus.create_topic(name, partitions, retention_ms=retention_ms)
    return bus.describe_topic(name).partition_count
