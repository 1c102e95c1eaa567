"""Create a flow with its nodes (BKData's import format), re-import, and export.

The create format is a list of nodes, each with a client-local ``id``, ``node_type``,
``from_nodes: [{id, from_result_table_ids}]``, ``frontend_info`` and its config fields flat.
Nodes are inserted in dependency rounds inside one transaction, so a failure leaves nothing.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from sluice.model.errors import FlowError, FlowManageError, Message
from sluice.model.nodes import NODE_TYPES
from sluice.model.nodes.storages.redis import RedisStorageConfig
from sluice.store.common import get_flow, loads
from sluice.store.flows import create_flow, delete_flow_nodes
from sluice.store.node_rules import Planned
from sluice.store.nodes import ParentLink, save_node
from sluice.store.schemas import SchemaInferrer
from sluice.store.tables import Flow
from sluice.store.views import ACTIVE_STATUSES, load_view

__all__ = [
    "REQUIRED_NODE_KEYS",
    "create_flow_with_nodes",
    "export_flow",
    "import_nodes",
    "normalise_nodes",
]

REQUIRED_NODE_KEYS = ("id", "from_nodes", "node_type", "bk_biz_id", "name")
_DROP_ON_EXPORT = ("from_result_table_ids", "inputs")


def normalise_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BKData's ``validate_node_infos``: derive inputs from ``from_nodes`` per category.

    Sources read their ``result_table_id``; a storage stores the one table of its one parent;
    other nodes take the concatenation of their parents' tables.
    """
    result = []
    for node in nodes:
        node = dict(node)
        node_type = NODE_TYPES.get(str(node["node_type"]))
        from_nodes = node.get("from_nodes") or []
        rts = [str(rt) for item in from_nodes for rt in (item.get("from_result_table_ids") or [])]
        if node_type.category == "source":
            rt = node.get("result_table_id")
            node["from_result_table_ids"] = [rt] if rt else []
        elif node_type.category == "storage":
            if len(from_nodes) != 1 or len(rts) != 1:
                raise FlowManageError(
                    Message(
                        f"存储节点({node.get('name')})必须有且只有一个上游结果表",
                        f"Storage node ({node.get('name')}) needs exactly one upstream table",
                    )
                )
            node["result_table_id"] = rts[0]
            node["from_result_table_ids"] = rts
        else:
            node["from_result_table_ids"] = rts
        result.append(node)
    return result


def plan_tables(nodes: list[dict[str, Any]]) -> Planned:
    """The tables the (normalised) nodes will create, and the Redis join tables among them."""
    planned = Planned()
    for node in nodes:
        node_type = NODE_TYPES.get(str(node["node_type"]))
        config = {
            k: v
            for k, v in node.items()
            if k not in ("id", "from_nodes", "node_type", "frontend_info")
        }
        try:
            cleaned = node_type.clean(config)
        except FlowError:
            continue  # reported with its node when the node is saved
        for out in node_type.outputs(cleaned):
            planned.tables[out.result_table_id] = out.bk_biz_id
        if isinstance(cleaned, RedisStorageConfig) and cleaned.storage_type == "join":
            planned.join_tables.add(cleaned.result_table_id)
    return planned


