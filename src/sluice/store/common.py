"""Helpers shared by the store's operations: clocks, versions, loading rows, rendering dicts."""

from __future__ import annotations

import json
import secrets
import string
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.model.errors import Message, NodeValidError, NotFoundError
from sluice.model.nodes import NODE_TYPES, NodeConfig, NodeType
from sluice.store.tables import Flow, FlowNode, VersionLog

__all__ = [
    "DATETIME_FORMAT",
    "bump_version",
    "dumps",
    "flow_dict",
    "fmt_dt",
    "get_flow",
    "get_node",
    "loads",
    "new_version",
    "node_config_model",
    "now",
]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_VERSION_ALPHABET = string.ascii_letters + string.digits + "-_"


def now() -> datetime:
    """Local wall-clock time to the second, as every stored timestamp."""
    return datetime.now().replace(microsecond=0)


def fmt_dt(value: datetime | None) -> str | None:
    """Render a timestamp as BKData does: ``%Y-%m-%d %H:%M:%S``."""
    return value.strftime(DATETIME_FORMAT) if value else None


def new_version() -> str:
    """A flow version id: ``V%Y%m%d%H%M%S#<20 url-safe chars>``."""
    suffix = "".join(secrets.choice(_VERSION_ALPHABET) for _ in range(20))
    return f"V{datetime.now():%Y%m%d%H%M%S}#{suffix}"


def dumps(value: Any) -> str:
    """JSON text for a stored column (non-ASCII kept readable)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None, default: Any = None) -> Any:
    """Parse a stored JSON column; ``default`` when empty."""
    if not text:
        return default
    return json.loads(text)


def get_flow(session: Session, flow_id: int, *, for_update: bool = False) -> Flow:
    """Return the active flow ``flow_id``.

    Raises:
        NotFoundError: ``1500404`` when there is no such active flow.
    """
    stmt = select(Flow).where(Flow.flow_id == flow_id, Flow.active.is_(True))
    if for_update:
        stmt = stmt.with_for_update()
    flow = session.scalars(stmt).first()
    if flow is None:
        raise NotFoundError(Message(f"任务({flow_id})不存在", f"Flow ({flow_id}) does not exist"))
    return flow


def get_node(session: Session, flow_id: int, node_id: int) -> FlowNode:
    """Return node ``node_id`` of flow ``flow_id``.

    Raises:
        NotFoundError: the flow does not exist.
        NodeValidError: ``1500001`` "节点(id:X)不属于该Flow" when the node is not in the flow.
    """
    get_flow(session, flow_id)
    node = session.get(FlowNode, node_id)
    if node is None or node.flow_id != flow_id:
        raise NodeValidError(
            Message(
                f"节点(id:{node_id})不属于该Flow",
                f"Node (id:{node_id}) does not belong to this flow",
            )
        )
    return node


def node_config_model(node: FlowNode) -> tuple[type[NodeType], NodeConfig]:
    """Re-validate a stored node config into its typed model (BKData's ``get_config``)."""
    node_type = NODE_TYPES.get(node.node_type)
    return node_type, node_type.clean(loads(node.node_config, {}), update=True)


def bump_version(session: Session, flow: Flow, user: str | None, nodes: list[FlowNode]) -> str:
    """Give the flow a new version after a change to ``nodes`` (or links), and log it."""
    version = new_version()
    flow.latest_version = version
    flow.updated_by = user
    flow.updated_at = now()
    for node in nodes:
        node.latest_version = version
    session.add(
        VersionLog(
            flow_id=flow.flow_id,
            flow_version=version,
            version_ids=dumps({str(n.node_id): version for n in nodes}),
            created_by=user,
        )
    )
    return version


def flow_dict(flow: Flow) -> dict[str, Any]:
    """The flow object of the API (every model field)."""
    return {
        "flow_id": flow.flow_id,
        "flow_name": flow.flow_name,
        "project_id": flow.project_id,
        "status": flow.status,
        "is_locked": flow.is_locked,
        "latest_version": flow.latest_version,
        "custom_calculate_id": flow.custom_calculate_id,
        "bk_app_code": flow.bk_app_code,
        "tdw_conf": flow.tdw_conf,
        "created_by": flow.created_by,
        "created_at": fmt_dt(flow.created_at),
        "locked_by": flow.locked_by,
        "locked_at": fmt_dt(flow.locked_at),
        "locked_description": flow.locked_description,
        "updated_by": flow.updated_by,
        "updated_at": fmt_dt(flow.updated_at),
        "description": flow.description,
        "active": flow.active,
    }
