"""Read-side views of a flow: its graph, node dicts and display statuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.model.graph import FlowGraph, GraphNode
from sluice.model.nodes import NODE_TYPES
from sluice.store.common import loads
from sluice.store.tables import FlowLink, FlowNode, NodeRelation

__all__ = [
    "ACTIVE_STATUSES",
    "FlowView",
    "load_view",
]

ACTIVE_STATUSES = ("running", "starting", "stopping")


class FlowView:
    """A flow's nodes, links and relations loaded once, with the derived graph."""

    def __init__(self, session: Session, flow_id: int) -> None:
        self.flow_id = flow_id
        self.nodes: dict[int, FlowNode] = {
            n.node_id: n
            for n in session.scalars(
                select(FlowNode).where(FlowNode.flow_id == flow_id).order_by(FlowNode.node_id)
            )
        }
        self.links: list[FlowLink] = list(
            session.scalars(
                select(FlowLink).where(FlowLink.flow_id == flow_id).order_by(FlowLink.id)
            )
        )
        self.relations: dict[int, list[NodeRelation]] = {}
        for rel in session.scalars(
            select(NodeRelation).where(NodeRelation.flow_id == flow_id).order_by(NodeRelation.id)
        ):
            self.relations.setdefault(rel.node_id, []).append(rel)
        self.configs: dict[int, dict[str, Any]] = {
            nid: loads(n.node_config, {}) for nid, n in self.nodes.items()
        }
        self.graph = FlowGraph.build(
            (
                GraphNode(
                    node_id=nid,
                    node_type=NODE_TYPES.get(node.node_type),
                    name=node.node_name,
                    inputs=list(self.configs[nid].get("from_result_table_ids") or []),
                    result_table_ids=self.result_table_ids(nid),
                )
                for nid, node in self.nodes.items()
            ),
            ((link.from_node_id, link.to_node_id) for link in self.links),
        )

    def result_table_ids(self, node_id: int) -> list[str]:
        """The node's public (``user``) result tables."""
        return [
            r.result_table_id for r in self.relations.get(node_id, []) if r.generate_type == "user"
        ]

    def has_modify(self, node_id: int) -> bool:
        """Whether a running node's config changed since it was started."""
        node = self.nodes[node_id]
        return node.status in ACTIVE_STATUSES and node.running_version != node.latest_version

    def display_status(self, node_id: int) -> str:
        """BKData's display status: ``warning`` when modified while running, ``failure``
        when links and inputs disagree, otherwise the raw status."""
        node = self.nodes[node_id]
        if self.has_modify(node_id):
            return "warning"
        if self.graph.link_mismatch(node_id):
            return "failure"
        return node.status

    def node_dict(self, node_id: int) -> dict[str, Any]:
        """The node dict returned by node create, retrieve and PUT."""
        node = self.nodes[node_id]
        config = self.configs[node_id]
        return {
            "flow_id": node.flow_id,
            "node_id": node.node_id,
            "node_name": config.get("name") or node.node_name,
            "node_config": config,
            "node_type": node.node_type,
            "status": self.display_status(node_id),
            "version": "",
            "frontend_info": loads(node.frontend_info, {}),
            "has_modify": self.has_modify(node_id),
            "result_table_ids": self.result_table_ids(node_id),
        }

    def link_dict(self, link: FlowLink) -> dict[str, Any]:
        """A link element of the graph."""
        return {
            "from_node_id": link.from_node_id,
            "to_node_id": link.to_node_id,
            "frontend_info": loads(link.frontend_info, {}),
        }

    def downstream_statuses(self, node_ids: list[int]) -> dict[str, str]:
        """``{to_node_id: display_status}`` for the given nodes still in the flow."""
        return {str(nid): self.display_status(nid) for nid in node_ids if nid in self.nodes}


def load_view(session: Session, flow_id: int) -> FlowView:
    """Load the view of flow ``flow_id`` (the caller has checked the flow exists)."""
    return FlowView(session, flow_id)
