"""A flow's graph as plain data, with the structural checks BKData runs on it.

Built by the store from its rows; every method is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sluice.model.errors import (
    FlowDeployNotAllowed,
    FlowExistCircleError,
    FlowExistIsolatedNodesError,
    Message,
)
from sluice.model.nodes import NodeType

__all__ = ["FlowGraph", "GraphNode"]

_NEEDS_CONSUMER = ("realtime", "model_ts_custom")


@dataclass
class GraphNode:
    """One node as the graph checks see it."""

    node_id: int
    node_type: type[NodeType]
    name: str
    inputs: list[str] = field(default_factory=list)
    result_table_ids: list[str] = field(default_factory=list)


@dataclass
class FlowGraph:
    """Nodes and directed links ``(from_node_id, to_node_id)`` of one flow."""

    nodes: dict[int, GraphNode]
    links: list[tuple[int, int]]

    @classmethod
    def build(cls, nodes: Iterable[GraphNode], links: Iterable[tuple[int, int]]) -> FlowGraph:
        """Build a graph from nodes and links."""
        return cls({n.node_id: n for n in nodes}, list(links))

    def parents(self, node_id: int) -> list[int]:
        """Ids of the nodes linked into ``node_id``."""
        return [a for a, b in self.links if b == node_id]

    def children(self, node_id: int) -> list[int]:
        """Ids of the nodes ``node_id`` links to."""
        return [b for a, b in self.links if a == node_id]

    def find_cycle(self) -> list[int] | None:
        """Return the ids on one cycle, or ``None`` when the graph is acyclic."""
        color: dict[int, int] = {}
        stack: list[int] = []

        def visit(node: int) -> list[int] | None:
            color[node] = 1
            stack.append(node)
            for child in self.children(node):
                if color.get(child) == 1:
                    return stack[stack.index(child) :]
                if child not in color:
                    found = visit(child)
                    if found:
                        return found
            stack.pop()
            color[node] = 2
            return None

        for node_id in sorted(self.nodes):
            if node_id not in color:
                found = visit(node_id)
                if found:
                    return found
        return None

    def topological_order(self) -> list[int]:
        """Node ids, parents before children; raises :class:`FlowExistCircleError` on a cycle."""
        self.check_cycle()
        indegree = dict.fromkeys(self.nodes, 0)
        for _, b in self.links:
            indegree[b] += 1
        ready = sorted(n for n, d in indegree.items() if d == 0)
        order: list[int] = []
        while ready:
            node = ready.pop(0)
            order.append(node)
            for child in sorted(self.children(node)):
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        return order

    def check_cycle(self) -> None:
        """Raise ``1500017`` naming the nodes on a cycle, if there is one."""
        cycle = self.find_cycle()
        if cycle:
            names = ", ".join(f"[{n}] {self.nodes[n].name}" for n in cycle)
            raise FlowExistCircleError(
                Message(f"存在回路节点（{names}）", f"There is a loop of nodes ({names})")
            )

    def check_isolated(self) -> None:
        """Raise ``1500022`` when a connected group of nodes has no source node."""
        seen: set[int] = set()
        for start in sorted(self.nodes):
            if start in seen:
                continue
            group: set[int] = set()
            todo = [start]
            while todo:
                node = todo.pop()
                if node in group:
                    continue
                group.add(node)
                todo.extend(self.parents(node) + self.children(node))
            seen |= group
            if not any(self.nodes[n].node_type.category == "source" for n in group):
                names = ", ".join(f"[{n}] {self.nodes[n].name}" for n in sorted(group))
                raise FlowExistIsolatedNodesError(
                    Message(
                        f"{names}等节点为孤立节点，请重新构建拓扑后操作",
                        f"Nodes {names} are isolated, please rebuild the topology",
                    )
                )

    def check_start_topology(self) -> None:
        """BKData's synchronous topology check before a start (``1500024``)."""
        if not self.nodes:
            raise FlowDeployNotAllowed(Message("空任务不能启动", "Empty task cannot be started"))
        categories = [n.node_type.category for n in self.nodes.values()]
        if all(c == "source" for c in categories):
            raise FlowDeployNotAllowed(
                Message("只有源数据节点，不能启动", "Only source nodes, cannot be started")
            )
        sinks = [
            n
            for n in self.nodes.values()
            if n.node_type.category == "storage" or n.node_type.name in ("merge", "split")
        ]
        if not sinks:
            raise FlowDeployNotAllowed(
                Message("没有存储节点，不能启动", "No sink node, cannot be started")
            )
        for node in self.nodes.values():
            if node.node_type.name not in _NEEDS_CONSUMER:
                continue
            used: set[str] = set()
            for child in self.children(node.node_id):
                used |= set(self.nodes[child].inputs)
            for rt in node.result_table_ids:
                if rt not in used:
                    raise FlowDeployNotAllowed(
                        Message(
                            f"{node.node_type.display.zh}节点({node.name})的数据输出({rt})未被使用，不可启动",
                            f"The output ({rt}) of {node.node_type.display.en} node ({node.name}) "
                            "is not used, cannot be started",
                        )
                    )

    def link_mismatch(self, node_id: int) -> bool:
        """Whether a non-source node's inputs disagree with its links (display ``failure``).

        True when it has fewer inputs than parents, a parent contributes none of its tables,
        or an input belongs to no linked parent.
        """
        node = self.nodes[node_id]
        if node.node_type.category == "source":
            return False
        parents = self.parents(node_id)
        inputs = set(node.inputs)
        if len(inputs) < len(parents):
            return True
        parent_rts: set[str] = set()
        for parent in parents:
            rts = set(self.nodes[parent].result_table_ids)
            if not rts & inputs:
                return True
            parent_rts |= rts
        return bool(inputs - parent_rts)
