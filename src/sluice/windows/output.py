"""What the window engine hands back: emitted rows, corrections and DLQ records.

Emitted rows carry the group keys, the aggregate aliases, then BKData's window columns:
``_startTime_`` and ``_endTime_`` (strings ``'YYYY-mm-dd HH:MM:SS'`` in the configured time
zone) and ``dtEventTime`` / ``dtEventTimeStamp`` (string / int64 ms) of the window start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.config import WindowConfig

__all__ = [
    "DLQ_REASON",
    "WINDOW_COLUMNS",
    "WindowOutput",
    "dlq_table",
    "refused_records",
    "with_window_columns",
]

WINDOW_COLUMNS = ("_startTime_", "_endTime_", "dtEventTime", "dtEventTimeStamp")
"""Columns the engine appends to every emitted row, in this order."""
DLQ_REASON = "_dlq_reason_"
"""Column of the DLQ table holding the reason a record was not windowed."""

_EMPTY = pa.table({})


@dataclass(frozen=True, slots=True)
class WindowOutput:
    """Result of one ``process``/``advance``/``flush`` call.

    Attributes:
        rows: first results of windows that fired (zero columns when nothing fired).
        corrections: re-emitted results of windows updated by late records within the
            allowed lateness; same columns as ``rows``; a consumer keeps the newest row per
            (window, keys). Zero columns when none.
        late: input records that were not windowed, with their original columns plus
            ``_dlq_reason_``; they belong to the node's dead-letter RT. Zero columns when none.
    """

    rows: pa.Table = field(default_factory=lambda: _EMPTY)
    corrections: pa.Table = field(default_factory=lambda: _EMPTY)
    late: pa.Table = field(default_factory=lambda: _EMPTY)

    @property
    def emitted(self) -> pa.Table:
        """``rows`` followed by ``corrections`` (zero columns when both are empty)."""
        parts = [t for t in (self.rows, self.corrections) if t.num_rows > 0]
        if not parts:
            return _EMPTY
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)

    def merge(self, other: WindowOutput) -> WindowOutput:
        """This output followed by ``other`` (used to combine several steps of one call)."""
        return WindowOutput(
            rows=_cat(self.rows, other.rows),
            corrections=_cat(self.corrections, other.corrections),
            late=_cat(self.late, other.late),
        )


def _cat(a: pa.Table, b: pa.Table) -> pa.Table:
    if b.num_rows == 0:
        return a
    if a.num_rows == 0:
        return b
    return pa.concat_tables([a, b], promote_options="permissive")


def _format(ms: pa.Array, tz: str) -> pa.Array:
    """Render ms as local time strings; formats each distinct value once (windows share bounds)."""
    encoded = ms.dictionary_encode()
    stamps = encoded.dictionary.cast(pa.timestamp("ms", tz=tz))
    text = pc.utf8_slice_codeunits(pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S"), 0, 19)
    result: pa.Array = pc.take(text, encoded.indices)
    return result


def with_window_columns(table: pa.Table, tz: str) -> pa.Table:
    """Replace ``__w_ws``/``__w_we`` (ms) with BKData's window columns (see module docstring)."""
    start = table.column("__w_ws").combine_chunks().cast(pa.int64())
    end = table.column("__w_we").combine_chunks().cast(pa.int64())
    base = table.drop_columns(["__w_ws", "__w_we"])
    for name in WINDOW_COLUMNS:
        if name in base.column_names:
            base = base.drop_columns([name])
    start_text = _format(start, tz)
    base = base.append_column("_startTime_", start_text)
    base = base.append_column("_endTime_", _format(end, tz))
    base = base.append_column("dtEventTime", start_text)
    return base.append_column("dtEventTimeStamp", start)


def dlq_table(batch: pa.Table, indices: pa.Array, reason: pa.Array | str) -> pa.Table:
    """Rows ``indices`` of ``batch`` plus a ``_dlq_reason_`` column (one reason or one each)."""
    rows = batch.take(indices)
    reasons = pa.array([reason] * rows.num_rows, pa.string()) if isinstance(reason, str) else reason
    if DLQ_REASON in rows.column_names:
        rows = rows.drop_columns([DLQ_REASON])
    return rows.append_column(DLQ_REASON, reasons)


def refused_records(
    batch: pa.Table,
    times: pa.Array,
    marks: pa.Array,
    invalid: pa.Array | None,
    late: pa.Array | None,
    config: WindowConfig,
) -> pa.Table:
    """The DLQ table of one batch: rows ``invalid`` (no valid event time) then rows
    ``late`` (past every window's allowed lateness), each with its reason; ``times`` and
    ``marks`` are the batch's event times and the watermark each row met. No columns when
    nothing was refused."""
    parts: list[pa.Table] = []
    if invalid is not None and len(invalid):
        reason = f"missing or invalid event time in field {config.event_time_field!r}"
        parts.append(dlq_table(batch, invalid, reason))
    if late is not None and len(late):
        reasons = pc.binary_join_element_wise(
            "late: event time ",
            pc.take(times, late).cast(pa.string()),
            " ms arrived when the watermark was ",
            pc.take(marks, late).cast(pa.string()),
            f" ms, after all its windows had closed (allowed lateness {config.lateness_ms} ms)",
            "",
        )
        parts.append(dlq_table(batch, late, reasons))
    if not parts:
        return _EMPTY
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts)
