"""Result tables and their schemas: create, read, register node outputs, delete.

A result table created through the API is a plain source table (``processing_type``
``clean``); processing nodes register their outputs here as ``stream``/``transform`` tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sluice.model.errors import Message, NodeError, RelatedFlowRemoveError, ResultTableNotFoundError
from sluice.model.fields import FieldSpec
from sluice.model.result_table import check_table_name, make_rt_id
from sluice.store.common import fmt_dt
from sluice.store.tables import Flow, FlowNode, NodeRelation, ResultTable, ResultTableField

__all__ = [
    "create_result_table",
    "delete_result_table",
    "get_result_table",
    "list_result_tables",
    "rt_dict",
    "rt_fields",
    "set_fields",
]


def get_result_table(session: Session, rt_id: str) -> ResultTable:
    """Return result table ``rt_id``; raises ``1500020`` when it does not exist."""
    rt = session.get(ResultTable, rt_id)
    if rt is None:
        raise ResultTableNotFoundError(
            Message(f"结果表({rt_id})不存在", f"Result table ({rt_id}) does not exist")
        )
    return rt


def rt_fields(session: Session, rt_id: str) -> list[dict[str, Any]]:
    """The schema of ``rt_id``, in field order."""
    rows = session.scalars(
        select(ResultTableField)
        .where(ResultTableField.result_table_id == rt_id)
        .order_by(ResultTableField.field_index)
    )
    return [
        {
            "field_index": row.field_index,
            "field_name": row.field_name,
            "field_type": row.field_type,
            "field_alias": row.field_alias,
            "description": row.description,
        }
        for row in rows
    ]


def set_fields(session: Session, rt_id: str, fields: Sequence[FieldSpec]) -> None:
    """Replace the schema of ``rt_id``."""
    session.execute(delete(ResultTableField).where(ResultTableField.result_table_id == rt_id))
    session.flush()
    for index, spec in enumerate(fields):
        session.add(
            ResultTableField(
                result_table_id=rt_id,
                field_index=index,
                field_name=spec.field_name,
                field_type=spec.field_type,
                field_alias=spec.field_alias,
                description=spec.description,
            )
        )


def create_result_table(
    session: Session,
    *,
    bk_biz_id: int,
    table_name: str,
    fields: Sequence[FieldSpec],
    alias: str = "",
    description: str = "",
    processing_type: str = "clean",
    generate_type: str = "user",
    user: str | None = None,
) -> ResultTable:
    """Create ``{bk_biz_id}_{table_name}`` with its schema.

    Raises:
        NodeValidError: the table name breaks the naming rule.
        NodeError: ``1500002`` when the table already exists.
    """
    check_table_name(table_name)
    rt_id = make_rt_id(bk_biz_id, table_name)
    if session.get(ResultTable, rt_id) is not None:
        raise NodeError(Message(f"结果表({rt_id})已存在", f"Result table ({rt_id}) already exists"))
    rt = ResultTable(
        result_table_id=rt_id,
        bk_biz_id=bk_biz_id,
        table_name=table_name,
        alias=alias,
        description=description,
        processing_type=processing_type,
        generate_type=generate_type,
        created_by=user,
    )
    session.add(rt)
    session.flush()
    names = [f.field_name for f in fields]
    if len(names) != len(set(names)):
        raise NodeError(Message("字段名重复", "Duplicate field names"))
    set_fields(session, rt_id, fields)
    return rt


def _users(session: Session, rt_id: str) -> list[tuple[NodeRelation, FlowNode, Flow]]:
    rows = session.execute(
        select(NodeRelation, FlowNode, Flow)
        .join(FlowNode, FlowNode.node_id == NodeRelation.node_id)
        .join(Flow, Flow.flow_id == FlowNode.flow_id)
        .where(NodeRelation.result_table_id == rt_id, Flow.active.is_(True))
    )
    return [(r, n, f) for r, n, f in rows]


def delete_result_table(session: Session, rt_id: str) -> None:
    """Delete ``rt_id``; refused with ``1500033`` while any flow's node uses it."""
    get_result_table(session, rt_id)
    users = _users(session, rt_id)
    if users:
        _, node, flow = users[0]
        raise RelatedFlowRemoveError(
            Message(
                f"结果表({rt_id})被任务({flow.flow_id})的节点({node.node_name})引用，不允许删除",
                f"Result table ({rt_id}) is used by node ({node.node_name}) of flow ({flow.flow_id}), cannot delete",
            )
        )
    session.execute(delete(ResultTableField).where(ResultTableField.result_table_id == rt_id))
    session.execute(delete(ResultTable).where(ResultTable.result_table_id == rt_id))


def rt_dict(session: Session, rt: ResultTable) -> dict[str, Any]:
    """The API view of a result table: schema, producing node and storages."""
    producer = None
    storages: list[dict[str, Any]] = []
    for relation, node, flow in _users(session, rt.result_table_id):
        info = {
            "flow_id": flow.flow_id,
            "node_id": node.node_id,
            "node_type": node.node_type,
            "node_name": node.node_name,
        }
        if relation.generate_type in ("user", "system") and node.node_type.endswith(
            ("storage", "ignite")
        ):
            storages.append(info)
        elif node.node_type not in (
            "stream_source",
            "kv_source",
            "unified_kv_source",
            "redis_kv_source",
        ):
            producer = info
    return {
        "result_table_id": rt.result_table_id,
        "bk_biz_id": rt.bk_biz_id,
        "table_name": rt.table_name,
        "result_table_name_alias": rt.alias,
        "description": rt.description,
        "processing_type": rt.processing_type,
        "generate_type": rt.generate_type,
        "topic": f"table_{rt.result_table_id}",
        "created_by": rt.created_by,
        "created_at": fmt_dt(rt.created_at),
        "updated_at": fmt_dt(rt.updated_at),
        "fields": rt_fields(session, rt.result_table_id),
        "producer": producer,
        "storages": storages,
    }


def list_result_tables(session: Session, bk_biz_id: int | None = None) -> list[ResultTable]:
    """Every result table, optionally of one business, by id."""
    stmt = select(ResultTable).order_by(ResultTable.result_table_id)
    if bk_biz_id is not None:
        stmt = stmt.where(ResultTable.bk_biz_id == bk_biz_id)
    return list(session.scalars(stmt))
