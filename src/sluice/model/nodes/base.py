"""The node-type contract: one typed config model and a few pure rules per BKData type.

Each node type is a :class:`NodeType` subclass in its own module, listed in
:mod:`sluice.model.nodes.registry`. The API hands a raw config dict to :meth:`NodeType.clean`,
which keeps only the type's config attributes (BKData drops unknown keys the same way),
validates them with the type's pydantic model (``extra="forbid"``) and raises
:class:`~sluice.model.errors.NodeValidError` (``1500001``) with ``"<field label>，<error>"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sluice.model.errors import COMMA, Message, NodeValidError, ValidError
from sluice.model.result_table import check_table_name, make_rt_id

__all__ = [
    "Category",
    "NodeConfig",
    "NodeType",
    "OutputTable",
    "ProcessingConfig",
    "SingleOutputNode",
    "field_label",
]

Category = Literal["source", "processing", "modeling", "storage"]

_LABELS: dict[str, Message] = {
    "name": Message("节点名称", "Node name"),
    "bk_biz_id": Message("业务", "Business"),
    "sql": Message("SQL", "SQL"),
    "table_name": Message("数据输出", "Table name"),
    "output_name": Message("输出中文名", "Output name"),
    "result_table_id": Message("结果数据表", "Result table"),
    "from_result_table_ids": Message("输入结果表", "Input result tables"),
    "cluster": Message("存储集群", "Storage cluster"),
    "expires": Message("过期时间", "Expiration"),
    "description": Message("描述", "Description"),
    "config": Message("配置", "Config"),
    "window_type": Message("窗口类型", "Window type"),
    "count_freq": Message("统计频率", "Count frequency"),
    "waiting_time": Message("等待时间", "Waiting time"),
    "window_time": Message("窗口长度", "Window length"),
    "session_gap": Message("间隔时间", "Session gap"),
    "expired_time": Message("过期时间", "Expired time"),
    "storage_type": Message("存储类型", "Storage type"),
    "keys": Message("主键", "Keys"),
}

_ERRORS: dict[str, Message] = {
    "missing": Message("该字段是必填项。", "This field is required."),
    "int_parsing": Message("请填写合法的整数值。", "A valid integer is required."),
    "int_type": Message("请填写合法的整数值。", "A valid integer is required."),
    "int_from_float": Message("请填写合法的整数值。", "A valid integer is required."),
    "string_type": Message("请填写合法的字符串。", "Not a valid string."),
    "bool_type": Message("必须是合法的布尔值。", "Must be a valid boolean."),
    "bool_parsing": Message("必须是合法的布尔值。", "Must be a valid boolean."),
    "list_type": Message("请填写合法的列表。", "Expected a list of items."),
    "dict_type": Message("请填写合法的字典。", "Expected a dictionary of items."),
    "string_too_long": Message(
        "请确保这个字段不能超过 {max_length} 个字符。",
        "Ensure this field has no more than {max_length} characters.",
    ),
    "string_too_short": Message("该字段不能为空。", "This field may not be blank."),
    "literal_error": Message("{input} 不是合法选项。", '"{input}" is not a valid choice.'),
    "greater_than_equal": Message(
        "请确保该值大于或者等于 {ge}。", "Ensure this value is greater than or equal to {ge}."
    ),
}


def field_label(name: str) -> Message:
    """Return the display label of config field ``name`` (the field name when unknown)."""
    return _LABELS.get(name, Message(name, name))


def _node_error(exc: ValidationError) -> NodeValidError:
    """Turn the first pydantic error into BKData's ``"<label>，<message>"`` form."""
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    label = field_label(loc[0]) if loc else Message("配置", "Config")
    if len(loc) > 1:
        label = label + "." + ".".join(loc[1:])
    template = _ERRORS.get(err["type"])
    if template is None:
        text = str(err["msg"])
        if text.startswith("Value error, "):
            text = text[len("Value error, ") :]
        detail = Message(text, text)
    else:
        ctx = dict(err.get("ctx") or {})
        ctx.setdefault("input", err.get("input"))
        detail = template.format(**ctx)
    return NodeValidError(label + COMMA + detail)


@dataclass(frozen=True)
class OutputTable:
    """A result table a node creates."""

    result_table_id: str
    bk_biz_id: int
    table_name: str
    alias: str
    generate_type: Literal["user", "system"] = "user"
    is_head: bool = False


