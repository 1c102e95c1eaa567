"""``StoreLookups``: the read-mostly half of :class:`~sluice.store.service.FlowStore`.

Cross-flow lookups by result table (which flows and nodes use a table, monitor info, project
counts, the tables of a flow, KV inputs and join storages) and the result-table operations
of Sluice's own ``/v3/sluice/result_tables/`` endpoints. Each method runs in its own
transaction; ``FlowStore`` inherits them, so callers keep one facade.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from sluice.model.fields import FieldSpec
from sluice.store import flows as flow_ops
from sluice.store import result_tables
from sluice.store.common import get_flow, loads
from sluice.store.db import Database
from sluice.store.node_rules import PRODUCER_TYPES
from sluice.store.tables import Flow, FlowNode, NodeRelation
from sluice.store.views import load_view

__all__ = ["StoreLookups"]

_SOURCES = ("stream_source", "kv_source", "unified_kv_source", "redis_kv_source")


class StoreLookups:
    """Lookups and result-table operations over ``self.db`` (see the module docstring)."""

    db: Database

    def flows_using_tables(self, rt_ids: Sequence[str], show_display: bool) -> list[dict[str, Any]]:
        """Flows whose nodes use any of ``rt_ids``, with ``related_nodes``."""
        with self.db.session() as session:
            rows = session.execute(
                select(NodeRelation.flow_id, NodeRelation.node_id).where(
                    NodeRelation.result_table_id.in_(list(rt_ids))
                )
            ).all()
            by_flow: dict[int, list[dict[str, int]]] = {}
            for flow_id, node_id in rows:
                by_flow.setdefault(flow_id, []).append({"node_id": node_id})
            result = []
            for flow in session.scalars(
                select(Flow)
                .where(Flow.flow_id.in_(list(by_flow)), Flow.active.is_(True))
                .order_by(Flow.flow_id)
            ):
                data = flow_ops.flow_extras(
                    session, flow, {"add_exception_info": True, "show_display": show_display}
                )
                data["related_nodes"] = by_flow[flow.flow_id]
                result.append(data)
            return result

    def monitor_info(self, rt_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """``{rt_id: [{flow_id, node_id, module, component, is_source, node_type}]}``."""
        with self.db.session() as session:
            result: dict[str, list[dict[str, Any]]] = {rt: [] for rt in rt_ids}
            rows = session.execute(
                select(NodeRelation, Flow)
                .join(Flow, Flow.flow_id == NodeRelation.flow_id)
                .where(NodeRelation.result_table_id.in_(list(rt_ids)), Flow.active.is_(True))
            )
            for rel, _flow in rows:
                is_source = rel.node_type in _SOURCES
                module = (
                    "realtime"
                    if rel.node_type in PRODUCER_TYPES
                    else ("source" if is_source else "shipper")
                )
                result[rel.result_table_id].append(
                    {
                        "flow_id": rel.flow_id,
                        "node_id": rel.node_id,
                        "module": module,
                        "component": rel.node_type,
                        "is_source": is_source,
                        "node_type": rel.node_type,
                    }
                )
            return result

    def project_counts(self, project_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Per project: flow count and how many run, are stopped, normal or failing."""
        with self.db.session() as session:
            result = []
            for project_id in project_ids:
                flows = list(
                    session.scalars(
                        select(Flow).where(Flow.project_id == project_id, Flow.active.is_(True))
                    )
                )
                exceptions = sum(1 for f in flows if flow_ops.has_exception(session, f))
                running = sum(1 for f in flows if f.status == "running")
                result.append(
                    {
                        "project_id": project_id,
                        "count": len(flows),
                        "running_count": running,
                        "no_start_count": sum(1 for f in flows if f.status == "no-start"),
                        "normal_count": running - exceptions,
                        "exception_count": exceptions,
                    }
                )
            return result

    def nodes_of_tables(self, rt_ids: Sequence[str], kind: str) -> list[dict[str, Any]]:
        """Nodes using ``rt_ids``: ``calculate`` and ``processing`` producers, or ``storage`` nodes."""
        with self.db.session() as session:
            stmt = select(NodeRelation).where(NodeRelation.result_table_id.in_(list(rt_ids)))
            result = []
            for rel in session.scalars(stmt.order_by(NodeRelation.node_id)):
                is_storage = rel.node_type.endswith("_storage") or rel.node_type == "ignite"
                if (kind == "storage") != is_storage or (
                    kind != "storage" and rel.node_type not in PRODUCER_TYPES
                ):
                    continue
                flow = session.get(Flow, rel.flow_id)
                if flow is None or not flow.active:
                    continue
                item = load_view(session, rel.flow_id).node_dict(rel.node_id)
                if kind == "storage":
                    item.update(
                        storage_type=rel.node_type.removesuffix("_storage"),
                        flow_name=flow.flow_name,
                    )
                elif kind == "processing":
                    item["related_flow"] = {
                        "status": flow.status,
                        "flow_name": flow.flow_name,
                        "project_id": flow.project_id,
                    }
                result.append(item)
            return result

    def tables_of_flow(self, flow_id: int) -> dict[str, Any]:
        """``list_rt_by_flowid``: the flow's tables grouped by stream job."""
        with self.db.session() as session:
            get_flow(session, flow_id)
            view = load_view(session, flow_id)
            stream: dict[str, Any] = {}
            for node_id, node in view.nodes.items():
                if node.node_type in PRODUCER_TYPES:
                    stream.setdefault(f"{flow_id}_stream", []).extend(
                        view.result_table_ids(node_id)
                    )
            return {
                "flow_id": flow_id,
                "geog_area_code": "inland",
                "result_table_dict": {"stream": stream, "batch": {}},
            }

    def kv_inputs(self, flow_id: int, node_id: int) -> list[str]:
        """The tables node ``node_id`` reads through KV-source parents (lookup joins)."""
        with self.db.session() as session:
            view = load_view(session, flow_id)
            return [
                rt
                for parent in view.graph.parents(node_id)
                if view.nodes[parent].node_type in _SOURCES[1:]
                for rt in view.result_table_ids(parent)
            ]

    def join_storage(self, rt_id: str) -> tuple[str, dict[str, Any]] | None:
        """``(node_type, config)`` of the Redis ``join`` storage node writing ``rt_id``."""
        with self.db.session() as session:
            rows = session.execute(
                select(FlowNode)
                .join(NodeRelation, NodeRelation.node_id == FlowNode.node_id)
                .join(Flow, Flow.flow_id == FlowNode.flow_id)
                .where(
                    NodeRelation.result_table_id == rt_id,
                    FlowNode.node_type.in_(("redis_storage", "tredis_storage")),
                    Flow.active.is_(True),
                )
                .order_by(FlowNode.node_id)
            ).scalars()
            for node in rows:
                config = loads(node.node_config, {})
                if config.get("storage_type") == "join":
                    return node.node_type, dict(config)
            return None

    # -- result tables --------------------------------------------------------------------

    def create_result_table(
        self,
        bk_biz_id: int,
        table_name: str,
        fields: list[FieldSpec],
        alias: str,
        description: str,
        user: str | None,
    ) -> dict[str, Any]:
        """Register a source table; returns its view."""
        with self.db.session() as session:
            rt = result_tables.create_result_table(
                session,
                bk_biz_id=bk_biz_id,
                table_name=table_name,
                fields=fields,
                alias=alias,
                description=description,
                user=user,
            )
            return result_tables.rt_dict(session, rt)

    def get_result_table(self, rt_id: str) -> dict[str, Any]:
        """A table's view."""
        with self.db.session() as session:
            return result_tables.rt_dict(session, result_tables.get_result_table(session, rt_id))

    def list_result_tables(self, bk_biz_id: int | None) -> list[dict[str, Any]]:
        """Every table (optionally of one business)."""
        with self.db.session() as session:
            return [
                result_tables.rt_dict(session, rt)
                for rt in result_tables.list_result_tables(session, bk_biz_id)
            ]

    def delete_result_table(self, rt_id: str) -> None:
        """Delete a table no flow uses."""
        with self.db.session() as session:
            result_tables.delete_result_table(session, rt_id)

    def table_schema(self, rt_id: str) -> list[dict[str, Any]]:
        """The schema of ``rt_id`` (raises ``1500020`` if absent)."""
        with self.db.session() as session:
            result_tables.get_result_table(session, rt_id)
            return result_tables.rt_fields(session, rt_id)
