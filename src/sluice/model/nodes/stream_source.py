"""``stream_source``: a result table on the bus, the head of a flow."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.base import NodeConfig, NodeType

__all__ = ["SourceConfig", "StreamSourceNode"]


class SourceConfig(NodeConfig):
    """Config of a source node: the result table it reads."""

    result_table_id: str = Field(description="The result table read by the node.", min_length=1)
    bk_biz_id: int = Field(
        default=0, ge=0, le=2**31 - 1, description="Business id; filled from the result table."
    )


class StreamSourceNode(NodeType):
    """Reads an existing result table's topic ``table_{rt}``."""

    name: ClassVar[str] = "stream_source"
    category = "source"
    rule_name: ClassVar[str] = "stream_source"
    display = Message("实时数据源", "Stream source")
    config_model = SourceConfig
    order = 101

    @classmethod
    def prepare(cls, data: dict[str, Any], *, update: bool) -> dict[str, Any]:
        """Sources read exactly their own table: ``from_result_table_ids = [result_table_id]``."""
        rt = data.get("result_table_id")
        if isinstance(rt, str) and rt:
            data["from_result_table_ids"] = [rt]
        return data

    @classmethod
    def result_table_ids(cls, config: NodeConfig) -> list[str]:
        """A source's table is the one it reads."""
        assert isinstance(config, SourceConfig)
        return [config.result_table_id]
