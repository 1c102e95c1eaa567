"""The synchronous checks of start, stop and restart, and which nodes a restart touches."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.model.errors import FlowDeployNotAllowed, FlowTaskNotAllowed, Message, ValidError
from sluice.runtime.engine import Engine
from sluice.store.locks import lock_error
from sluice.store.tables import DeployRecord, Flow
from sluice.store.views import FlowView

__all__ = [
    "CONSUMING_MODES",
    "STREAM_TYPES",
    "check_action",
    "check_consuming_mode",
    "nodes_to_restart",
]

CONSUMING_MODES = ("continue", "from_tail", "from_head")
STREAM_TYPES = ("realtime", "model_ts_custom")


def check_consuming_mode(mode: Any) -> str:
    """Return ``mode`` (default ``continue``) or raise ``1500004``."""
    if mode in (None, ""):
        return "continue"
    if mode not in CONSUMING_MODES:
        raise ValidError(
            Message(
                "非法操作，目前仅支持（from_tail, from_head, continue）",
                "Illegal operation, only (from_tail, from_head, continue) are supported",
            )
        )
    return str(mode)


def check_action(flow: Flow, view: FlowView, action: str, engine: Engine) -> None:
    """BKData's synchronous checks for ``action``, in its order (topology, lock, state),
    plus Sluice's own: every node's type must be runnable by the engine."""
    if action in ("start", "restart"):
        view.graph.check_start_topology()
        for node in view.nodes.values():
            reason = engine.unsupported_reason(node.node_type)
            if reason is not None:
                raise FlowDeployNotAllowed(
                    Message(
                        f"节点({node.node_name})无法启动: ",
                        f"Node ({node.node_name}) cannot be started: ",
                    )
                    + reason
                )
    if flow.is_locked:
        raise lock_error(flow)
    if action == "start" and flow.status in ("running", "starting"):
        raise FlowTaskNotAllowed(
            Message("处于运行状态，不能启动", "In running state, cannot be started")
        )
    if action == "stop" and flow.status == "no-start":
        raise FlowTaskNotAllowed(
            Message("处于未运行状态，不能停止", "In non-running state, cannot be stopped")
        )
    if action == "restart" and flow.status == "no-start":
        raise FlowTaskNotAllowed(
            Message("处于未运行状态，不能重启", "In non-running state, cannot be restarted")
        )


def _last_context(session: Session, flow_id: int) -> dict[str, Any]:
    record = session.scalars(
        select(DeployRecord)
        .where(
            DeployRecord.flow_id == flow_id,
            DeployRecord.action.in_(("start", "restart")),
            DeployRecord.status == "success",
        )
        .order_by(DeployRecord.id.desc())
    ).first()
    return json.loads(record.context or "{}") if record else {}


def nodes_to_restart(
    session: Session, view: FlowView, consuming_mode: str, cluster_group: Any
) -> list[int]:
    """BKData's ``build_nodes_to_restart``: new, modified or stopped nodes, stream nodes when
    the consuming mode is not ``continue``, everything when the cluster group changed, plus
    all their downstream nodes. Returns ids in topological order."""
    last = _last_context(session, view.flow_id)
    changed_group = cluster_group is not None and cluster_group != last.get("cluster_group")
    chosen: set[int] = set()
    for node_id, node in view.nodes.items():
        if (
            node.running_version is None
            or node.running_version != node.latest_version
            or node.status != "running"
            or (consuming_mode != "continue" and node.node_type in STREAM_TYPES)
            or changed_group
        ):
            chosen.add(node_id)
    todo = list(chosen)
    while todo:
        for child in view.graph.children(todo.pop()):
            if child not in chosen:
                chosen.add(child)
                todo.append(child)
    return [n for n in view.graph.topological_order() if n in chosen]
