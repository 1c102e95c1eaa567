"""Node writes: create, full update (PUT), partial update (PATCH) and delete.

Callers hold the flow's lock and a session; every function here either finishes its write
or raises a :class:`~sluice.model.errors.FlowError` before anything is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sluice.model.errors import (
    Message,
    NodeError,
    NodeValidError,
    RelatedFlowRemoveError,
    RunningNodeRemoveError,
)
from sluice.model.nodes import NODE_TYPES, NodeConfig, NodeType
from sluice.store import node_rules
from sluice.store.common import bump_version, dumps, loads
from sluice.store.result_tables import create_result_table, set_fields
from sluice.store.schemas import SchemaInferrer, output_schema
from sluice.store.tables import (
    Flow,
    FlowLink,
    FlowNode,
    NodeRelation,
    ResultTable,
    ResultTableField,
)
from sluice.store.views import ACTIVE_STATUSES, FlowView, load_view

__all__ = ["ParentLink", "delete_node", "patch_node", "save_node"]


@dataclass
class ParentLink:
    """A link into the node being saved: the parent's id and the UI anchor JSON."""

    node_id: int
    frontend_info: dict[str, Any] = field(default_factory=dict)


def _link_frontend(parent: ParentLink) -> dict[str, Any]:
    info = dict(parent.frontend_info)
    if not info:
        info = {
            "source": {"node_id": parent.node_id, "id": f"ch_{parent.node_id}", "arrow": "Right"},
            "target": {"id": f"ch_{parent.node_id}", "arrow": "Left"},
        }
    return info


def save_node(
    session: Session,
    flow: Flow,
    *,
    node_type_name: str,
    raw_config: dict[str, Any],
    parents: list[ParentLink],
    frontend_info: dict[str, Any],
    user: str | None,
    node: FlowNode | None = None,
    planned: node_rules.Planned | None = None,
    inferrer: SchemaInferrer | None = None,
) -> FlowNode:
    """Validate and store a node (new when ``node`` is None, else a full update of it).

    Runs BKData's checks in order: parents in this flow, the type's form, source/storage
    tables, inputs versus links, link rules, business ids, outputs; then writes the node,
    its links into it, its result-table relations and output tables, and a new version.
    """
    node_type = NODE_TYPES.get(node_type_name)
    view = load_view(session, flow.flow_id)
    parent_ids = [p.node_id for p in parents]
    for pid in parent_ids:
        if pid not in view.nodes:
            raise NodeValidError(
                Message(
                    "上游节点与当前节点不在同一画布，不可连接",
                    "The upstream node is not in the same flow, cannot link",
                )
            )
    if len(set(parent_ids)) != len(parent_ids):
        raise NodeValidError(Message("存在重复的连线", "A link is repeated"))
    update = node is not None
    config = node_type.clean(raw_config, update=update)
    if node_type.category == "source":
        assert hasattr(config, "result_table_id")
        config.bk_biz_id = node_rules.check_source_table(
            session, node_type, config.result_table_id, planned
        )
    if node_type.category == "storage":
        assert hasattr(config, "result_table_id")
        if node is not None:
            old_rt = loads(node.node_config, {}).get("result_table_id")
            if old_rt != config.result_table_id:
                raise NodeError(
                    Message(
                        "存储节点不支持更换结果表，请删除重新保存",
                        "A storage node cannot change its result table; delete it and save again",
                    )
                )
        if session.get(ResultTable, config.result_table_id) is None:
            raise NodeError(
                Message(
                    f"结果表({config.result_table_id})不存在",
                    f"Result table ({config.result_table_id}) does not exist",
                )
            )
    if node_type.category != "source":
        node_rules.check_inputs_match_links(
            view, config.name, config.from_result_table_ids, parent_ids
        )
    node_rules.check_links(view, node_type, parent_ids, node.node_id if node else None)
    node_rules.check_business(node_type, config)
    if node_type.name == "merge":
        node_rules.check_merge_schemas(session, config.from_result_table_ids)
    outputs = node_type.outputs(config)
    node_rules.check_outputs_free(
        session, outputs, node.node_id if node else None, config.from_result_table_ids
    )

    if node is None:
        node = FlowNode(
            flow_id=flow.flow_id, node_type=node_type.name, created_by=user, status="no-start"
        )
        session.add(node)
    node.node_name = config.name
    node.node_config = dumps(node_type.stored(config))
    node.frontend_info = dumps(frontend_info)
    node.updated_by = user
    session.flush()
    _replace_links(session, flow.flow_id, node.node_id, parents)
    _replace_relations(session, flow, node, node_type, config, inferrer)
    bump_version(session, flow, user, [node])
    session.flush()
    return node


