"""``FlowStore``: one method per flow-management operation, each in its own transaction.

The API layer validates a request, calls one method here (or on the runtime's
``FlowManager``) and maps the result; locking, sessions and versioning live here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from sluice.store import flows as flow_ops
from sluice.store import graph_ops, imports, locks, nodes
from sluice.store.common import flow_dict, get_flow, get_node
from sluice.store.db import Database
from sluice.store.node_rules import PRODUCER_TYPES
from sluice.store.schemas import SchemaInferrer
from sluice.store.service_lookups import StoreLookups
from sluice.store.tables import FlowNode, NodeRelation, VersionLog
from sluice.store.views import load_view

__all__ = ["FlowStore"]

_SOURCES = ("stream_source", "kv_source", "unified_kv_source", "redis_kv_source")


class FlowStore(StoreLookups):
    """Flow, node, graph and result-table operations over a :class:`Database` (the
    cross-flow lookups and result tables come from :class:`StoreLookups`)."""

    def __init__(self, db: Database, inferrer: SchemaInferrer | None = None) -> None:
        self.db = db
        self.inferrer = inferrer

    # -- flows ----------------------------------------------------------------------------

    def create_flow(
        self, project_id: int, flow_name: str, user: str | None, **extra: Any
    ) -> dict[str, Any]:
        """Create an empty flow; returns the flow object."""
        with self.db.session() as session:
            return flow_dict(
                flow_ops.create_flow(
                    session, project_id=project_id, flow_name=flow_name, user=user, **extra
                )
            )

    def get_flow(self, flow_id: int, flags: Mapping[str, bool]) -> dict[str, Any]:
        """The flow object with ``custom_calculate`` and the requested extras."""
        with self.db.session() as session:
            data = flow_ops.flow_extras(session, get_flow(session, flow_id), flags)
            data["custom_calculate"] = {"status": "none", "config": {}, "message": ""}
            return data

    def list_flows(
        self, params: Mapping[str, Sequence[str]], flags: Mapping[str, bool]
    ) -> list[dict[str, Any]]:
        """Flows matching the list parameters, each with the requested extras."""
        with self.db.session() as session:
            return [
                flow_ops.flow_extras(session, f, flags)
                for f in flow_ops.list_flows(session, params)
            ]

    def update_flow(
        self, flow_id: int, changes: Mapping[str, Any], user: str | None
    ) -> dict[str, Any]:
        """Partial update of a flow's name, project, tdw_conf or description."""
        with self.db.session() as session:
            return flow_dict(
                flow_ops.update_flow(session, get_flow(session, flow_id), changes, user)
            )

    def delete_flow(self, flow_id: int, user: str | None) -> None:
        """Delete a flow and its nodes (soft delete of the flow row)."""
        with (
            locks.flow_lock(self.db, flow_id, user, locks.LOCK_DELETE_NODE),
            self.db.session() as session,
        ):
            flow_ops.soft_delete_flow(session, get_flow(session, flow_id), user)

    def create_with_nodes(
        self,
        project_id: int,
        flow_name: str,
        node_list: list[dict[str, Any]],
        user: str | None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Create a flow with its nodes, all or nothing: ``{flow_id, node_ids}``."""
        with self.db.session() as session:
            flow_id, node_ids = imports.create_flow_with_nodes(
                session,
                project_id=project_id,
                flow_name=flow_name,
                nodes=node_list,
                user=user,
                inferrer=self.inferrer,
                **extra,
            )
        return {"flow_id": flow_id, "node_ids": node_ids}

    def reimport(
        self, flow_id: int, node_list: list[dict[str, Any]], user: str | None
    ) -> list[int]:
        """Replace every node of a stopped flow, all or nothing."""
        with (
            locks.flow_lock(self.db, flow_id, user, locks.LOCK_CREATE_NODE),
            self.db.session() as session,
        ):
            return imports.reimport_flow(session, flow_id, node_list, user, self.inferrer)

    def export(self, flow_id: int) -> dict[str, Any]:
        """The flow in create format."""
        with self.db.session() as session:
            return imports.export_flow(session, flow_id)

    def latest_flows(self, project_id: int | None) -> list[dict[str, Any]]:
        """The ten most recently updated flows of a project, with ``has_exception``."""
        params: dict[str, list[str]] = {"ordering": ["-updated_at"]}
        if project_id is not None:
            params["project_id"] = [str(project_id)]
        return self.list_flows(params, {"add_exception_info": True})[:10]

    def versions(self, flow_id: int) -> list[dict[str, Any]]:
        """``[{flow_id, version, created_at}]``, newest first."""
        with self.db.session() as session:
            get_flow(session, flow_id)
            rows = session.scalars(
                select(VersionLog)
                .where(VersionLog.flow_id == flow_id)
                .order_by(VersionLog.id.desc())
            )
            return [
                {
                    "flow_id": r.flow_id,
                    "version": r.flow_version,
                    "created_at": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                }
                for r in rows
            ]

    # -- graph ----------------------------------------------------------------------------

    def graph(self, flow_id: int) -> dict[str, Any]:
        """``{nodes, links, version}``."""
        with self.db.session() as session:
            return graph_ops.graph(session, flow_id)

    def draft(self, flow_id: int) -> dict[str, Any]:
        """``{locations, lines, version}``."""
        with self.db.session() as session:
            return graph_ops.draft(session, flow_id)

    def graph_action(
        self, flow_id: int, action: str, data: list[Any], user: str | None
    ) -> dict[str, Any]:
        """Apply a PUT graph action."""
        with self.db.session() as session:
            return graph_ops.apply_graph_action(session, flow_id, action, data, user)

    def graph_extra_info(self, flow_id: int) -> dict[str, Any]:
        """Source nodes whose upstream producer (in any flow) is stopped."""
        with self.db.session() as session:
            flow = get_flow(session, flow_id)
            if flow.status != "running":
                return {}
            view = load_view(session, flow_id)
            result: dict[str, Any] = {}
            for node_id, node in view.nodes.items():
                if node.node_type not in _SOURCES or node.status != "running":
                    continue
                producer = session.scalars(
                    select(FlowNode)
                    .join(NodeRelation, NodeRelation.node_id == FlowNode.node_id)
                    .where(
                        NodeRelation.result_table_id.in_(view.result_table_ids(node_id)),
                        NodeRelation.node_type.in_(PRODUCER_TYPES),
                    )
                ).first()
                if producer is not None and producer.status == "no-start":
                    result[str(node_id)] = {
                        "status": "no-start",
                        "message": "dataflow job has been stopped.",
                    }
            return result

    # -- nodes ----------------------------------------------------------------------------

    def create_node(
        self,
        flow_id: int,
        node_type: str,
        config: dict[str, Any],
        parents: list[nodes.ParentLink],
        frontend_info: dict[str, Any],
        user: str | None,
    ) -> dict[str, Any]:
        """Create a node; returns the node dict."""
        with (
            locks.flow_lock(self.db, flow_id, user, locks.LOCK_CREATE_NODE),
            self.db.session() as session,
        ):
            flow = get_flow(session, flow_id)
            node = nodes.save_node(
                session,
                flow,
                node_type_name=node_type,
                raw_config=config,
                parents=parents,
                frontend_info=frontend_info,
                user=user,
                inferrer=self.inferrer,
            )
            return nodes.node_view_dict(session, flow_id, node.node_id)

    def get_node(self, flow_id: int, node_id: int) -> dict[str, Any]:
        """The node dict."""
        with self.db.session() as session:
            get_node(session, flow_id, node_id)
            return nodes.node_view_dict(session, flow_id, node_id)

    def update_node(
        self,
        flow_id: int,
        node_id: int,
        config: dict[str, Any],
        parents: list[nodes.ParentLink],
        frontend_info: dict[str, Any],
        user: str | None,
    ) -> dict[str, Any]:
        """Full update (PUT); returns the node dict."""
        with (
            locks.flow_lock(self.db, flow_id, user, locks.LOCK_UPDATE_NODE),
            self.db.session() as session,
        ):
            node = get_node(session, flow_id, node_id)
            flow = get_flow(session, flow_id)
            nodes.save_node(
                session,
                flow,
                node_type_name=node.node_type,
                raw_config=config,
                parents=parents,
                frontend_info=frontend_info,
                user=user,
                inferrer=self.inferrer,
                node=node,
            )
            return nodes.node_view_dict(session, flow_id, node_id)

    def patch_node(
        self, flow_id: int, node_id: int, body: dict[str, Any], user: str | None
    ) -> dict[str, Any]:
        """Partial config update (PATCH); returns the merged config."""
        with (
            locks.flow_lock(self.db, flow_id, user, locks.LOCK_UPDATE_NODE),
            self.db.session() as session,
        ):
            node = get_node(session, flow_id, node_id)
            return nodes.patch_node(
                session, get_flow(session, flow_id), node, body, user, self.inferrer
            )

    def delete_node(self, flow_id: int, node_id: int, user: str | None) -> dict[str, Any]:
        """Delete a node; returns ``{status: {downstream_id: display_status}}``."""
        with (
            locks.flow_lock(self.db, flow_id, user, locks.LOCK_DELETE_NODE),
            self.db.session() as session,
        ):
            node = get_node(session, flow_id, node_id)
            return {"status": nodes.delete_node(session, get_flow(session, flow_id), node, user)}