class NodeConfig(BaseModel):
    """Fields every node config has. Subclasses add their type's fields."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Display name of the node.", min_length=1, max_length=255)
    bk_biz_id: int = Field(
        description="Business id of the node's output (or stored) table.", ge=0, le=2**31 - 1
    )
    from_result_table_ids: list[str] = Field(
        default_factory=list, description="Input result tables; empty for sources."
    )


class ProcessingConfig(NodeConfig):
    """Fields of processing nodes that write one table ``{bk_biz_id}_{table_name}``."""

    name: str = Field(description="Display name of the node.", min_length=1, max_length=50)
    table_name: str = Field(description="Output table name; the output RT is bk_biz_id_table_name.")
    output_name: str | None = Field(default=None, max_length=255, description="Output alias.")


class NodeType:
    """A BKData node type: its name, category, config model and result-table rules.

    Subclasses set the class attributes and override the rule methods they need. All methods
    are pure; the store calls them while creating, updating and exporting nodes.
    """

    name: ClassVar[str]
    category: ClassVar[Category]
    rule_name: ClassVar[str]
    """Name of the type in the link rules (BKData calls ``realtime`` ``stream`` there)."""
    display: ClassVar[Message]
    config_model: ClassVar[type[NodeConfig]]
    order: ClassVar[int] = 0
    refused: ClassVar[Message | None] = None
    """Why nodes of this type cannot be created here (``None``: they can)."""

    @classmethod
    def config_attrs(cls) -> tuple[str, ...]:
        """The config fields BKData stores for this type."""
        return tuple(cls.config_model.model_fields)

    @classmethod
    def clean(cls, raw: Mapping[str, Any], *, update: bool = False) -> NodeConfig:
        """Validate ``raw`` (unknown keys dropped) into this type's config model.

        Raises:
            ValidError: the type is refused here (``1500004``, with the reason).
            NodeValidError: a field is missing or invalid (``1500001``).
        """
        if cls.refused is not None:
            raise ValidError(cls.refused)
        attrs = cls.config_attrs()
        data = {key: value for key, value in raw.items() if key in attrs}
        data = cls.prepare(data, update=update)
        try:
            config = cls.config_model.model_validate(data)
        except ValidationError as exc:
            raise _node_error(exc) from None
        cls.check(config, update=update)
        return config

    @classmethod
    def prepare(cls, data: dict[str, Any], *, update: bool) -> dict[str, Any]:
        """Normalise raw config values before validation (defaults BKData fills in)."""
        return data

    @classmethod
    def check(cls, config: NodeConfig, *, update: bool) -> None:
        """Cross-field rules run after validation; raise :class:`NodeValidError`."""

    @classmethod
    def outputs(cls, config: NodeConfig) -> list[OutputTable]:
        """Result tables this node creates (none for sources and storages)."""
        return []

    @classmethod
    def result_table_ids(cls, config: NodeConfig) -> list[str]:
        """The node's public result tables, as the graph shows them."""
        return [t.result_table_id for t in cls.outputs(config) if t.generate_type == "user"]

    @classmethod
    def inputs(cls, config: NodeConfig) -> list[str]:
        """Input result tables named by the config."""
        return list(config.from_result_table_ids)

    @classmethod
    def stored(cls, config: NodeConfig) -> dict[str, Any]:
        """The config as stored and served (every attribute present, ``None`` when unset)."""
        return config.model_dump(mode="json")


class SingleOutputNode(NodeType):
    """A processing node writing exactly one table ``{bk_biz_id}_{table_name}``."""

    @classmethod
    def check(cls, config: NodeConfig, *, update: bool) -> None:
        """The table-name rule (looser when a node is saved again)."""
        assert isinstance(config, ProcessingConfig)
        check_table_name(config.table_name, update=update)

    @classmethod
    def outputs(cls, config: NodeConfig) -> list[OutputTable]:
        """One output table, aliased by ``output_name`` (else the node name)."""
        assert isinstance(config, ProcessingConfig)
        rt = make_rt_id(config.bk_biz_id, config.table_name)
        alias = config.output_name or config.name
        return [OutputTable(rt, config.bk_biz_id, config.table_name, alias, is_head=True)]
