"""Settings of Sluice's ``window`` filter: event-time windowed aggregation in a pipeline.

The filter is Sluice's own (Logstash has none); it runs the window engine
(:mod:`sluice.windows`) with BKData's window kinds and units. The settings map onto
:class:`~sluice.windows.WindowConfig` and :class:`~sluice.windows.AggSpec`
(:meth:`WindowSettings.window_config`, :meth:`WindowSettings.agg_specs`); the kernel is
:mod:`sluice.plugins.filters.window`. Bad values fail when the pipeline compiles, with the
position of the setting and the valid names (see ``docs/pipelines.md``)::

    filter { window {
      type => "scroll"  size => 60  waiting_time => 5  timestamp => "ts_ms"
      group_by => ["service", "level"]
      aggregates => { "count" => "count(*)" "avg_latency_ms" => "avg(latency_ms)" }
    } }
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator

from sluice.pipeline.settings.common import CommonFilterSettings, StrList, StrMap
from sluice.windows import WINDOW_COLUMNS, AggFunc, AggSpec, WindowConfig

__all__ = ["AGG_FUNCTIONS", "WindowSettings", "parse_aggregate"]

AGG_FUNCTIONS = tuple(func.value for func in AggFunc)
"""The aggregate functions ``aggregates`` accepts (``count(distinct x)`` is count_distinct)."""

_AGG = re.compile(
    r"^\s*(?P<func>[A-Za-z_]+)\s*\(\s*(?P<distinct>distinct\s+)?(?P<arg>[^()]*?)\s*\)\s*$",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^\[?(?P<name>[^\[\]]+)\]?$")


def _field_name(value: str, setting: str) -> str:
    """A top-level event field, written ``name`` or ``[name]``; nested refs are refused."""
    match = _FIELD.match(value.strip())
    if match is None or not match.group("name").strip():
        raise ValueError(f"{setting} must name a top-level field (e.g. 'ts_ms'), not {value!r}")
    return match.group("name").strip()


def parse_aggregate(alias: str, expression: str) -> AggSpec:
    """``"avg(latency_ms)"`` -> ``AggSpec(func="avg", column="latency_ms", alias=alias)``.

    ``count(*)`` counts rows, ``count(x)`` non-null values, ``count(distinct x)`` distinct ones.

    Raises:
        ValueError: not ``function(field)``, or an unknown function (the message lists them).
    """
    match = _AGG.match(expression)
    if match is None:
        raise ValueError(
            f"aggregate {alias!r} must be written function(field), e.g. 'avg(latency_ms)' or "
            f"'count(*)', not {expression!r}"
        )
    func = match.group("func").lower()
    if func not in AGG_FUNCTIONS:
        raise ValueError(
            f"aggregate {alias!r} uses unknown function {func!r}; "
            f"valid functions: {', '.join(AGG_FUNCTIONS)}"
        )
    arg = match.group("arg")
    column = None if arg == "*" else _field_name(arg, f"the argument of aggregate {alias!r}")
    if column is None and func != "count":
        raise ValueError(f"aggregate {alias!r}: only count takes '*', {func} needs a field")
    if match.group("distinct"):
        if func != "count" or column is None:
            raise ValueError(f"aggregate {alias!r}: only count(distinct field) is supported")
        func = "count_distinct"
    return AggSpec(func=AggFunc(func), column=column, alias=alias)


class WindowSettings(CommonFilterSettings):
    """``window``: event-time windows per key; one event out per closed window and key."""

    type: Literal["scroll", "slide", "accumulate", "session"] = Field(
        default="scroll",
        description="Window kind (BKData's): scroll (tumbling), slide (hopping), accumulate "
        "(growing within a period) or session (per key, closed by a gap).",
    )
    size: int = Field(
        default=0,
        validate_default=True,
        ge=0,
        description="Seconds (BKData count_freq). scroll: window length; slide: the slide "
        "(emission period); accumulate: emission period inside each window_time. Unused by "
        "session.",
    )
    window_time: int = Field(
        default=0,
        validate_default=True,
        ge=0,
        description="Minutes. slide: window length; accumulate: the period results "
        "accumulate over. Must be at least size. Unused by scroll and session.",
    )
    session_gap: int = Field(
        default=0,
        validate_default=True,
        ge=0,
        description="Seconds. session: a key's session closes after this much event time "
        "without an event of that key.",
    )
    expired_time: int = Field(
        default=0,
        ge=0,
        description="Minutes. session: the longest a session stays open (0: no limit).",
    )
    timestamp: str = Field(
        default="dtEventTimeStamp",
        description="Field holding the event time in epoch milliseconds. Events without a "
        "valid one go to the dead-letter queue.",
    )
    waiting_time: int = Field(
        default=0,
        ge=0,
        description="Seconds the watermark trails the largest event time seen, i.e. how "
        "long a window waits for out-of-order events before it closes.",
    )
    allowed_lateness: bool = Field(
        default=False,
        description="Let events that arrive after their window closed update it (within "
        "lateness_time) and emit a corrected event; otherwise they go to the dead-letter queue.",
    )
    lateness_time: int = Field(
        default=0, ge=0, description="Hours after a window's end late events are still taken."
    )
    lateness_count_freq: int = Field(
        default=0,
        ge=0,
        description="Seconds: corrections are emitted when the watermark crosses a multiple "
        "of this (0: after every batch).",
    )
    group_by: StrList = Field(
        default_factory=list,
        description="Key fields: one window result per distinct combination (none: one per "
        "window).",
    )
    aggregates: StrMap = Field(
        description="Output field -> function(field), in output order. Functions: count "
        "(count(*) counts events), count(distinct f), sum, avg, min, max, first, last.",
    )
    idle_timeout: int = Field(
        default=60,
        ge=0,
        description="Seconds without any input event after which the watermark follows the "
        "wall clock (largest event time + time since it arrived - waiting_time), so the last "
        "windows close when the input goes quiet (0: only events move the watermark).",
    )
    timezone: str = Field(
        default="UTC",
        validate_default=True,
        description="IANA time zone of the _startTime_, _endTime_ and dtEventTime strings.",
    )
    max_state_rows: int = Field(
        default=0,
        ge=0,
        description="Most partial rows kept in open windows (0: unbounded); more fails the "
        "batch (dead-letter queue) instead of growing without limit.",
    )
    threads: int = Field(default=1, ge=1, description="DuckDB threads of the window kernels.")
    checkpoint_interval: int = Field(
        default=0,
        ge=0,
        description="Seconds between stored checkpoints of the pipeline's window state (0: "
        "after every batch). Longer is cheaper with many keys; after a crash the batches "
        "since the last checkpoint are filtered again (the state stays exact, their results "
        "are delivered again). A stop stores the last delivered batch's state. With several "
        "window filters the shortest interval applies.",
    )

    @field_validator("timestamp")
    @classmethod
    def _timestamp_field(cls, value: str) -> str:
        return _field_name(value, "timestamp")

    @field_validator("group_by")
    @classmethod
    def _key_fields(cls, value: list[str]) -> list[str]:
        return [_field_name(v, "group_by") for v in value]

    @field_validator("aggregates")
    @classmethod
    def _aggregate_specs(cls, value: dict[str, object], info: ValidationInfo) -> dict[str, object]:
        clash = set(info.data.get("group_by", [])) & set(value)
        if clash:
            raise ValueError(f"fields {sorted(clash)} are both group_by keys and aggregates")
        if not value:
            raise ValueError("aggregates needs at least one output field, e.g. "
                             "{ \"count\" => \"count(*)\" }")  # fmt: skip
        for alias, expression in value.items():
            if alias in WINDOW_COLUMNS:
                raise ValueError(f"aggregate {alias!r} clashes with a window field "
                                 f"({', '.join(WINDOW_COLUMNS)})")  # fmt: skip
            parse_aggregate(alias, str(expression))
        return value

    @field_validator("size")
    @classmethod
    def _size_needed(cls, value: int, info: ValidationInfo) -> int:
        kind = info.data.get("type", "scroll")
        if kind != "session" and value <= 0:
            raise ValueError(f"{kind} windows need size > 0 (seconds)")
        return value

    @field_validator("window_time")
    @classmethod
    def _window_time_needed(cls, value: int, info: ValidationInfo) -> int:
        kind = info.data.get("type", "scroll")
        size = info.data.get("size", 0)
        if kind in ("slide", "accumulate") and (value <= 0 or value * 60 < size):
            raise ValueError(
                f"{kind} windows need window_time > 0 (minutes) and at least size ({size} s)"
            )
        return value

    @field_validator("session_gap")
    @classmethod
    def _gap_needed(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("type") == "session" and value <= 0:
            raise ValueError("session windows need session_gap > 0 (seconds)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. "
                             "'UTC' or 'Asia/Shanghai')") from None  # fmt: skip
        return value

    def window_config(self) -> WindowConfig:
        """The engine's config. The pipeline has one input partition, so the engine's
        partition idleness is off; :attr:`idle_timeout` is applied by the filter."""
        return WindowConfig(
            window_type=self.type,
            count_freq=self.size,
            window_time=self.window_time,
            waiting_time=self.waiting_time,
            session_gap=self.session_gap,
            expired_time=self.expired_time,
            allowed_lateness=self.allowed_lateness,
            lateness_time=self.lateness_time,
            lateness_count_freq=self.lateness_count_freq,
            event_time_field=self.timestamp,
            idle_timeout_ms=0,
            timezone=self.timezone,
            max_state_rows=self.max_state_rows,
        )

    def agg_specs(self) -> list[AggSpec]:
        """The aggregates as engine specs, in output order."""
        return [parse_aggregate(alias, str(expr)) for alias, expr in self.aggregates.items()]