def import_nodes(
    session: Session,
    flow: Flow,
    nodes: list[dict[str, Any]],
    user: str | None,
    inferrer: SchemaInferrer | None = None,
) -> list[int]:
    """Insert ``nodes`` (already normalised) into ``flow`` in dependency rounds.

    Raises:
        FlowManageError: ``1500021`` naming the node that failed and why, or the ids that
            could never be placed (an illegal relation such as a cycle or a missing parent).
    """
    placed: dict[Any, int] = {}
    planned = plan_tables(nodes)
    pending = list(nodes)
    node_ids: list[int] = []
    last_x = 0.0
    while pending:
        ready = [
            n for n in pending if all(p.get("id") in placed for p in (n.get("from_nodes") or []))
        ]
        if not ready:
            ids = ", ".join(str(n.get("id")) for n in pending)
            raise FlowManageError(
                Message(f"存在非法节点关系，id={ids}", f"Illegal node relations, id={ids}")
            )
        for node in ready:
            pending.remove(node)
            frontend = node.get("frontend_info")
            if not isinstance(frontend, dict):
                frontend = {"x": min(last_x + 150, 1200), "y": 100}
            last_x = float(frontend.get("x") or 0)
            parents = [
                ParentLink(
                    placed[item["id"]],
                    {
                        "source": {
                            "node_id": placed[item["id"]],
                            "id": f"ch_r{secrets.randbelow(9000) + 1000}",
                            "arrow": "Right",
                        },
                        "target": {"id": f"ch_r{secrets.randbelow(9000) + 1000}", "arrow": "Left"},
                    },
                )
                for item in node.get("from_nodes") or []
            ]
            config = {
                k: v
                for k, v in node.items()
                if k not in ("id", "from_nodes", "node_type", "frontend_info")
            }
            try:
                created = save_node(
                    session,
                    flow,
                    node_type_name=str(node["node_type"]),
                    raw_config=config,
                    parents=parents,
                    frontend_info=frontend,
                    user=user,
                    planned=planned,
                    inferrer=inferrer,
                )
            except FlowError as exc:
                name = node.get("name")
                raise FlowManageError(
                    Message(
                        f"增加节点失败，明细(节点({name})创建失败，",
                        f"Failed to add nodes, detail (node ({name}) creation failed, ",
                    )
                    + exc.msg
                    + ")"
                ) from None
            placed[node["id"]] = created.node_id
            node_ids.append(created.node_id)
    return node_ids


def create_flow_with_nodes(
    session: Session,
    *,
    project_id: int,
    flow_name: str,
    nodes: list[dict[str, Any]],
    user: str | None,
    bk_app_code: str | None = None,
    tdw_conf: str = "{}",
    inferrer: SchemaInferrer | None = None,
) -> tuple[int, list[int]]:
    """Create a flow and all its nodes; returns ``(flow_id, node_ids)``."""
    normalised = normalise_nodes(nodes)
    flow = create_flow(
        session,
        project_id=project_id,
        flow_name=flow_name,
        user=user,
        bk_app_code=bk_app_code,
        tdw_conf=tdw_conf,
    )
    return flow.flow_id, import_nodes(session, flow, normalised, user, inferrer)


def reimport_flow(
    session: Session,
    flow_id: int,
    nodes: list[dict[str, Any]],
    user: str | None,
    inferrer: SchemaInferrer | None = None,
) -> list[int]:
    """Replace every node of an existing, stopped flow with ``nodes``."""
    flow = get_flow(session, flow_id)
    if flow.status in ACTIVE_STATUSES:
        raise FlowManageError(
            Message(
                "创建任务期间出现非预期异常(任务正在运行中，不可导入dataflow)，请联系管理员",
                "Unexpected error while creating the flow (the flow is running and cannot be imported), "
                "please contact the administrator",
            )
        )
    normalised = normalise_nodes(nodes)
    delete_flow_nodes(session, flow, user)
    return import_nodes(session, flow, normalised, user, inferrer)


def export_flow(session: Session, flow_id: int) -> dict[str, Any]:
    """The flow in create format, directly re-importable: ``{project_id, flow_name, nodes}``."""
    flow = get_flow(session, flow_id)
    view = load_view(session, flow_id)
    nodes = []
    for node_id in view.graph.topological_order():
        node = view.nodes[node_id]
        config = dict(view.configs[node_id])
        inputs = set(config.get("from_result_table_ids") or [])
        for key in _DROP_ON_EXPORT:
            config.pop(key, None)
        config["id"] = node_id
        config["from_nodes"] = [
            {
                "id": parent,
                "from_result_table_ids": [
                    rt for rt in view.result_table_ids(parent) if rt in inputs
                ],
            }
            for parent in view.graph.parents(node_id)
        ]
        config["node_type"] = node.node_type
        config["frontend_info"] = loads(node.frontend_info, {})
        nodes.append(config)
    return {"project_id": flow.project_id, "flow_name": flow.flow_name, "nodes": nodes}


__all__ += ["reimport_flow"]
