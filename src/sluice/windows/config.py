"""Window configuration and aggregate specifications of a ``realtime`` node.

:class:`WindowConfig` carries the window fields of a BKData ``realtime`` node in BKData's own
units (reference section 5.3): ``count_freq``, ``waiting_time``, ``session_gap`` and
``lateness_count_freq`` in **seconds**, ``window_time`` and ``expired_time`` in **minutes**,
``lateness_time`` in **hours**. The ``*_ms`` properties convert once, so the engine works in
milliseconds of event time throughout.

:class:`AggSpec` names one aggregate of the node's SQL (``count``, ``count_distinct``,
``sum``, ``avg``, ``min``, ``max``, ``first``, ``last``) over a plain input column; the SQL
layer evaluates expressions before (pre-projection) and after (post-projection, HAVING) the
window engine, so the engine only ever sees column names.

Both models are inert data: validating them touches nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["AggFunc", "AggSpec", "WindowConfig", "WindowType"]

RESERVED_PREFIX = "__w_"
"""Column names starting with this prefix are the engine's own and rejected as keys/aliases."""


class WindowType(StrEnum):
    """The windowed ``window_type`` values of a BKData ``realtime`` node."""

    SCROLL = "scroll"
    SLIDE = "slide"
    ACCUMULATE = "accumulate"
    SESSION = "session"


class AggFunc(StrEnum):
    """Aggregate functions the window engine computes incrementally."""

    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    FIRST = "first"
    LAST = "last"


