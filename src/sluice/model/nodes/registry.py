"""The one registry of node types Sluice accepts, by BKData ``node_type`` name.

Any other name is refused at create time with ``1500004`` and the list of supported types.
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.model.errors import Message, ValidError
from sluice.model.nodes.base import NodeType
from sluice.model.nodes.kv_source import KvSourceNode, RedisKvSourceNode, UnifiedKvSourceNode
from sluice.model.nodes.merge import MergeNode
from sluice.model.nodes.model_ts_custom import ModelTsCustomNode
from sluice.model.nodes.realtime import RealtimeNode
from sluice.model.nodes.split import SplitNode
from sluice.model.nodes.storages.clickhouse import ClickhouseStorageNode
from sluice.model.nodes.storages.elastic import ElasticStorageNode
from sluice.model.nodes.storages.hdfs import HdfsStorageNode
from sluice.model.nodes.storages.ignite import IgniteStorageNode
from sluice.model.nodes.storages.mysql import MysqlStorageNode, TspiderStorageNode
from sluice.model.nodes.storages.pgsql import PgsqlStorageNode
from sluice.model.nodes.storages.queue import QueueStorageNode
from sluice.model.nodes.storages.redis import RedisStorageNode, TredisStorageNode
from sluice.model.nodes.stream_source import StreamSourceNode

__all__ = ["NODE_TYPES", "NodeTypeRegistry"]


class NodeTypeRegistry:
    """Maps BKData ``node_type`` names to :class:`NodeType` classes."""

    def __init__(self, types: list[type[NodeType]]) -> None:
        self._types = {t.name: t for t in types}

    def get(self, name: str) -> type[NodeType]:
        """Return the type named ``name``.

        Raises:
            ValidError: ``1500004``, naming every supported type.
        """
        node_type = self._types.get(name)
        if node_type is None:
            supported = ", ".join(self._types)
            raise ValidError(
                Message(
                    f"非法操作(node_type={name})，目前仅支持节点类型({supported})",
                    f"Illegal operation (node_type={name}), only node types ({supported}) are supported",
                )
            )
        return node_type

    def names(self) -> list[str]:
        """Every supported type name, in registry order."""
        return list(self._types)

    def __iter__(self) -> Iterator[type[NodeType]]:
        return iter(self._types.values())

    def __contains__(self, name: object) -> bool:
        return name in self._types


NODE_TYPES = NodeTypeRegistry(
    [
        StreamSourceNode,
        KvSourceNode,
        UnifiedKvSourceNode,
        RedisKvSourceNode,
        RealtimeNode,
        MergeNode,
        SplitNode,
        ModelTsCustomNode,
        QueueStorageNode,
        HdfsStorageNode,
        ElasticStorageNode,
        MysqlStorageNode,
        TspiderStorageNode,
        PgsqlStorageNode,
        ClickhouseStorageNode,
        RedisStorageNode,
        TredisStorageNode,
        IgniteStorageNode,
    ]
)
