"""The background half of start, stop and restart: runs one deploy record to its end.

Called by :class:`~sluice.runtime.manager.FlowManager` on its executor. It locks the flow,
checks the graph, starts or stops each node through the engine, writes BKData's log lines
with progress, moves node and flow statuses, and always unlocks. Nothing is marked
``success`` that the engine did not actually start or stop.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sluice.model.errors import FlowError, Message
from sluice.model.nodes import NODE_TYPES
from sluice.runtime import messages as M
from sluice.runtime.engine import Engine, NodeTask
from sluice.store import locks
from sluice.store.common import get_flow
from sluice.store.db import Database
from sluice.store.deploys import append_log, set_progress
from sluice.store.tables import DeployRecord, FlowNode
from sluice.store.views import load_view

__all__ = ["Deployer"]

log = logging.getLogger(__name__)


class Deployer:
    """Executes deploy records against an engine."""

    def __init__(self, db: Database, engine: Engine) -> None:
        self.db = db
        self.engine = engine

    def run(self, record_id: int, nodes: list[int] | None = None) -> None:
        """Run record ``record_id``; ``nodes`` limits a restart to those node ids."""
        with self.db.session() as session:
            record = session.get(DeployRecord, record_id)
            assert record is not None
            flow_id, action, user = record.flow_id, record.action, record.created_by
            context = json.loads(record.context or "{}")
        set_progress(self.db, record_id, "running")
        self._log(record_id, "INFO", M.LOCK, 10.0)
        try:
            locks.acquire(self.db, flow_id, user, locks.LOCK_DEPLOY)
        except FlowError as exc:
            self._fail(record_id, flow_id, exc.msg, unlock=False)
            return
        try:
            if action == "start":
                self._start(record_id, flow_id, context, None, 10.0, 100.0)
            elif action == "stop":
                self._stop(record_id, flow_id, None, 10.0, 100.0)
            else:
                self._stop(record_id, flow_id, nodes, 10.0, 50.0)
                self._start(record_id, flow_id, context, nodes, 50.0, 100.0)
        except FlowError as exc:
            self._fail(record_id, flow_id, exc.msg, unlock=True)
            return
        except Exception as exc:  # an engine bug must still end the record and unlock
            log.exception("The deploy %s of flow %s failed unexpectedly.", record_id, flow_id)
            self._fail(record_id, flow_id, Message(str(exc), str(exc)), unlock=True)
            return
        self._finish(record_id, flow_id, "success")

    # -- phases ---------------------------------------------------------------------------

    def _start(
        self,
        record_id: int,
        flow_id: int,
        context: dict[str, Any],
        only: list[int] | None,
        low: float,
        high: float,
    ) -> None:
        mid = low + (high - low) / 2
        self._set_flow_status(flow_id, "starting")
        self._log(record_id, "INFO", M.CHECK_START, low)
        with self.db.session() as session:
            view = load_view(session, flow_id)
            view.graph.check_cycle()
            view.graph.check_isolated()
            order = [n for n in view.graph.topological_order() if only is None or n in only]
            tasks = {
                n: self.task_of(view.nodes[n], view.configs[n], view.result_table_ids(n), context)
                for n in order
            }
        for node_id in order:
            node_type = NODE_TYPES.get(tasks[node_id].node_type)
            self._log(
                record_id,
                "INFO",
                M.CHECK_NODE.format(
                    display_zh=node_type.display.zh,
                    display_en=node_type.display.en,
                    name=tasks[node_id].name,
                ),
                low,
            )
        self._log(record_id, "INFO", M.CHECK_DONE, mid)
        self._log(record_id, "INFO", M.PHASE_START["start"], mid)
        step = (high - mid) / max(len(order), 1)
        progress = mid
        for node_id in order:
            self._run_node(record_id, tasks[node_id], "start", progress, progress + step)
            progress += step
        self._log(record_id, "INFO", M.PHASE_DONE["start"], high)

    def _stop(
        self, record_id: int, flow_id: int, only: list[int] | None, low: float, high: float
    ) -> None:
        self._set_flow_status(flow_id, "stopping")
        self._log(record_id, "INFO", M.PHASE_START["stop"], low)
        with self.db.session() as session:
            view = load_view(session, flow_id)
            order = [
                n for n in reversed(view.graph.topological_order()) if only is None or n in only
            ]
            for node_id in order:
                node = view.nodes[node_id]
                if node.status not in ("running", "failure", "stopping"):
                    db_node = session.get(FlowNode, node_id)
                    assert db_node is not None
                    db_node.status = "no-start"
            tasks = {
                n: self.task_of(view.nodes[n], view.configs[n], view.result_table_ids(n), {})
                for n in order
            }
            statuses = {n: view.nodes[n].status for n in order}
        step = (high - low) / max(len(order), 1)
        progress = low
        for node_id in order:
            if statuses[node_id] not in ("running", "failure", "stopping"):
                continue
            self._run_node(record_id, tasks[node_id], "stop", progress, progress + step)
            progress += step
        self._log(record_id, "INFO", M.PHASE_DONE["stop"], high)

    # -- helpers --------------------------------------------------------------------------

    def _run_node(
        self, record_id: int, task: NodeTask, action: str, before: float, after: float
    ) -> None:
        """Start or stop one node through the engine, logging BKData's lines and statuses;
        a node the engine fails on is marked ``failure`` and the error propagates."""
        node_type = NODE_TYPES.get(task.node_type)
        line = M.START_NODE if action == "start" else M.STOP_NODE
        display = {"display_zh": node_type.display.zh, "display_en": node_type.display.en}
        self._log(record_id, "INFO", line.format(name=task.name, **display), before)
        transient, final = (
            ("starting", "running") if action == "start" else ("stopping", "no-start")
        )
        self._set_node_status(record_id, task.node_id, transient, before)
        try:
            if action == "start":
                self.engine.start_node(task)
            else:
                self.engine.stop_node(task)
        except Exception:
            self._set_node_status(record_id, task.node_id, "failure", before)
            raise
        self._set_node_status(record_id, task.node_id, final, after)

    @staticmethod
    def task_of(
        node: FlowNode, config: dict[str, Any], outputs: list[str], context: dict[str, Any]
    ) -> NodeTask:
        """The :class:`NodeTask` of a stored node (``context`` holds the consuming mode)."""
        return NodeTask(
            flow_id=node.flow_id,
            node_id=node.node_id,
            node_type=node.node_type,
            name=node.node_name,
            config=config,
            inputs=list(config.get("from_result_table_ids") or []),
            outputs=outputs,
            consuming_mode=str(context.get("consuming_mode") or "continue"),
        )

    def _log(self, record_id: int, level: str, message: Message, progress: float | None) -> None:
        append_log(self.db, record_id, level, message, progress)

    def _set_node_status(self, record_id: int, node_id: int, status: str, progress: float) -> None:
        with self.db.session() as session:
            node = session.get(FlowNode, node_id)
            if node is None:
                return
            node.status = status
            if status == "running":
                node.running_version = node.latest_version
        self._log(record_id, "INFO", M.NODE_STATUS.format(status=status), progress)

    def _set_flow_status(self, flow_id: int, status: str) -> None:
        with self.db.session() as session:
            get_flow(session, flow_id).status = status

    def sync_status(self, flow_id: int) -> None:
        """BKData's ``sync_status``: ``running`` if any node runs or failed, else ``no-start``."""
        with self.db.session() as session:
            flow = get_flow(session, flow_id)
            statuses = {n.status for n in load_view(session, flow_id).nodes.values()}
            flow.status = "running" if statuses & {"running", "failure"} else "no-start"

    def _fail(self, record_id: int, flow_id: int, error: Message, *, unlock: bool) -> None:
        self._log(
            record_id, "ERROR", M.DEPLOY_ERROR.format(error_zh=error.zh, error_en=error.en), 100.0
        )
        self._finish(record_id, flow_id, "failure", unlock=unlock)

    def _finish(self, record_id: int, flow_id: int, status: str, *, unlock: bool = True) -> None:
        try:
            self.sync_status(flow_id)
        finally:
            if unlock:
                locks.release(self.db, flow_id)
                self._log(record_id, "INFO", M.UNLOCK, 100.0)
            set_progress(self.db, record_id, status)
        log.info("The %s deploy %s of flow %s ended with %s.", "flow", record_id, flow_id, status)
