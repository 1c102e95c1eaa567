"""What every node task shares: the bus, the schemas, the metrics, the settings, and the
callback that reports a task failing while it runs; plus the processor contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sluice.bus import Bus
from sluice.plugins.clusters import ClusterRegistry
from sluice.runtime.engine import NodeTask
from sluice.runtime.metrics import MetricsRegistry
from sluice.runtime.tasks.batch import BatchResult, MicroBatch
from sluice.runtime.tasks.settings import RuntimeSettings
from sluice.runtime.tasks.topics import ensure_topic, rt_topic

__all__ = ["FailureHandler", "Processor", "SchemaSource", "TaskContext"]

SchemaSource = Callable[[str], list[tuple[str, str]]]
"""Result table id -> its schema ``[(field_name, field_type)]`` (raises when unknown)."""

FailureHandler = Callable[[NodeTask, str], None]
"""Called (from the task's thread) when a running task fails, with the error text."""


class Processor(Protocol):
    """The per-node-type half of a task; the loop does reading, DLQ, commits and metrics.

    Built when the node starts (compile errors raise there, so the start fails with the
    reason); :meth:`process` runs once per micro-batch on the task's thread and must have
    written every output durably (produced to the bus, files renamed) when it returns: the
    loop commits the input offsets right after (at-least-once).
    """

    #: Input result tables the task consumes.
    inputs: list[str]
    #: The dead-letter result table of the node (``{rt_id}_dlq``).
    dead_letter_rt: str
    #: Whether ``from_head``/``from_tail`` apply (stream jobs) or the task always continues.
    follows_consuming_mode: bool
    #: File storages write bigger micro-batches (fewer, larger files).
    file_storage: bool

    def process(self, batch: MicroBatch) -> BatchResult:
        """Handle one micro-batch; raise only for failures that must stop the node."""

    def close(self) -> None:
        """Release resources (DuckDB connections, file handles); called once at the end."""


@dataclass
class TaskContext:
    """Shared by all runners of one engine. ``on_failure`` is set once the manager exists."""

    bus: Bus
    settings: RuntimeSettings
    metrics: MetricsRegistry
    schema_of: SchemaSource
    on_failure: FailureHandler | None = None
    clusters: ClusterRegistry | None = None
    kv_inputs_of: Callable[[int, int], list[str]] | None = None
    """``(flow_id, node_id)`` -> the tables the node reads through KV-source parents."""
    join_storage_of: Callable[[str], tuple[str, dict[str, object]] | None] | None = None
    """Table id -> ``(node_type, config)`` of the Redis join storage writing it."""
    """Resolves storage nodes' ``cluster`` names to connections (storage sinks need it)."""

    def schema(self, rt_id: str) -> list[tuple[str, str]]:
        """The schema of ``rt_id`` from the store."""
        return self.schema_of(rt_id)

    def ensure_rt_topic(self, rt_id: str) -> str:
        """Create ``table_{rt_id}`` with the default partitions if missing; returns its name."""
        topic = rt_topic(rt_id)
        ensure_topic(self.bus, topic, self.settings.partitions)
        return topic