class WindowConfig(BaseModel):
    """Window settings of one ``realtime`` node, in BKData units (see the module docstring).

    Build it directly, or from a stored BKData node config with :meth:`from_node_config`,
    which maps ``null`` window values to 0 and flattens ``window_lateness``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_type: WindowType = Field(
        description="Window kind: scroll (tumbling), slide, accumulate or session."
    )
    count_freq: int = Field(
        default=0,
        ge=0,
        description="Seconds. scroll: window length; slide: emission period (the slide); "
        "accumulate: emission period inside each window_time period. Unused by session.",
    )
    window_time: int = Field(
        default=0,
        ge=0,
        description="Minutes. slide: window length; accumulate: length of the period that "
        "results accumulate over. Unused by scroll and session.",
    )
    waiting_time: int = Field(
        default=0,
        ge=0,
        description="Seconds the watermark trails the largest event time seen "
        "(watermark = max event time - waiting_time), i.e. how long a window waits for "
        "out-of-order records before it fires.",
    )
    session_gap: int = Field(
        default=0,
        ge=0,
        description="Seconds. session: a key's session closes after this much event time "
        "without records for the key.",
    )
    expired_time: int = Field(
        default=0,
        ge=0,
        description="Minutes. session: the longest a session stays open; when the "
        "watermark passes session start + expired_time the session is emitted and its state "
        "dropped, even if records keep arriving. 0 means no limit.",
    )
    allowed_lateness: bool = Field(
        default=False,
        description="Whether records that arrive after their window fired still update it "
        "(within lateness_time) and cause a corrected result to be emitted.",
    )
    lateness_time: int = Field(
        default=0,
        ge=0,
        description="Hours after a window's end (in watermark time) during which late records "
        "still update it when allowed_lateness is set; later records go to the DLQ.",
    )
    lateness_count_freq: int = Field(
        default=0,
        ge=0,
        description="Seconds. Corrected results of windows updated by late records are "
        "emitted when the watermark crosses a multiple of this period (0: after every batch), "
        "and always before a window's state is dropped.",
    )
    event_time_field: str = Field(
        default="dtEventTimeStamp",
        min_length=1,
        description="Input column holding the event time: integer milliseconds since the "
        "epoch (or an Arrow timestamp). Rows where it is null or invalid go to the DLQ.",
    )
    idle_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="Processing-time milliseconds after which a partition that delivered no "
        "records stops holding back the watermark (0 disables idleness).",
    )
    timezone: str = Field(
        default="UTC",
        min_length=1,
        description="IANA time zone used to render _startTime_, _endTime_ and dtEventTime "
        "strings ('YYYY-mm-dd HH:MM:SS'); BKData deployments typically use Asia/Shanghai.",
    )
    max_state_rows: int = Field(
        default=0,
        ge=0,
        description="Upper bound on partial-aggregate rows held in state (0: unbounded). "
        "Exceeding it raises WindowStateLimitError instead of growing without limit.",
    )

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_type_fields(self) -> Self:
        kind = self.window_type
        if kind is not WindowType.SESSION and self.count_freq <= 0:
            raise ValueError(f"{kind.value} windows need count_freq > 0 (seconds)")
        if kind in (WindowType.SLIDE, WindowType.ACCUMULATE):
            if self.window_time <= 0:
                raise ValueError(f"{kind.value} windows need window_time > 0 (minutes)")
            if self.window_time * 60 < self.count_freq:
                raise ValueError(
                    f"{kind.value} windows need window_time ({self.window_time} min) to be at "
                    f"least count_freq ({self.count_freq} s)"
                )
        if kind is WindowType.SESSION and self.session_gap <= 0:
            raise ValueError("session windows need session_gap > 0 (seconds)")
        return self

    @property
    def size_ms(self) -> int:
        """Window length: count_freq (scroll), window_time (slide, accumulate), gap (session)."""
        if self.window_type is WindowType.SCROLL:
            return self.count_freq * 1000
        if self.window_type is WindowType.SESSION:
            return self.session_gap * 1000
        return self.window_time * 60_000

    @property
    def step_ms(self) -> int:
        """Emission period in milliseconds (count_freq); the session gap for sessions."""
        if self.window_type is WindowType.SESSION:
            return self.session_gap * 1000
        return self.count_freq * 1000

    @property
    def waiting_ms(self) -> int:
        """waiting_time in milliseconds."""
        return self.waiting_time * 1000

    @property
    def lateness_ms(self) -> int:
        """Allowed lateness in milliseconds (0 unless allowed_lateness is set)."""
        return self.lateness_time * 3_600_000 if self.allowed_lateness else 0

    @property
    def lateness_freq_ms(self) -> int:
        """lateness_count_freq in milliseconds."""
        return self.lateness_count_freq * 1000

    @property
    def expired_ms(self) -> int:
        """expired_time in milliseconds (0: sessions are not capped)."""
        return self.expired_time * 60_000

    @classmethod
    def from_node_config(cls, node: dict[str, Any], **overrides: Any) -> WindowConfig:
        """Build from a BKData ``realtime`` node config (the flat stored form).

        ``null`` window values become 0 (as BKData does when it hands them to the stream
        module) and ``window_lateness`` is flattened. Keys that are not window settings
        (``sql``, ``name``, ``counter`` ...) are ignored; ``overrides`` win over the node.

        Raises:
            pydantic.ValidationError: ``window_type`` is missing, ``none`` or unknown, or a
                field the window type needs is missing or out of range.
        """
        lateness = node.get("window_lateness") or {}
        data: dict[str, Any] = {"window_type": node.get("window_type")}
        for name in ("count_freq", "window_time", "waiting_time", "session_gap", "expired_time"):
            data[name] = node.get(name) or 0
        data["allowed_lateness"] = bool(lateness.get("allowed_lateness") or False)
        data["lateness_time"] = lateness.get("lateness_time") or 0
        data["lateness_count_freq"] = lateness.get("lateness_count_freq") or 0
        data.update(overrides)
        return cls.model_validate(data)


class AggSpec(BaseModel):
    """One aggregate output column: ``alias = func(column)``.

    ``column`` is None only for ``count`` (``COUNT(*)``). ``count(column)`` counts non-null
    values; ``sum``/``avg``/``min``/``max``/``count_distinct`` ignore nulls as SQL does;
    ``first``/``last`` return the first/last non-null value in arrival order (BKData's
    ``last()``, Flink's ``LAST_VALUE``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    func: AggFunc = Field(description="Aggregate function.")
    column: str | None = Field(
        default=None, description="Input column aggregated; None means COUNT(*)."
    )
    alias: str = Field(min_length=1, description="Output column name.")

    @classmethod
    def from_sql(cls, func: str, column: str | None, distinct: bool, alias: str) -> AggSpec:
        """Map a SQL aggregate call (as the SQL layer's AggregatePlan describes it).

        ``count(distinct x)`` becomes ``count_distinct``; ``min``/``max``/``first``/``last``
        with DISTINCT are the same as without. ``last_value``/``first_value`` are accepted
        as ``last``/``first``.

        Raises:
            ValueError: unknown function, or ``sum``/``avg`` with DISTINCT (not supported).
        """
        name = func.lower()
        name = {"last_value": "last", "first_value": "first"}.get(name, name)
        if distinct:
            if name == "count":
                name = AggFunc.COUNT_DISTINCT.value
            elif name in ("sum", "avg"):
                raise ValueError(f"{name}(DISTINCT ...) is not supported by the window engine")
        try:
            kind = AggFunc(name)
        except ValueError:
            known = ", ".join(f.value for f in AggFunc)
            raise ValueError(f"unknown aggregate {func!r}; known: {known}") from None
        return cls(func=kind, column=column, alias=alias)

    @model_validator(mode="after")
    def _check_column(self) -> Self:
        if self.column is None and self.func is not AggFunc.COUNT:
            raise ValueError(f"aggregate {self.func.value}() needs a column")
        if self.alias.startswith(RESERVED_PREFIX):
            raise ValueError(f"alias {self.alias!r} uses the reserved prefix __w_")
        return self
