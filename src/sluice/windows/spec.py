"""The window operator's contract types: spec errors, metrics, and event-time decoding.

Who calls it: :class:`~.operator.WindowOperator` (which re-exports these names) and the
window join task (:func:`event_times`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.config import RESERVED_PREFIX, AggSpec
from sluice.windows.output import WINDOW_COLUMNS

__all__ = [
    "WindowMetrics",
    "WindowSpecError",
    "WindowStateLimitError",
    "check_spec",
    "event_times",
]


class WindowSpecError(ValueError):
    """Group keys or aggregates of a window operator are inconsistent."""


class WindowStateLimitError(RuntimeError):
    """Window state grew past ``max_state_rows``; the node must fail rather than swell."""


@dataclass(frozen=True, slots=True)
class WindowMetrics:
    """Counters and gauges of one operator (for ``/metrics`` and the API).

    Attributes:
        watermark_ms: current watermark (None before any record).
        state_rows: partial-aggregate rows held (open windows plus retained fired ones).
        state_bytes: Arrow bytes of that state.
        records_in: records received.
        records_late: records sent to the DLQ as too late or without valid event time.
        rows_emitted: first results emitted.
        corrections_emitted: corrected results emitted for late updates.
    """

    watermark_ms: int | None
    state_rows: int
    state_bytes: int
    records_in: int
    records_late: int
    rows_emitted: int
    corrections_emitted: int


def event_times(batch: pa.Table, field: str) -> pa.Array:
    """Event times of ``batch`` in int64 ms; null where missing or not a valid time.

    Accepts integer/floating milliseconds, Arrow timestamps and decimal-digit strings.
    """
    if field not in batch.column_names:
        return pa.nulls(batch.num_rows, pa.int64())
    col = batch.column(field).combine_chunks()
    kind = col.type
    if pa.types.is_integer(kind):
        return col.cast(pa.int64())
    if pa.types.is_floating(kind):
        finite = pc.is_finite(col)
        return pc.if_else(finite, pc.floor(col), None).cast(pa.int64(), safe=False)
    if pa.types.is_timestamp(kind):
        return col.cast(pa.timestamp("ms", tz=kind.tz), safe=False).cast(pa.int64())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        ok = pc.match_substring_regex(col, r"^-?[0-9]{1,18}$")
        return pc.if_else(ok, col, None).cast(pa.int64())
    return pa.nulls(batch.num_rows, pa.int64())


def check_spec(group_keys: Sequence[str], aggs: Sequence[AggSpec]) -> None:
    """Raise :class:`WindowSpecError` for duplicate, reserved or clashing names."""
    if not aggs:
        raise WindowSpecError("a window operator needs at least one aggregate")
    if len(set(group_keys)) != len(group_keys):
        raise WindowSpecError(f"group keys repeat a column: {list(group_keys)}")
    for key in group_keys:
        if key.startswith(RESERVED_PREFIX):
            raise WindowSpecError(f"group key {key!r} uses the reserved prefix __w_")
    aliases = [a.alias for a in aggs]
    if len(set(aliases)) != len(aliases):
        raise WindowSpecError(f"aggregate aliases repeat: {aliases}")
    for alias in aliases:
        if alias in group_keys:
            raise WindowSpecError(f"aggregate alias {alias!r} is also a group key")
    for name in [*group_keys, *aliases]:
        if name in WINDOW_COLUMNS:
            raise WindowSpecError(f"{name!r} is a window column the engine adds to every result")
