"""Graph checks and link rules as pure functions."""

from __future__ import annotations

import pytest

from sluice.model.errors import (
    FlowDeployNotAllowed,
    FlowExistCircleError,
    FlowExistIsolatedNodesError,
    LinkRuleError,
)
from sluice.model.graph import FlowGraph, GraphNode
from sluice.model.link_rules import check_node_links, link_rules_payload
from sluice.model.nodes import NODE_TYPES

T = NODE_TYPES.get


def node(
    node_id: int, type_name: str, inputs: list[str] | None = None, outputs: list[str] | None = None
) -> GraphNode:
    return GraphNode(node_id, T(type_name), f"n{node_id}", inputs or [], outputs or [])


def test_cycle_isolated_and_order() -> None:
    graph = FlowGraph.build(
        [
            node(1, "stream_source", ["a"], ["a"]),
            node(2, "realtime", ["a"], ["b"]),
            node(3, "realtime", ["b"], ["c"]),
        ],
        [(1, 2), (2, 3)],
    )
    assert graph.topological_order() == [1, 2, 3]
    graph.check_isolated()
    looped = FlowGraph.build(
        [node(1, "stream_source"), node(2, "realtime"), node(3, "realtime")],
        [(1, 2), (2, 3), (3, 2)],
    )
    with pytest.raises(FlowExistCircleError) as info:
        looped.check_cycle()
    assert info.value.message() == "存在回路节点（[2] n2, [3] n3）"
    orphan = FlowGraph.build(
        [node(1, "stream_source"), node(2, "realtime"), node(3, "hdfs_storage")], [(2, 3)]
    )
    with pytest.raises(FlowExistIsolatedNodesError):
        orphan.check_isolated()


def test_start_topology() -> None:
    unused = FlowGraph.build(
        [node(1, "stream_source", ["a"], ["a"]), node(2, "realtime", ["a"], ["b"])], [(1, 2)]
    )
    with pytest.raises(FlowDeployNotAllowed, match="No sink"):
        unused.check_start_topology()
    dangling = FlowGraph.build(
        [
            node(1, "stream_source", ["a"], ["a"]),
            node(2, "realtime", ["a"], ["b"]),
            node(3, "merge", ["a"], ["m"]),
        ],
        [(1, 2), (1, 3)],
    )
    with pytest.raises(FlowDeployNotAllowed) as info:
        dangling.check_start_topology()
    assert (
        info.value.message("en")
        == "The output (b) of Realtime calculation node (n2) is not used, cannot be started"
    )


def test_link_mismatch_display_rule() -> None:
    graph = FlowGraph.build(
        [
            node(1, "stream_source", ["a"], ["a"]),
            node(2, "realtime", ["a"], ["b"]),
            node(3, "hdfs_storage", ["x"]),
        ],
        [(1, 2), (2, 3)],
    )
    assert graph.link_mismatch(2) is False
    assert graph.link_mismatch(3) is True
    assert graph.link_mismatch(1) is False


def test_link_rules() -> None:
    check_node_links(T("realtime"), [T("stream_source"), T("kv_source")], [[], []])
    check_node_links(T("realtime"), [T("realtime"), T("redis_kv_source")], [[], []])
    with pytest.raises(LinkRuleError, match="KV source as its only input"):
        check_node_links(T("realtime"), [T("kv_source")], [[]])
    with pytest.raises(LinkRuleError, match="combination rule"):
        check_node_links(
            T("realtime"), [T("stream_source"), T("realtime"), T("kv_source")], [[], [], []]
        )
    with pytest.raises(LinkRuleError) as info:
        check_node_links(T("merge"), [T("split")], [[]])
    assert info.value.code == "1500032"
    with pytest.raises(LinkRuleError, match="at most 1 upstream nodes"):
        check_node_links(T("split"), [T("stream_source"), T("realtime")], [[], []])
    payload = link_rules_payload()
    assert (
        payload["node_rules"]["stream"]["queue_storage"]["default"]["detail_path"]
        == "stream->kafka->queue_storage"
    )
    assert payload["group_rules"][0]["downstream_instance"] == "stream"
