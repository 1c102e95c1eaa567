"""Which node types may link to which, with BKData's limits (``node_link_rules_v2``).

The rules are the effective open-source BKData set (``0181`` minus ``0185``), restricted to
the types Sluice registers. ``upstream_link_limit`` caps how many parents of the upstream's
type the downstream node may have; ``downstream_link_limit`` caps how many children of the
downstream's type the upstream node may have.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sluice.model.errors import LinkRuleError, Message
from sluice.model.nodes import NODE_TYPES, NodeType

__all__ = ["LinkRule", "check_node_links", "link_rule", "link_rules_payload"]

_STORAGES = tuple(t.rule_name for t in NODE_TYPES if t.category == "storage")
_KV = ("kv_source", "unified_kv_source")
_STREAMISH = ("stream_source", "stream", "merge", "model_ts_custom")


@dataclass(frozen=True)
class LinkRule:
    """One allowed edge ``upstream -> downstream``."""

    channel: str
    upstream_max: int
    downstream_max: int


def _build() -> dict[tuple[str, str], LinkRule]:
    rules: dict[tuple[str, str], LinkRule] = {}

    def add(up: str, down: str, channel: str, up_max: int, down_max: int) -> None:
        rules[(up, down)] = LinkRule(channel, up_max, down_max)

    add("stream_source", "stream", "kafka", 2, 50)
    add("stream_source", "merge", "kafka", 10, 50)
    add("stream_source", "split", "kafka", 1, 50)
    add("stream_source", "model_ts_custom", "kafka", 1, 50)
    for kv in _KV:
        add(kv, "stream", "memory", 10, 50)
    add("stream", "stream", "memory", 2, 50)
    add("stream", "merge", "kafka", 10, 50)
    add("stream", "split", "kafka", 1, 50)
    add("stream", "model_ts_custom", "kafka", 1, 50)
    add("merge", "stream", "kafka", 2, 50)
    add("merge", "merge", "kafka", 10, 50)
    add("model_ts_custom", "stream", "kafka", 2, 50)
    add("model_ts_custom", "model_ts_custom", "kafka", 1, 50)
    for up in ("stream_source", "stream", "merge", "model_ts_custom"):
        for storage in _STORAGES:
            add(up, storage, "kafka", 1, 1)
    return rules


_RULES = _build()

GROUP_RULES: list[dict[str, Any]] = [
    {"downstream_instance": "stream", "upstream_max_link_limit": {kv: 10, parent: 1}}
    for kv in _KV
    for parent in ("stream_source", "stream", "merge")
]


def link_rule(up: type[NodeType], down: type[NodeType]) -> LinkRule | None:
    """Return the rule allowing ``up -> down``, or ``None`` when the link is not allowed."""
    return _RULES.get((up.rule_name, down.rule_name))


def check_node_links(
    node: type[NodeType],
    parents: Sequence[type[NodeType]],
    parent_children: Sequence[Sequence[type[NodeType]]],
) -> None:
    """Check the links into one node against the rules.

    Args:
        node: the type of the node being saved.
        parents: the types of its parents, one entry per link.
        parent_children: for each parent (same order), the types of its *other* children.

    Raises:
        LinkRuleError: ``1500032`` with BKData's message for the first rule broken.
    """
    for parent, siblings in zip(parents, parent_children, strict=True):
        rule = link_rule(parent, node)
        if rule is None:
            if not any(up == parent.rule_name for up, _ in _RULES):
                raise LinkRuleError(
                    Message(
                        f"节点{parent.display.zh}的下游无任何可连接节点",
                        f"No node can be linked downstream of {parent.display.en}",
                    )
                )
            raise LinkRuleError(
                Message(
                    f"暂不支持{parent.display.zh}连接至{node.display.zh}",
                    f"Linking {parent.display.en} to {node.display.en} is not supported",
                )
            )
        same = sum(1 for child in siblings if child.rule_name == node.rule_name) + 1
        if same > rule.downstream_max:
            raise LinkRuleError(
                Message(
                    f"上游{parent.display.zh}仅支持连接至多{rule.downstream_max}个下游{node.display.zh}节点",
                    f"Upstream {parent.display.en} supports at most {rule.downstream_max} "
                    f"downstream {node.display.en} nodes",
                )
            )
    counts = Counter(p.rule_name for p in parents)
    by_name = {p.rule_name: p for p in parents}
    for name, count in counts.items():
        rule = _RULES[(name, node.rule_name)]
        if count > rule.upstream_max:
            raise LinkRuleError(
                Message(
                    f"下游{node.display.zh}仅支持连接至多{rule.upstream_max}个上游{by_name[name].display.zh}节点",
                    f"Downstream {node.display.en} supports at most {rule.upstream_max} "
                    f"upstream {by_name[name].display.en} nodes",
                )
            )
    streamish = [p for p in parents if p.rule_name not in _KV]
    if streamish:
        limit = max(_RULES[(p.rule_name, node.rule_name)].upstream_max for p in streamish)
        if len(streamish) > limit:
            raise LinkRuleError(
                Message(
                    f"下游{node.display.zh}仅支持连接至多{limit}个上游节点",
                    f"Downstream {node.display.en} supports at most {limit} upstream nodes",
                )
            )
    if node.rule_name == "stream":
        _check_stream_groups(counts)


def _check_stream_groups(counts: Counter[str]) -> None:
    kv = sum(counts[k] for k in _KV)
    streams = sum(counts[k] for k in _STREAMISH)
    if kv and streams == 0:
        raise LinkRuleError(
            Message(
                "关联数据源的下游为实时计算节点时不能单独保存",
                "A realtime node cannot take a KV source as its only input",
            )
        )
    if kv and streams > 1:
        limits = dict.fromkeys(_KV, 10) | {"stream_source|stream|merge": 1}
        raise LinkRuleError(
            Message(f"不满足组合规则{limits}", f"The combination rule {limits} is not met")
        )


def link_rules_payload() -> dict[str, Any]:
    """The ``node_link_rules_v2/`` response: ``{node_rules, group_rules}``."""
    node_rules: dict[str, dict[str, Any]] = {}
    for (up, down), rule in _RULES.items():
        node_rules.setdefault(up, {})[down] = {
            "default": {
                "detail_path": f"{up}->{rule.channel}->{down}",
                "upstream_link_limit": [1, rule.upstream_max],
                "downstream_link_limit": [1, rule.downstream_max],
            }
        }
    return {"node_rules": node_rules, "group_rules": GROUP_RULES}