def _replace_links(session: Session, flow_id: int, node_id: int, parents: list[ParentLink]) -> None:
    existing = {
        link.from_node_id: link
        for link in session.scalars(select(FlowLink).where(FlowLink.to_node_id == node_id))
    }
    wanted = {p.node_id: p for p in parents}
    for from_id, link in existing.items():
        if from_id not in wanted:
            session.delete(link)
    for from_id, parent in wanted.items():
        if from_id in existing:
            if parent.frontend_info:
                existing[from_id].frontend_info = dumps(_link_frontend(parent))
            continue
        session.add(
            FlowLink(
                flow_id=flow_id,
                from_node_id=from_id,
                to_node_id=node_id,
                frontend_info=dumps(_link_frontend(parent)),
            )
        )
    session.flush()


def _replace_relations(
    session: Session,
    flow: Flow,
    node: FlowNode,
    node_type: type[NodeType],
    config: NodeConfig,
    inferrer: SchemaInferrer | None,
) -> None:
    """Record the node's tables and create (or retire) the output tables it produces."""
    old = list(session.scalars(select(NodeRelation).where(NodeRelation.node_id == node.node_id)))
    old_outputs = {r.result_table_id for r in old if r.node_type in node_rules.PRODUCER_TYPES}
    for rel in old:
        session.delete(rel)
    session.flush()
    outputs = node_type.outputs(config)
    new_outputs = {o.result_table_id for o in outputs}
    for rt_id in sorted(old_outputs - new_outputs):
        session.execute(delete(ResultTableField).where(ResultTableField.result_table_id == rt_id))
        session.execute(delete(ResultTable).where(ResultTable.result_table_id == rt_id))
    inherited = output_schema(session, node_type, config, inferrer)
    for out in outputs:
        if session.get(ResultTable, out.result_table_id) is None:
            create_result_table(
                session,
                bk_biz_id=out.bk_biz_id,
                table_name=out.table_name,
                fields=inherited,
                alias=out.alias,
                processing_type="transform" if node_type.name in ("merge", "split") else "stream",
                generate_type=out.generate_type,
                user=node.created_by,
            )
        elif inherited:
            set_fields(session, out.result_table_id, inherited)
        session.add(
            NodeRelation(
                bk_biz_id=out.bk_biz_id,
                project_id=flow.project_id,
                flow_id=flow.flow_id,
                node_id=node.node_id,
                result_table_id=out.result_table_id,
                node_type=node_type.name,
                generate_type=out.generate_type,
                is_head=out.is_head,
            )
        )
    if not outputs:
        for rt_id in node_type.result_table_ids(config):
            session.add(
                NodeRelation(
                    bk_biz_id=config.bk_biz_id,
                    project_id=flow.project_id,
                    flow_id=flow.flow_id,
                    node_id=node.node_id,
                    result_table_id=rt_id,
                    node_type=node_type.name,
                    generate_type="user",
                    is_head=node_type.category == "source",
                )
            )
    session.flush()


