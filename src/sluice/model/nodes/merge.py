"""``merge``: the union of several inputs with identical schemas."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.base import ProcessingConfig, SingleOutputNode

__all__ = ["MergeConfig", "MergeNode"]


class MergeConfig(ProcessingConfig):
    """Config of a ``merge`` node (``output_name`` is not defaulted)."""

    description: str = Field(
        description="What the merge is for (required by BKData).", min_length=1, max_length=512
    )
    from_result_table_ids: list[str] = Field(
        description="The tables to union (one or more).", min_length=1
    )
    config: list[Any] = Field(default_factory=list, description="Ignored; stored as [].")


class MergeNode(SingleOutputNode):
    """Unions its inputs into ``{bk_biz_id}_{table_name}``; the one "slight restart" type."""

    name: ClassVar[str] = "merge"
    category = "processing"
    rule_name: ClassVar[str] = "merge"
    display = Message("合流计算", "Merge")
    config_model = MergeConfig
    order = 203

    @classmethod
    def prepare(cls, data: dict[str, Any], *, update: bool) -> dict[str, Any]:
        """The ``config`` field is ignored by BKData and stored as ``[]``."""
        data["config"] = []
        return data
