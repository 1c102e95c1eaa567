"""Flow rows: create, read, list with BKData's filters, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sluice.model.errors import (
    Message,
    ParamsError,
    RelatedFlowRemoveError,
    RunningFlowRemoveError,
)
from sluice.store.common import flow_dict, get_flow, now
from sluice.store.node_rules import PRODUCER_TYPES
from sluice.store.tables import DeployRecord, Flow, FlowNode, NodeRelation
from sluice.store.views import ACTIVE_STATUSES, load_view

__all__ = [
    "FLOW_FIELDS",
    "check_name_free",
    "create_flow",
    "delete_flow_nodes",
    "flow_extras",
    "list_flows",
    "soft_delete_flow",
    "update_flow",
]

FLOW_FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "flow_id": Flow.flow_id,
    "flow_name": Flow.flow_name,
    "project_id": Flow.project_id,
    "status": Flow.status,
    "is_locked": Flow.is_locked,
    "latest_version": Flow.latest_version,
    "custom_calculate_id": Flow.custom_calculate_id,
    "tdw_conf": Flow.tdw_conf,
    "created_by": Flow.created_by,
    "created_at": Flow.created_at,
    "locked_by": Flow.locked_by,
    "locked_at": Flow.locked_at,
    "locked_description": Flow.locked_description,
    "updated_by": Flow.updated_by,
    "updated_at": Flow.updated_at,
    "description": Flow.description,
}
_INT_FIELDS = {"flow_id", "project_id", "is_locked"}
_DATE_FIELDS = {"created_at", "updated_at", "locked_at"}
_SOURCES = ("stream_source", "kv_source", "unified_kv_source", "redis_kv_source")


def check_name_free(
    session: Session, project_id: int, flow_name: str, exclude: int | None = None
) -> None:
    """Raise ``1500400`` "项目底下存在同名任务" when the project already has the name."""
    stmt = select(Flow.flow_id).where(
        Flow.project_id == project_id, Flow.flow_name == flow_name, Flow.active.is_(True)
    )
    if exclude is not None:
        stmt = stmt.where(Flow.flow_id != exclude)
    if session.scalars(stmt).first() is not None:
        error = ParamsError(
            Message("项目底下存在同名任务", "A flow with the same name exists in the project")
        )
        error.code = "1500400"  # type: ignore[misc]
        raise error


def create_flow(
    session: Session,
    *,
    project_id: int,
    flow_name: str,
    user: str | None,
    bk_app_code: str | None = None,
    tdw_conf: str = "{}",
    description: str = "",
) -> Flow:
    """Create an empty flow."""
    check_name_free(session, project_id, flow_name)
    flow = Flow(
        flow_name=flow_name,
        project_id=project_id,
        created_by=user,
        updated_by=user,
        bk_app_code=bk_app_code or "dataweb",
        tdw_conf=tdw_conf,
        description=description,
    )
    session.add(flow)
    session.flush()
    return flow


def update_flow(session: Session, flow: Flow, changes: Mapping[str, Any], user: str | None) -> Flow:
    """Apply a partial update of ``flow_name``, ``project_id``, ``tdw_conf``, ``description``."""
    project_id = int(changes.get("project_id", flow.project_id))
    name = str(changes.get("flow_name", flow.flow_name))
    if (project_id, name) != (flow.project_id, flow.flow_name):
        check_name_free(session, project_id, name, exclude=flow.flow_id)
    flow.project_id = project_id
    flow.flow_name = name
    if "tdw_conf" in changes:
        flow.tdw_conf = str(changes["tdw_conf"])
    if "description" in changes:
        flow.description = str(changes["description"])
    flow.updated_by = user
    flow.updated_at = now()
    session.flush()
    return flow


def delete_flow_nodes(session: Session, flow: Flow, user: str | None) -> None:
    """Delete every node of ``flow``: sources first, then the rest in reverse topological order."""
    from sluice.store.nodes import delete_node

    view = load_view(session, flow.flow_id)
    order = list(reversed(view.graph.topological_order()))
    # Sources first: a KV source may read a table this same flow produces further down.
    order.sort(key=lambda node_id: view.nodes[node_id].node_type not in _SOURCES)
    for node_id in order:
        node = session.get(FlowNode, node_id)
        if node is not None:
            delete_node(session, flow, node, user)


def soft_delete_flow(session: Session, flow: Flow, user: str | None) -> None:
    """Delete a flow: refused while running (``1500011``) or while another flow reads its tables (``1500033``)."""
    if flow.status in ACTIVE_STATUSES:
        raise RunningFlowRemoveError(
            Message("任务正在运行，不能删除", "The flow is running and cannot be deleted")
        )
    produced = select(NodeRelation.result_table_id).where(
        NodeRelation.flow_id == flow.flow_id, NodeRelation.node_type.in_(PRODUCER_TYPES)
    )
    used = session.execute(
        select(NodeRelation.result_table_id, NodeRelation.flow_id)
        .join(Flow, Flow.flow_id == NodeRelation.flow_id)
        .where(
            NodeRelation.result_table_id.in_(produced),
            NodeRelation.node_type.in_(_SOURCES),
            NodeRelation.flow_id != flow.flow_id,
            Flow.active.is_(True),
        )
    ).first()
    if used is not None:
        raise RelatedFlowRemoveError(
            Message(
                f"结果表({used[0]})被任务({used[1]})引用，不允许删除",
                f"Result table ({used[0]}) is used by flow ({used[1]}), cannot delete",
            )
        )
    delete_flow_nodes(session, flow, user)
    flow.active = False
    flow.updated_by = user
    flow.updated_at = now()


def _coerce(field: str, value: str) -> Any:
    if field in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            raise ParamsError(
                Message(f"参数{field}必须是整数", f"Parameter {field} must be an integer"),
                {field: ["A valid integer is required."]},
            ) from None
    if field in _DATE_FIELDS:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ParamsError(
                Message(f"参数{field}必须是时间", f"Parameter {field} must be a datetime"),
                {field: ["Enter a valid date/time."]},
            ) from None
    return value


def _filter(key: str, values: Sequence[str]) -> ColumnElement[bool] | None:
    field, _, lookup = key.partition("__")
    column = FLOW_FIELDS.get(field)
    if column is None:
        return None
    lookup = lookup or ("in" if len(values) > 1 else "exact")
    if lookup == "in":
        items = [v for raw in values for v in raw.split(",") if v != ""]
        return column.in_([_coerce(field, v) for v in items])
    value = values[-1]
    if lookup == "exact":
        equal: ColumnElement[bool] = column == _coerce(field, value)
        return equal
    if lookup == "isnull":
        null: ColumnElement[bool] = (
            column.is_(None) if value.lower() in ("1", "true") else column.is_not(None)
        )
        return null
    if lookup in ("gt", "gte", "lt", "lte"):
        operand = _coerce(field, value)
        compared: ColumnElement[bool] = {
            "gt": column > operand,
            "gte": column >= operand,
            "lt": column < operand,
            "lte": column <= operand,
        }[lookup]
        return compared
    text = cast(column, String)
    if lookup == "contains":
        return text.contains(value, autoescape=True)
    if lookup == "startswith":
        return text.startswith(value, autoescape=True)
    if lookup == "endswith":
        return text.endswith(value, autoescape=True)
    if lookup in ("icontains",):
        return func.lower(text).contains(value.lower(), autoescape=True)
    return None


def list_flows(session: Session, params: Mapping[str, Sequence[str]]) -> list[Flow]:
    """Flows matching BKData's list parameters: field lookups, ``search``, ``ordering``,
    ``result_table_id`` (flows producing the table). Pagination is the caller's."""
    stmt = select(Flow).where(Flow.active.is_(True))
    conditions: list[ColumnElement[bool]] = []
    for key, values in params.items():
        if not values:
            continue
        condition = _filter(key, values)
        if condition is not None:
            conditions.append(condition)
    if conditions:
        stmt = stmt.where(and_(*conditions))
    rts = list(params.get("result_table_id", []))
    if rts:
        producers = select(NodeRelation.flow_id).where(
            NodeRelation.result_table_id.in_(rts), NodeRelation.node_type.in_(PRODUCER_TYPES)
        )
        stmt = stmt.where(Flow.flow_id.in_(producers))
    search = (params.get("search") or [""])[-1].strip()
    if search:
        options = [
            Flow.flow_name.contains(search, autoescape=True),
            func.coalesce(Flow.created_by, "").contains(search, autoescape=True),
        ]
        if search.isdigit():
            options.append(Flow.flow_id == int(search))
        stmt = stmt.where(or_(*options))
    ordering = (params.get("ordering") or [""])[-1]
    order: list[Any] = []
    for part in [p.strip() for p in ordering.split(",") if p.strip()]:
        column = FLOW_FIELDS.get(part.lstrip("-"))
        if column is not None:
            order.append(column.desc() if part.startswith("-") else column.asc())
    if not order:
        order = [Flow.updated_at.desc(), Flow.flow_id.asc()]
    return list(session.scalars(stmt.order_by(*order)))


def flow_extras(session: Session, flow: Flow, flags: Mapping[str, bool]) -> dict[str, Any]:
    """The flow object plus what the list/retrieve flags ask for."""
    data = flow_dict(flow)
    if flags.get("add_node_count_info"):
        data["node_count"] = session.scalar(
            select(func.count()).where(FlowNode.flow_id == flow.flow_id)
        )
    if flags.get("add_process_status_info"):
        last = session.scalars(
            select(DeployRecord.status)
            .where(DeployRecord.flow_id == flow.flow_id)
            .order_by(DeployRecord.id.desc())
        ).first()
        data["process_status"] = last or "no-status"
    if flags.get("add_exception_info"):
        data["has_exception"] = has_exception(session, flow)
    if flags.get("show_display"):
        data["project_name"] = None
    return data


def has_exception(session: Session, flow: Flow) -> bool:
    """True when the flow is running and some node is starting, stopping or failed."""
    if flow.status != "running":
        return False
    bad = session.scalars(
        select(FlowNode.node_id).where(
            FlowNode.flow_id == flow.flow_id,
            FlowNode.status.in_(("starting", "stopping", "failure")),
        )
    ).first()
    return bad is not None


__all__ += ["get_flow", "has_exception"]
