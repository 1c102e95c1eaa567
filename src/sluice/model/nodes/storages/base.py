"""The shared shape of storage nodes: one parent, one input table, a cluster, an expiry."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sluice.model.errors import Message, NodeValidError
from sluice.model.nodes.base import NodeConfig, NodeType, field_label

__all__ = ["StorageConfig", "StorageNode"]


class StorageConfig(NodeConfig):
    """Fields every storage node has (BKData's ``StorageBaseForm``)."""

    result_table_id: str = Field(
        description="The table stored; equals from_result_table_ids[0].", min_length=1
    )
    cluster: str = Field(
        description="Storage cluster name, resolved by the cluster registry.", min_length=1
    )
    expires: int = Field(description="Retention in days; -1 keeps data forever.", ge=-1)


class StorageNode(NodeType):
    """Base of storage types: stores exactly its parent's table."""

    category = "storage"
    cluster_type: ClassVar[str]

    @classmethod
    def prepare(cls, data: dict[str, Any], *, update: bool) -> dict[str, Any]:
        """``from_result_table_ids`` defaults to ``[result_table_id]``."""
        rt = data.get("result_table_id")
        if not data.get("from_result_table_ids") and isinstance(rt, str) and rt:
            data["from_result_table_ids"] = [rt]
        return data

    @classmethod
    def check(cls, config: NodeConfig, *, update: bool) -> None:
        """The stored table must be the one input table."""
        assert isinstance(config, StorageConfig)
        if config.from_result_table_ids != [config.result_table_id]:
            raise NodeValidError(
                field_label("result_table_id")
                + Message(
                    "，存储节点必须且只能存储一个上游结果表",
                    ", a storage node stores exactly its one input table",
                )
            )

    @classmethod
    def result_table_ids(cls, config: NodeConfig) -> list[str]:
        """A storage node's table is the one it stores."""
        assert isinstance(config, StorageConfig)
        return [config.result_table_id]
