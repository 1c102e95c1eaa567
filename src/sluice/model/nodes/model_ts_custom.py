"""``model_ts_custom``: a model-serving node (the log platform's clustering model)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.base import ProcessingConfig, SingleOutputNode

__all__ = ["ModelTsCustomConfig", "ModelTsCustomNode"]


class ModelTsCustomConfig(ProcessingConfig):
    """Config of a ``model_ts_custom`` node (BKData's ``FlowProcessModelNodeForm``)."""

    output_name: str = Field(description="Output alias (required for model nodes).", max_length=255)
    model_release_id: int = Field(description="Released model version served by the node.")
    model_id: str = Field(description="Model id.", min_length=1)
    input_config: dict[str, Any] = Field(description="Input node mapping (input_node).")
    output_config: dict[str, Any] = Field(description="Output node fields (output_node).")
    schedule_config: dict[str, Any] = Field(description="Serving and training schedule.")
    serving_mode: Literal["realtime", "offline"] = Field(description="realtime or offline serving.")
    upgrade_config: dict[str, Any] | None = Field(
        default=None, description="Auto-upgrade settings."
    )
    sample_feedback_config: dict[str, Any] | None = Field(
        default=None, description="Sample feedback settings."
    )
    model_extra_config: dict[str, Any] | None = Field(
        default=None, description="Extra settings, e.g. predict_args."
    )
    scene_name: str | None = Field(default=None, description="Scene name, e.g. custom.")


class ModelTsCustomNode(SingleOutputNode):
    """Serves a model over its input stream into ``{bk_biz_id}_{table_name}``."""

    name: ClassVar[str] = "model_ts_custom"
    category = "modeling"
    rule_name: ClassVar[str] = "model_ts_custom"
    display = Message("时序模型应用", "Time-series model application")
    config_model = ModelTsCustomConfig
    order = 301
