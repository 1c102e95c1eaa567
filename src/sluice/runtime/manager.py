"""``FlowManager``: the one entry point of the API, CLI and web page into running flows.

Start, stop and restart run BKData's synchronous checks, create a ``pending`` deploy record
and hand it to a background executor, returning ``{task_id}`` at once. The deploy itself
(:class:`~sluice.runtime.deployer.Deployer`) moves statuses and writes the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from sluice.model.errors import FlowDeployNotAllowed, FlowError, Message
from sluice.runtime import messages as M
from sluice.runtime import prometheus
from sluice.runtime.deploy_checks import check_action, check_consuming_mode, nodes_to_restart
from sluice.runtime.deployer import Deployer
from sluice.runtime.engine import Engine, LocalEngine, NodeTask
from sluice.runtime.metrics import MetricsRegistry
from sluice.runtime.tasks.tables import TableIO
from sluice.store import locks
from sluice.store.common import get_flow, new_version
from sluice.store.db import Database
from sluice.store.deploys import (
    append_log,
    create_record,
    expire_if_stale,
    latest_record,
    list_records,
    record_dict,
    set_progress,
)
from sluice.store.tables import DeployRecord, Flow, FlowNode
from sluice.store.views import load_view

__all__ = ["FlowManager"]

log = logging.getLogger(__name__)


class FlowManager:
    """Deploys flows: synchronous checks, deploy records, background execution.

    Args:
        db: the metadata store.
        engine: what runs node tasks (defaults to a :class:`LocalEngine`).
        workers: how many deploys may run at once.
        metrics: the per-node counters the engine's tasks update (a new registry if omitted).
        tables: result-table I/O over the bus (produce, tail, read); ``None`` without a bus.
    """

    def __init__(
        self,
        db: Database,
        engine: Engine | None = None,
        workers: int = 4,
        *,
        metrics: MetricsRegistry | None = None,
        tables: TableIO | None = None,
    ) -> None:
        self.db = db
        self.engine: Engine = engine or LocalEngine()
        self.deployer = Deployer(db, self.engine)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sluice-deploy")
        self._futures: dict[int, Future[None]] = {}
        self.metrics = metrics or MetricsRegistry()
        self._tables = tables

    # -- actions ----------------------------------------------------------------------------

    def start(
        self, flow_id: int, user: str | None, consuming_mode: Any = None, cluster_group: Any = None
    ) -> int:
        """Check and submit a start; returns the task id."""
        mode = check_consuming_mode(consuming_mode)
        return self._submit(
            flow_id,
            "start",
            user,
            {"consuming_mode": mode, "cluster_group": cluster_group, "progress": 10.0},
        )

    def stop(self, flow_id: int, user: str | None) -> int:
        """Check and submit a stop; returns the task id."""
        return self._submit(flow_id, "stop", user, {"progress": 10.0})

    def restart(
        self, flow_id: int, user: str | None, consuming_mode: Any = None, cluster_group: Any = None
    ) -> int:
        """Check and submit a restart of what changed plus its downstream; returns the task id."""
        mode = check_consuming_mode(consuming_mode)
        return self._submit(
            flow_id,
            "restart",
            user,
            {"consuming_mode": mode, "cluster_group": cluster_group, "progress": 10.0},
        )

    def multi(
        self,
        action: str,
        flow_ids: list[int],
        user: str | None,
        lang: str = "zh-hans",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Run ``action`` on each flow: ``{success_flows: {id: task_id}, fail_flows: {id: msg}}``."""
        operations: dict[str, Callable[..., int]] = {
            "start": self.start,
            "stop": self.stop,
            "restart": self.restart,
        }
        operation = operations[action]
        success: dict[str, int] = {}
        failed: dict[str, str] = {}
        for flow_id in flow_ids:
            try:
                success[str(flow_id)] = operation(flow_id, user, **kwargs)
            except FlowError as exc:
                failed[str(flow_id)] = exc.message(lang)
        return {"success_flows": success, "fail_flows": failed}

    def _submit(self, flow_id: int, action: str, user: str | None, context: dict[str, Any]) -> int:
        restart_nodes: list[int] | None = None
        with self.db.session() as session:
            flow = get_flow(session, flow_id)
            view = load_view(session, flow_id)
            check_action(flow, view, action, self.engine)
            if action == "restart":
                restart_nodes = nodes_to_restart(
                    session, view, context["consuming_mode"], context["cluster_group"]
                )
                if not restart_nodes:
                    raise FlowDeployNotAllowed(
                        Message("画布未进行更改，无需重启", "Flow unchanged, no restart required")
                    )
            if action != "stop" and flow.latest_version is None:
                flow.latest_version = new_version()
            version = None if action == "stop" else flow.latest_version
            record = create_record(
                session, flow_id=flow_id, action=action, context=context, version=version, user=user
            )
            record_id = record.id
        log.info("Flow %s: %s submitted as deploy %s by %s.", flow_id, action, record_id, user)
        self._futures[record_id] = self._executor.submit(
            self.deployer.run, record_id, restart_nodes
        )
        return record_id

    # -- reads ------------------------------------------------------------------------------

    def latest_deploy(self, flow_id: int, lang: str) -> dict[str, Any] | None:
        """The newest visible deploy record; a record running past 60 minutes is failed by
        this read (the change shows on the next read, as in BKData)."""
        with self.db.session() as session:
            get_flow(session, flow_id)
            record = latest_record(session, flow_id)
            if record is None:
                return None
            data = record_dict(record, lang, with_progress=True, with_created_at=False)
            stale = expire_if_stale(record)
            record_id = record.id
        if stale:
            self._expire(record_id, flow_id)
        return data

    def deploys(self, flow_id: int, lang: str) -> list[dict[str, Any]]:
        """Every deploy record of the flow, newest first."""
        with self.db.session() as session:
            get_flow(session, flow_id)
            return [
                record_dict(r, lang, with_progress=True, with_created_at=True)
                for r in list_records(session, flow_id)
            ]

    def task(self, flow_id: int, task_id: int, lang: str) -> dict[str, Any] | None:
        """One deploy record by id (``None`` when it is not this flow's)."""
        with self.db.session() as session:
            get_flow(session, flow_id)
            record = session.get(DeployRecord, task_id)
            if record is None or record.flow_id != flow_id:
                return None
            return record_dict(record, lang, with_progress=False, with_created_at=False)

    def _expire(self, record_id: int, flow_id: int) -> None:
        append_log(self.db, record_id, "ERROR", M.TIMEOUT, 100.0)
        set_progress(self.db, record_id, "failure")
        locks.release(self.db, flow_id)
        self.deployer.sync_status(flow_id)

    def node_metrics(self, flow_id: int, node_id: int) -> dict[str, float]:
        """The framework counters of one node."""
        return self.metrics.snapshot(flow_id, node_id)

    def flow_monitor(self, flow_id: int, nodes: list[dict[str, Any]]) -> dict[str, Any]:
        """BKData's flow ``monitor_data``: alerts, per-node input/output totals, table status."""
        totals: dict[str, Any] = {}
        rt_status: dict[str, Any] = {}
        for node in nodes:
            counters = self.metrics.snapshot(flow_id, node["node_id"])
            per_rt = {
                rt: {"input": counters["records_in"], "output": counters["records_out"]}
                for rt in node["result_table_ids"]
            }
            totals[str(node["node_id"])] = {
                "input": counters["records_in"],
                "output": counters["records_out"],
                "dropped": counters["dropped"],
                "dead_lettered": counters["dead_lettered"],
                "errors": counters["errors"],
                "lag": counters["lag"],
                "batch_ms": counters["last_batch_ms"],
                "node_type": node["node_type"],
                "data": per_rt,
            }
            for rt in node["result_table_ids"]:
                rt_status[rt] = {
                    "status": node["status"],
                    "lag": counters["lag"],
                    "dead_lettered": counters["dead_lettered"],
                }
        return {"dmonitor_alerts": [], "data_loss_io_total": totals, "rt_status": rt_status}

    def wait(self, task_id: int, timeout: float | None = None) -> None:
        """Block until deploy ``task_id`` has ended (for the CLI and tests)."""
        future = self._futures.get(task_id)
        if future is not None:
            future.result(timeout=timeout)

    def resume(self) -> None:
        """Called on server start. Deploys left ``pending``/``running`` by a dead process are
        failed with a log line and their flows unlocked, so nothing stays stuck; then every
        flow whose status is ``running`` gets its running (or starting) nodes' tasks started
        again with ``continue``, so they resume from their committed offsets."""
        with self.db.session() as session:
            stuck = [
                (r.id, r.flow_id)
                for r in session.scalars(
                    select(DeployRecord).where(DeployRecord.status.in_(("pending", "running")))
                )
            ]
        for record_id, flow_id in stuck:
            append_log(
                self.db,
                record_id,
                "ERROR",
                Message(
                    "服务重启，部署流程中止", "The server restarted; the deployment was aborted"
                ),
                100.0,
            )
            set_progress(self.db, record_id, "failure")
            locks.release(self.db, flow_id)
            self.deployer.sync_status(flow_id)
        with self.db.session() as session:
            running = list(
                session.scalars(
                    select(Flow.flow_id)
                    .where(Flow.status == "running", Flow.active.is_(True))
                    .order_by(Flow.flow_id)
                )
            )
        for flow_id in running:
            self._resume_flow(flow_id)

    def _resume_flow(self, flow_id: int) -> None:
        with self.db.session() as session:
            view = load_view(session, flow_id)
            tasks: list[NodeTask] = []
            for node_id in view.graph.topological_order():
                node = view.nodes[node_id]
                if node.status == "stopping":
                    db_node = session.get(FlowNode, node_id)
                    assert db_node is not None
                    db_node.status = "no-start"
                if node.status not in ("running", "starting"):
                    continue
                tasks.append(
                    Deployer.task_of(
                        node, view.configs[node_id], view.result_table_ids(node_id), {}
                    )
                )
        for task in tasks:
            try:
                self.engine.start_node(task)
            except Exception as exc:
                log.exception("Resuming node %s of flow %s failed.", task.node_id, flow_id)
                self.node_failed(task, str(exc))
                continue
            with self.db.session() as session:
                db_node = session.get(FlowNode, task.node_id)
                if db_node is not None and db_node.status != "running":
                    db_node.status = "running"
                    db_node.running_version = db_node.latest_version
        if tasks:
            log.info("Flow %s resumed %d node task(s) with `continue`.", flow_id, len(tasks))
        self.deployer.sync_status(flow_id)

    def node_failed(self, task: NodeTask, error: str) -> None:
        """A task failed while running (called from its thread): the node goes to
        ``failure`` and the error is appended to the flow's latest deploy log."""
        with self.db.session() as session:
            node = session.get(FlowNode, task.node_id)
            if node is not None:
                node.status = "failure"
            record = latest_record(session, task.flow_id)
            record_id = record.id if record is not None else None
        if record_id is not None:
            append_log(
                self.db,
                record_id,
                "ERROR",
                Message(
                    f"节点({task.name})运行失败，errors=({error})",
                    f"Node ({task.name}) failed while running, errors=({error})",
                ),
                None,
            )
        self.deployer.sync_status(task.flow_id)

    # -- data --------------------------------------------------------------------------------

    @property
    def tables(self) -> TableIO:
        """Result-table I/O; raises ``FlowError`` when the server was built without a bus."""
        if self._tables is None:
            raise FlowError(
                Message("服务未配置数据总线", "This server was built without a data bus")
            )
        return self._tables

    def ensure_rt_topic(self, rt_id: str) -> str | None:
        """Create a registered result table's topic; ``None`` when there is no bus (a server
        built for the API alone). Called by the API after ``POST /v3/sluice/result_tables/``."""
        return None if self._tables is None else self._tables.ensure(rt_id)

    def metrics_text(self) -> tuple[bytes, str]:
        """The Prometheus exposition of every node's counters and its content type."""
        return prometheus.render(self.metrics), prometheus.CONTENT_TYPE

    def close(self) -> None:
        """Wait for running deploys, stop the executor, then stop every task (each drains
        its in-flight batch and commits). Stored statuses stay: they are what a restarted
        server resumes."""
        self._executor.shutdown(wait=True)
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()
