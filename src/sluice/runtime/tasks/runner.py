"""``LoopRunner``: the engine's :class:`~sluice.runtime.engine.TaskRunner` for node types
that run as a :class:`~sluice.runtime.tasks.loop.TaskLoop` around a processor.

One runner per node type (it holds the type's processor factory); all runners of an engine
share one :class:`TaskRegistry` of running loops, so :meth:`TaskRegistry.close` stops every
task at server shutdown (draining and committing) without touching the stored statuses,
which stay the desired state a restarted server resumes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sluice.model.errors import FlowError
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.context import Processor, TaskContext
from sluice.runtime.tasks.loop import TaskLoop

__all__ = ["LoopRunner", "ProcessorFactory", "TaskRegistry"]

log = logging.getLogger(__name__)

ProcessorFactory = Callable[[TaskContext, NodeTask], Processor]
"""Builds a node's processor; raises ``FlowError`` (e.g. ``NodeValidError``) when it cannot."""


class TaskRegistry:
    """The running loops of one engine, by ``(flow_id, node_id)``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: dict[tuple[int, int], TaskLoop] = {}

    def put(self, loop: TaskLoop) -> None:
        """Remember a started loop."""
        with self._lock:
            self._loops[(loop.task.flow_id, loop.task.node_id)] = loop

    def pop(self, flow_id: int, node_id: int) -> TaskLoop | None:
        """Forget and return the loop of a node (``None`` when it has none)."""
        with self._lock:
            return self._loops.pop((flow_id, node_id), None)

    def get(self, flow_id: int, node_id: int) -> TaskLoop | None:
        """The loop of a node, if it has one."""
        with self._lock:
            return self._loops.get((flow_id, node_id))

    def running(self) -> list[TaskLoop]:
        """Every loop, in start order."""
        with self._lock:
            return list(self._loops.values())

    def close(self) -> None:
        """Stop every loop (each drains and commits its in-flight batch)."""
        for loop in reversed(self.running()):
            try:
                loop.stop()
            except FlowError:
                log.exception("Node %s did not stop in time at shutdown.", loop.task.node_id)
        with self._lock:
            self._loops.clear()


class LoopRunner:
    """Starts and stops the tasks of one node type."""

    def __init__(self, ctx: TaskContext, registry: TaskRegistry, factory: ProcessorFactory) -> None:
        self.ctx = ctx
        self.registry = registry
        self.factory = factory

    def start(self, task: NodeTask) -> None:
        """Build the processor (compiling SQL, resolving schemas) and start the loop.

        Raises:
            FlowTaskError: the node cannot run; the message says why.
        """
        self.stop(task)
        try:
            processor = self.factory(self.ctx, task)
        except FlowTaskError:
            raise
        except FlowError as exc:
            raise FlowTaskError(exc.msg) from exc
        loop = TaskLoop(self.ctx, task, processor)
        try:
            loop.start()
        except Exception:
            processor.close()
            raise
        self.registry.put(loop)

    def stop(self, task: NodeTask) -> None:
        """Stop the node's loop, draining its in-flight batch; idempotent."""
        loop = self.registry.pop(task.flow_id, task.node_id)
        if loop is not None:
            loop.stop()
            log.info("Node %s of flow %s stopped.", task.node_id, task.flow_id)
