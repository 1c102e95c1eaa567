"""The engine contract: what :class:`~sluice.runtime.manager.FlowManager` asks of whatever
runs node tasks, and the local engine that runs them in this process.

The manager owns deploy records, statuses, locks and logs; the engine owns the tasks. A
node type the engine cannot run is refused before any deploy starts, naming the node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sluice.model.errors import FlowError, Message

__all__ = ["Engine", "FlowTaskError", "LocalEngine", "NodeTask", "TaskRunner"]

log = logging.getLogger(__name__)


class FlowTaskError(FlowError):
    """A node task failed to start or stop (``1500005``); the deploy log carries it."""

    code = "1500005"


@dataclass(frozen=True)
class NodeTask:
    """Everything a node's task needs to start: identity, config and consuming mode."""

    flow_id: int
    node_id: int
    node_type: str
    name: str
    config: Mapping[str, Any]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    consuming_mode: str = "continue"


class TaskRunner(Protocol):
    """Runs the tasks of one node type."""

    def start(self, task: NodeTask) -> None:
        """Start the node's task; raise :class:`FlowTaskError` with the reason on failure."""

    def stop(self, task: NodeTask) -> None:
        """Stop the node's task, draining in-flight batches; idempotent."""


class Engine(Protocol):
    """What the flow manager needs from the runtime."""

    def unsupported_reason(self, node_type: str) -> Message | None:
        """Why ``node_type`` cannot run here, or ``None`` when it can."""

    def start_node(self, task: NodeTask) -> None:
        """Start one node's task; raises on failure."""

    def stop_node(self, task: NodeTask) -> None:
        """Stop one node's task; raises on failure."""


class _SourceRunner:
    """Source nodes have no task: their table is already on the bus, fed by its producers."""

    def start(self, task: NodeTask) -> None:
        log.info(
            "Source node %s of flow %s reads %s; it has no task to start.",
            task.node_id,
            task.flow_id,
            task.inputs,
        )

    def stop(self, task: NodeTask) -> None:
        log.info("Source node %s of flow %s has no task to stop.", task.node_id, task.flow_id)


class LocalEngine:
    """Runs node tasks in this process through one :class:`TaskRunner` per node type.

    Types without a runner are reported by :meth:`unsupported_reason`, so a flow holding one
    is refused at start with a message naming the node instead of pretending to run.
    """

    def __init__(self, runners: Mapping[str, TaskRunner] | None = None) -> None:
        source = _SourceRunner()
        self._runners: dict[str, TaskRunner] = dict.fromkeys(
            ("stream_source", "kv_source", "unified_kv_source", "redis_kv_source"), source
        )
        self._runners.update(runners or {})
        self._closers: list[Callable[[], None]] = []

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` at :meth:`close` (the task runtime stops its tasks there)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Stop everything the engine runs (server shutdown), in reverse registration order."""
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()

    def register(self, node_type: str, runner: TaskRunner) -> None:
        """Add (or replace) the runner of ``node_type``."""
        self._runners[node_type] = runner

    def unsupported_reason(self, node_type: str) -> Message | None:
        """``None`` when a runner exists, else the reason naming what can run."""
        if node_type in self._runners:
            return None
        runnable = ", ".join(sorted(self._runners))
        return Message(
            f"Sluice暂不支持运行{node_type}类型的节点（可运行: {runnable}）",
            f"Sluice cannot run {node_type} nodes yet (runnable: {runnable})",
        )

    def start_node(self, task: NodeTask) -> None:
        """Start ``task`` with its type's runner."""
        self._runner(task).start(task)

    def stop_node(self, task: NodeTask) -> None:
        """Stop ``task`` with its type's runner."""
        self._runner(task).stop(task)

    def _runner(self, task: NodeTask) -> TaskRunner:
        runner = self._runners.get(task.node_type)
        if runner is None:
            reason = self.unsupported_reason(task.node_type)
            assert reason is not None
            raise FlowTaskError(reason)
        return runner
