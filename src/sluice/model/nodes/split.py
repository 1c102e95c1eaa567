"""``split``: routes records to one output table per target business."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from sluice.model.errors import Message, NodeValidError
from sluice.model.nodes.base import NodeConfig, NodeType, OutputTable, field_label
from sluice.model.result_table import check_table_name, make_rt_id

__all__ = ["SplitConfig", "SplitNode", "SplitRule"]


class SplitRule(BaseModel):
    """One target business and the expression selecting its records."""

    model_config = ConfigDict(extra="forbid")

    bk_biz_id: int = Field(
        description="Target business; its output is {bk_biz_id}_{table_name}.", ge=0, le=2**31 - 1
    )
    logic_exp: str = Field(
        description='Boolean expression over the record, e.g. field2=="a".', min_length=1
    )


class SplitConfig(NodeConfig):
    """Config of a ``split`` node."""

    name: str = Field(description="Display name of the node.", min_length=1, max_length=50)
    table_name: str = Field(description="Table name shared by every output.")
    output_name: str | None = Field(default=None, max_length=255, description="Output alias.")
    description: str = Field(
        description="What the split is for (required).", min_length=1, max_length=512
    )
    from_result_table_ids: list[str] = Field(
        description="Exactly one input table.", min_length=1, max_length=1
    )
    config: list[SplitRule] = Field(
        description="Target businesses and their expressions.", min_length=1
    )


class SplitNode(NodeType):
    """Writes each input record to every target business whose ``logic_exp`` holds."""

    name: ClassVar[str] = "split"
    category = "processing"
    rule_name: ClassVar[str] = "split"
    display = Message("分流计算", "Split")
    config_model = SplitConfig
    order = 204

    @classmethod
    def check(cls, config: NodeConfig, *, update: bool) -> None:
        """Table-name rule; targets unique and different from the node's own business."""
        assert isinstance(config, SplitConfig)
        check_table_name(config.table_name, update=update)
        seen: set[int] = set()
        for rule in config.config:
            if rule.bk_biz_id == config.bk_biz_id:
                raise NodeValidError(
                    field_label("config")
                    + Message(
                        "，分流业务不能与当前业务相同",
                        ", a target business must differ from the node's own",
                    )
                )
            if rule.bk_biz_id in seen:
                raise NodeValidError(
                    field_label("config")
                    + Message(
                        f"，分流业务({rule.bk_biz_id})重复",
                        f", target business {rule.bk_biz_id} is repeated",
                    )
                )
            seen.add(rule.bk_biz_id)

    @classmethod
    def outputs(cls, config: NodeConfig) -> list[OutputTable]:
        """A system head table in the node's business plus one user table per target."""
        assert isinstance(config, SplitConfig)
        alias = config.output_name or config.name
        head = OutputTable(
            make_rt_id(config.bk_biz_id, config.table_name),
            config.bk_biz_id,
            config.table_name,
            alias,
            generate_type="system",
            is_head=True,
        )
        return [head] + [
            OutputTable(
                make_rt_id(rule.bk_biz_id, config.table_name),
                rule.bk_biz_id,
                config.table_name,
                alias,
            )
            for rule in config.config
        ]
