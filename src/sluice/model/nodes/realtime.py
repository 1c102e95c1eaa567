"""``realtime``: BKSQL over streams, with or without an event-time window.

Units follow BKData: ``count_freq``, ``waiting_time`` and ``session_gap`` in seconds,
``window_time`` and ``expired_time`` in minutes, ``window_lateness.lateness_time`` in hours.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from sluice.model.errors import Message, NodeValidError
from sluice.model.nodes.base import NodeConfig, ProcessingConfig, SingleOutputNode, field_label

__all__ = ["RealtimeConfig", "RealtimeNode", "WindowLateness"]

WindowType = Literal["none", "scroll", "slide", "accumulate", "session"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "none": (),
    "scroll": ("count_freq", "waiting_time"),
    "slide": ("count_freq", "waiting_time", "window_time"),
    "accumulate": ("count_freq", "waiting_time", "window_time"),
    "session": ("session_gap", "waiting_time", "expired_time"),
}


class WindowLateness(BaseModel):
    """Late-data handling of a windowed node."""

    model_config = ConfigDict(extra="forbid")

    allowed_lateness: bool = Field(
        default=False, description="Whether late records update windows."
    )
    lateness_time: int = Field(default=0, ge=0, description="How late a record may be, in hours.")
    lateness_count_freq: int = Field(
        default=0, ge=0, description="How often corrected results are emitted, in seconds."
    )


class RealtimeConfig(ProcessingConfig):
    """Config of a ``realtime`` node."""

    sql: str = Field(description="BKSQL; ``FROM <rt_id>`` names an input table.", min_length=1)
    window_type: WindowType = Field(
        default="none", description="none, scroll, slide, accumulate or session."
    )
    count_freq: int | None = Field(
        default=None, ge=0, description="Window step / length in seconds."
    )
    waiting_time: int | None = Field(
        default=None, ge=0, description="Delay before a window fires, seconds."
    )
    window_time: int | None = Field(
        default=None, ge=0, description="Window length in minutes (slide, accumulate)."
    )
    counter: int | None = Field(
        default=None, description="window_time*60/count_freq, computed by the server."
    )
    session_gap: int | None = Field(
        default=None, ge=0, description="Session inactivity gap in seconds."
    )
    expired_time: int | None = Field(
        default=None, ge=0, description="Session state expiry in minutes."
    )
    window_lateness: WindowLateness | None = Field(default=None, description="Late-data settings.")
    correct_config_id: int | None = Field(default=None, description="Data-correction config id.")
    is_open_correct: bool = Field(default=False, description="Whether data correction is on.")


class RealtimeNode(SingleOutputNode):
    """Runs BKSQL over one stream input (plus KV inputs) and writes one output table."""

    name: ClassVar[str] = "realtime"
    category = "processing"
    rule_name: ClassVar[str] = "stream"
    display = Message("实时计算", "Realtime calculation")
    config_model = RealtimeConfig
    order = 201

    @classmethod
    def prepare(cls, data: dict[str, Any], *, update: bool) -> dict[str, Any]:
        """An unknown or missing ``window_type`` falls back to ``none``, as in BKData."""
        if data.get("window_type") not in _REQUIRED:
            data["window_type"] = "none"
        if "is_open_correct" in data and data["is_open_correct"] is None:
            del data["is_open_correct"]
        return data

    @classmethod
    def check(cls, config: NodeConfig, *, update: bool) -> None:
        """Table-name rule, per-window required fields and the derived ``counter``."""
        assert isinstance(config, RealtimeConfig)
        super().check(config, update=update)
        for field in _REQUIRED[config.window_type]:
            if getattr(config, field) is None:
                raise NodeValidError(
                    field_label(field) + Message("，该字段是必填项。", ", this field is required.")
                )
        if config.window_type in ("scroll", "slide", "accumulate") and not config.count_freq:
            raise NodeValidError(
                field_label("count_freq") + Message("，必须大于0", ", must be greater than 0")
            )
        if config.window_type in ("slide", "accumulate"):
            assert config.window_time is not None and config.count_freq
            config.counter = int(config.window_time * 60 / config.count_freq)
        if config.output_name is None:
            config.output_name = config.name
        for rt in config.from_result_table_ids:
            if not rt:
                raise NodeValidError(
                    field_label("from_result_table_ids")
                    + Message("，不能为空", ", must not be empty")
                )