def patch_node(
    session: Session,
    flow: Flow,
    node: FlowNode,
    body: dict[str, Any],
    user: str | None,
    inferrer: SchemaInferrer | None = None,
) -> dict[str, Any]:
    """Merge ``body`` over the stored config and save; returns the resulting config.

    ``from_nodes`` (``[{id, from_result_table_ids}]``), when present, recomputes the inputs;
    links and position are unchanged.
    """
    config = loads(node.node_config, {})
    from_nodes = body.get("from_nodes")
    merged = {**config, **{k: v for k, v in body.items() if k not in ("from_nodes", "inputs")}}
    if isinstance(from_nodes, list):
        rts: list[str] = []
        for item in from_nodes:
            if isinstance(item, dict):
                rts.extend(str(rt) for rt in item.get("from_result_table_ids") or [])
        merged["from_result_table_ids"] = rts
    parents = [
        ParentLink(link.from_node_id, loads(link.frontend_info, {}))
        for link in session.scalars(
            select(FlowLink).where(FlowLink.to_node_id == node.node_id).order_by(FlowLink.id)
        )
    ]
    save_node(
        session,
        flow,
        node_type_name=node.node_type,
        raw_config=merged,
        parents=parents,
        frontend_info=loads(node.frontend_info, {}),
        user=user,
        node=node,
        inferrer=inferrer,
    )
    result: dict[str, Any] = loads(node.node_config, {})
    view = load_view(session, flow.flow_id)
    result["from_nodes"] = _from_nodes(
        view, node.node_id, result.get("from_result_table_ids") or []
    )
    return result


def _from_nodes(view: FlowView, node_id: int, inputs: list[str]) -> list[dict[str, Any]]:
    wanted = set(inputs)
    return [
        {
            "id": parent,
            "from_result_table_ids": [rt for rt in view.result_table_ids(parent) if rt in wanted],
        }
        for parent in view.graph.parents(node_id)
    ]


def delete_node(session: Session, flow: Flow, node: FlowNode, user: str | None) -> dict[str, str]:
    """Delete a node, its links and relations, and the tables it produced.

    Raises:
        RunningNodeRemoveError: ``1500010`` while the node is running, starting or stopping.
        RelatedFlowRemoveError: ``1500033`` while a source node (any flow) reads its table.
    """
    if node.status in ACTIVE_STATUSES:
        raise RunningNodeRemoveError(
            Message(
                "任务处于操作状态，当前节点不允许删除",
                "The flow is in operation, the node cannot be deleted",
            )
        )
    view = load_view(session, flow.flow_id)
    children = view.graph.children(node.node_id)
    produced = [
        r.result_table_id
        for r in view.relations.get(node.node_id, [])
        if r.node_type in node_rules.PRODUCER_TYPES
    ]
    if produced:
        readers = session.execute(
            select(NodeRelation.result_table_id, NodeRelation.flow_id).where(
                NodeRelation.result_table_id.in_(produced),
                NodeRelation.node_type.in_(
                    ("stream_source", "kv_source", "unified_kv_source", "redis_kv_source")
                ),
            )
        ).first()
        if readers is not None:
            raise RelatedFlowRemoveError(
                Message(
                    f"结果表({readers[0]})被任务({readers[1]})引用，不允许删除",
                    f"Result table ({readers[0]}) is used by flow ({readers[1]}), cannot delete",
                )
            )
    session.execute(
        delete(FlowLink).where(
            (FlowLink.from_node_id == node.node_id) | (FlowLink.to_node_id == node.node_id)
        )
    )
    session.execute(delete(NodeRelation).where(NodeRelation.node_id == node.node_id))
    for rt_id in produced:
        session.execute(delete(ResultTableField).where(ResultTableField.result_table_id == rt_id))
        session.execute(delete(ResultTable).where(ResultTable.result_table_id == rt_id))
    session.delete(node)
    session.flush()
    bump_version(session, flow, user, [])
    return load_view(session, flow.flow_id).downstream_statuses(children)


def node_view_dict(session: Session, flow_id: int, node_id: int) -> dict[str, Any]:
    """The node dict of ``node_id`` as it is now."""
    return load_view(session, flow_id).node_dict(node_id)


__all__ += ["node_view_dict"]
