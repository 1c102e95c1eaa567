"""The checks a node must pass against the rest of the flow before it is saved.

Each function raises the BKData error for the first rule broken; :mod:`sluice.store.nodes`
calls them in BKData's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.model.errors import COMMA, Message, NodeError, NodeValidError, ResultTableNotFoundError
from sluice.model.link_rules import check_node_links
from sluice.model.nodes import NODE_TYPES, NodeConfig, NodeType, OutputTable
from sluice.model.nodes.base import field_label
from sluice.model.nodes.storages.redis import RedisStorageConfig
from sluice.model.result_table import biz_id_of
from sluice.store.common import loads
from sluice.store.result_tables import rt_fields
from sluice.store.tables import FlowNode, NodeRelation, ResultTable
from sluice.store.views import FlowView


@dataclass
class Planned:
    """Tables an import will create: ``{rt_id: bk_biz_id}``, and those stored as Redis joins."""

    tables: dict[str, int] = field(default_factory=dict)
    join_tables: set[str] = field(default_factory=set)


__all__ = [
    "PRODUCER_TYPES",
    "Planned",
    "check_business",
    "check_inputs_match_links",
    "check_links",
    "check_merge_schemas",
    "check_outputs_free",
    "check_source_table",
]

_KV_SOURCES = ("kv_source", "unified_kv_source", "redis_kv_source")
PRODUCER_TYPES = ("realtime", "merge", "split", "model_ts_custom")
"""Node types that create result tables."""


def check_source_table(
    session: Session, node_type: type[NodeType], rt_id: str, planned: Planned | None = None
) -> int:
    """A source's table must exist; a KV source's table must be stored as a Redis join table.

    ``planned`` holds the tables (and Redis join tables) an import in progress will create,
    so an import may declare a source before the node producing its table. Returns the
    table's business id.
    """
    if planned is not None and rt_id in planned.tables:
        if node_type.name in _KV_SOURCES and rt_id not in planned.join_tables:
            raise NodeError(
                Message(
                    f"结果表({rt_id})作为关联数据源，需要具备Redis(join)存储",
                    f"Result table ({rt_id}) needs a Redis join storage to be a KV source",
                )
            )
        return planned.tables[rt_id]
    rt = session.get(ResultTable, rt_id)
    if rt is None:
        raise ResultTableNotFoundError(
            Message(f"结果表({rt_id})不存在", f"Result table ({rt_id}) does not exist")
        )
    if node_type.name in _KV_SOURCES:
        storages = session.scalars(
            select(FlowNode)
            .join(NodeRelation, NodeRelation.node_id == FlowNode.node_id)
            .where(
                NodeRelation.result_table_id == rt_id,
                FlowNode.node_type.in_(("redis_storage", "tredis_storage")),
            )
        )
        joinable = False
        for storage in storages:
            config = NODE_TYPES.get(storage.node_type).clean(
                loads(storage.node_config, {}), update=True
            )
            joinable = joinable or (
                isinstance(config, RedisStorageConfig) and config.storage_type == "join"
            )
        if not joinable:
            raise NodeError(
                Message(
                    f"结果表({rt_id})作为关联数据源，需要具备Redis(join)存储",
                    f"Result table ({rt_id}) needs a Redis join storage to be a KV source",
                )
            )
    return rt.bk_biz_id


def check_inputs_match_links(
    view: FlowView, node_name: str, inputs: list[str], parents: list[int]
) -> None:
    """Every parent contributes a table; every input comes from a parent; no more parents than inputs."""
    wanted = set(inputs)
    if len(parents) > len(wanted):
        raise NodeValidError(
            Message(
                "连线配置错误，当前修改了上游节点，需要重新保存",
                "Link configuration error: upstream changed, save the node again",
            )
        )
    offered: set[str] = set()
    for parent_id in parents:
        rts = set(view.result_table_ids(parent_id))
        offered |= rts
        if not rts & wanted:
            parent = view.nodes[parent_id].node_name
            raise NodeValidError(
                Message(
                    f"节点({node_name})连线错误，其上游节点({parent})的结果表应被当前节点指定使用",
                    f"Link error on node ({node_name}): a table of its upstream node ({parent}) must be used",
                )
            )
    unlinked = sorted(wanted - offered)
    if unlinked:
        raise NodeValidError(
            Message(
                f"连线错误，节点不可使用未经连线的父结果表({', '.join(unlinked)})",
                f"Link error: the node may not use tables of unlinked parents ({', '.join(unlinked)})",
            )
        )


def check_links(
    view: FlowView, node_type: type[NodeType], parents: list[int], node_id: int | None
) -> None:
    """Link rules (``1500032``) for the links into the node."""
    parent_types = [NODE_TYPES.get(view.nodes[p].node_type) for p in parents]
    siblings = [
        [NODE_TYPES.get(view.nodes[c].node_type) for c in view.graph.children(p) if c != node_id]
        for p in parents
    ]
    check_node_links(node_type, parent_types, siblings)


def check_business(node_type: type[NodeType], config: NodeConfig) -> None:
    """All inputs of a processing or storage node belong to the node's business."""
    if node_type.category == "source":
        return
    for rt_id in config.from_result_table_ids:
        biz = biz_id_of(rt_id)
        if biz != config.bk_biz_id:
            raise NodeValidError(
                Message(
                    "暂不支持不同业务的数据关联操作",
                    "Joining data of different businesses is not supported",
                )
                + Message(f"（{rt_id}）", f" ({rt_id})")
            )


def check_merge_schemas(session: Session, inputs: list[str]) -> None:
    """A merge's inputs must have identical schemas (checked where every schema is known)."""
    schemas = [
        {(f["field_name"], f["field_type"]) for f in rt_fields(session, rt)} for rt in inputs
    ]
    if any(not s for s in schemas) or len(schemas) < 2:
        return
    first = schemas[0]
    for other in schemas[1:]:
        if len(other) != len(first):
            raise NodeValidError(
                Message(
                    "父表字段列表长度不一致", "The parent tables have different numbers of fields"
                )
            )
        diff = sorted(first ^ other)
        if diff:
            raise NodeValidError(
                Message(
                    f"父表间存在一个不一致的字段（{diff[0][0]}）",
                    f"The parent tables differ in field ({diff[0][0]})",
                )
            )


def check_outputs_free(
    session: Session, outputs: list[OutputTable], node_id: int | None, inputs: list[str]
) -> None:
    """Output tables must not be inputs, nor belong to a table someone else produces."""
    for out in outputs:
        if out.result_table_id in inputs:
            raise NodeValidError(
                field_label("table_name")
                + COMMA
                + Message("输入和输出结果表不允许重复", "input and output tables must differ")
            )
        existing = session.get(ResultTable, out.result_table_id)
        if existing is None:
            continue
        owner = session.scalars(
            select(NodeRelation).where(
                NodeRelation.result_table_id == out.result_table_id,
                NodeRelation.node_type.in_(PRODUCER_TYPES),
            )
        ).first()
        if owner is None or owner.node_id != node_id:
            raise NodeError(
                Message(
                    f"结果表({out.result_table_id})已存在",
                    f"Result table ({out.result_table_id}) already exists",
                )
            )
