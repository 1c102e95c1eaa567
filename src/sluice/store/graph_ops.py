"""The graph endpoints' operations: read the graph or draft, and PUT graph actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.model.errors import (
    Message,
    NodeValidError,
    RunningLinkCreateError,
    RunningLinkRemoveError,
    ValidError,
)
from sluice.store.common import bump_version, dumps, get_flow
from sluice.store.tables import FlowLink, FlowNode
from sluice.store.views import load_view

__all__ = ["GRAPH_ACTIONS", "apply_graph_action", "draft", "graph"]

GRAPH_ACTIONS = ("update_nodes", "delete_lines", "create_lines", "save_draft")


def graph(session: Session, flow_id: int) -> dict[str, Any]:
    """``{nodes, links, version}`` with every node field of BKData's graph."""
    flow = get_flow(session, flow_id)
    view = load_view(session, flow_id)
    shared = _shared_tables(session, flow_id, view.relations)
    nodes = []
    for node_id in view.nodes:
        item = view.node_dict(node_id)
        item.update(
            custom_calculate_status=None,
            is_data_corrected=bool(view.configs[node_id].get("is_open_correct")),
            related=any(rt in shared for rt in item["result_table_ids"]),
            alert_status="info",
        )
        nodes.append(item)
    return {
        "nodes": nodes,
        "links": [view.link_dict(link) for link in view.links],
        "version": flow.latest_version,
    }


def draft(session: Session, flow_id: int) -> dict[str, Any]:
    """The canvas view ``{locations, lines, version}``."""
    flow = get_flow(session, flow_id)
    data = graph(session, flow_id)
    locations = []
    for node in data["nodes"]:
        node = dict(node)
        node.pop("alert_status")
        config = node["node_config"]
        node["bk_biz_id"] = config.get("bk_biz_id")
        node["node_config"] = {
            "fixed_delay": config.get("fixed_delay") or 0,
            "count_freq": config.get("count_freq") or 0,
            "schedule_period": config.get("schedule_period") or "hour",
        }
        locations.append(node)
    return {"locations": locations, "lines": data["links"], "version": flow.latest_version}


def _shared_tables(session: Session, flow_id: int, relations: dict[int, list[Any]]) -> set[str]:
    from sluice.store.tables import NodeRelation

    rts = {r.result_table_id for rels in relations.values() for r in rels}
    if not rts:
        return set()
    return set(
        session.scalars(
            select(NodeRelation.result_table_id).where(
                NodeRelation.result_table_id.in_(rts), NodeRelation.flow_id != flow_id
            )
        )
    )


def _int(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NodeValidError(Message(f"{field}必须是整数", f"{field} must be an integer")) from None


def apply_graph_action(
    session: Session, flow_id: int, action: str, data: list[Any], user: str | None
) -> dict[str, Any]:
    """Apply ``update_nodes``, ``create_lines`` or ``delete_lines`` and return BKData's result.

    Raises:
        ValidError: ``1500004`` for any other action (``save_draft`` has no meaning in
            Sluice: there is no separate draft; it is refused the same way, with its reason).
        NodeValidError: ``1500001`` when a node is not in this flow.
        RunningLinkCreateError / RunningLinkRemoveError: ``1500018`` / ``1500013`` between running nodes.
    """
    flow = get_flow(session, flow_id)
    if action not in ("update_nodes", "create_lines", "delete_lines"):
        raise ValidError(
            Message(
                "非法操作，目前仅支持（update_nodes, delete_lines, create_lines）",
                "Illegal operation, only (update_nodes, delete_lines, create_lines) are supported",
            )
        )
    items = [item for item in data if isinstance(item, dict)]
    if len(items) != len(data):
        raise NodeValidError(
            Message("data的每一项必须是对象", "Every item of data must be an object")
        )
    nodes = {
        n.node_id: n for n in session.scalars(select(FlowNode).where(FlowNode.flow_id == flow_id))
    }

    def node_of(raw: Any) -> FlowNode:
        node_id = _int(raw, "node_id")
        if node_id not in nodes:
            raise NodeValidError(
                Message(
                    f"节点(id:{node_id})不属于该Flow",
                    f"Node (id:{node_id}) does not belong to this flow",
                )
            )
        return nodes[node_id]

    if action == "update_nodes":
        for item in items:
            node = node_of(item.get("node_id"))
            info = item.get("frontend_info")
            if not isinstance(info, dict):
                raise NodeValidError(
                    Message("frontend_info必须是对象", "frontend_info must be an object")
                )
            node.frontend_info = dumps(
                {"x": float(info.get("x") or 0), "y": float(info.get("y") or 0)}
            )
        return {"version": flow.latest_version}
    touched: list[int] = []
    for item in items:
        src, dst = node_of(item.get("from_node_id")), node_of(item.get("to_node_id"))
        both_running = src.status == "running" and dst.status == "running"
        existing = session.scalars(
            select(FlowLink).where(
                FlowLink.from_node_id == src.node_id, FlowLink.to_node_id == dst.node_id
            )
        ).first()
        if action == "create_lines":
            if both_running:
                raise RunningLinkCreateError(
                    Message("运行中的节点不能连线", "Running nodes cannot be linked")
                )
            if existing is None:
                info = (
                    item.get("frontend_info") if isinstance(item.get("frontend_info"), dict) else {}
                )
                session.add(
                    FlowLink(
                        flow_id=flow_id,
                        from_node_id=src.node_id,
                        to_node_id=dst.node_id,
                        frontend_info=dumps(info),
                    )
                )
        else:
            if both_running:
                raise RunningLinkRemoveError(
                    Message(
                        "运行中的节点之间的连线不能删除",
                        "A link between running nodes cannot be removed",
                    )
                )
            if existing is not None:
                session.delete(existing)
        touched.append(dst.node_id)
    session.flush()
    version = bump_version(session, flow, user, [])
    view = load_view(session, flow_id)
    return {"version": version, "status": view.downstream_statuses(touched)}
