"""The streaming runtime's node tasks: one processor module per node type, one shared loop.

:func:`install_runners` registers a :class:`~sluice.runtime.tasks.runner.LoopRunner` per
runnable type on a :class:`~sluice.runtime.engine.LocalEngine`; the composition root
(:mod:`sluice.runtime.build`) calls it. See ``docs/runtime.md``.
"""

from __future__ import annotations

from sluice.plugins.registry import SINKS
from sluice.runtime.engine import LocalEngine
from sluice.runtime.tasks.context import Processor, TaskContext
from sluice.runtime.tasks.hdfs_storage import HdfsStorageProcessor
from sluice.runtime.tasks.loop import TaskLoop, group_of
from sluice.runtime.tasks.merge import MergeProcessor
from sluice.runtime.tasks.model_serving import ModelServingProcessor
from sluice.runtime.tasks.queue_storage import QueueStorageProcessor
from sluice.runtime.tasks.realtime import RealtimeProcessor
from sluice.runtime.tasks.runner import LoopRunner, ProcessorFactory, TaskRegistry
from sluice.runtime.tasks.settings import RuntimeSettings
from sluice.runtime.tasks.sink_storage import SinkStorageProcessor
from sluice.runtime.tasks.split import SplitProcessor

__all__ = [
    "PROCESSORS",
    "LoopRunner",
    "Processor",
    "RuntimeSettings",
    "TaskContext",
    "TaskLoop",
    "TaskRegistry",
    "group_of",
    "install_runners",
]

PROCESSORS: dict[str, ProcessorFactory] = {
    "realtime": RealtimeProcessor,
    "merge": MergeProcessor,
    "split": SplitProcessor,
    "model_ts_custom": ModelServingProcessor,
    "queue_storage": QueueStorageProcessor,
    "hdfs_storage": HdfsStorageProcessor,
    **dict.fromkeys(SINKS, SinkStorageProcessor),
}
"""Node type -> the processor its tasks run."""


def install_runners(engine: LocalEngine, ctx: TaskContext) -> TaskRegistry:
    """Register a runner for every type in :data:`PROCESSORS`; returns the shared registry."""
    registry = TaskRegistry()
    for node_type, factory in PROCESSORS.items():
        engine.register(node_type, LoopRunner(ctx, registry, factory))
    return registry
