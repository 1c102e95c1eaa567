"""The ``window`` filter: event-time windowed aggregation (Sluice's own, see ``docs/pipelines.md``).

Input events are consumed; for every window that closes and every distinct ``group_by`` key
the filter emits one event: the keys, the ``aggregates`` (in their order), then the engine's
window fields :data:`~sluice.windows.WINDOW_COLUMNS` (``_startTime_``, ``_endTime_``,
``dtEventTime`` and ``dtEventTimeStamp``, the window start in epoch ms). A window closes when
the watermark (largest event time seen - ``waiting_time``) passes its end, so results come
out on the batch whose events moved the watermark, or on a :meth:`WindowKernel.tick` once the
input has been silent for ``idle_timeout`` (then the watermark follows the wall clock).

Events the engine cannot window (later than the allowed lateness, no valid event time) are
kept with the engine's reason for :meth:`WindowKernel.take_dead`; the pipeline runtime sends
them to the pipeline's dead-letter topic. The state (open windows, watermark) is
:meth:`WindowKernel.snapshot`; the runtime checkpoints it with the input offset, so a restart
neither loses nor double-counts an event (:mod:`sluice.pipeline.run.worker`).

The kernel is a :class:`~sluice.pipeline.executor.StatefulKernel`, owned by one thread.
"""

from __future__ import annotations

import time

import pyarrow as pa

from sluice.pipeline.executor import ROW
from sluice.pipeline.settings.common import PluginSettings
from sluice.pipeline.settings.window import WindowSettings
from sluice.windows import DLQ_REASON, WindowOperator, WindowOutput

__all__ = ["WindowKernel", "window_kernel"]

_EMPTY = pa.table({})


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class WindowKernel:
    """One ``window`` filter over one :class:`~sluice.windows.WindowOperator` (module doc).

    Args:
        settings: the filter's validated settings.
    """

    def __init__(self, settings: WindowSettings) -> None:
        self.settings = settings
        self.operator = WindowOperator(
            settings.window_config(), settings.group_by, settings.agg_specs(), settings.threads
        )
        self._idle_ms = settings.idle_timeout * 1000
        self._arrived_ms: int | None = None  # wall clock of the last input batch
        self._mark_at_arrival: int | None = None  # the watermark right after it
        self._dead: list[pa.Table] = []

    def __call__(self, table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        """Window the batch; returns the events of the windows it closed (row column: the
        batch's first position, as for other filters that reshape the batch)."""
        rows = table.column(ROW) if ROW in table.column_names else None
        data = table.drop_columns([ROW]) if rows is not None else table
        now = _wall_ms()
        out = self.operator.process(data, 0, now_ms=now)
        self._arrived_ms = now
        self._mark_at_arrival = self.operator.watermark
        emitted = self._collect(out)
        if rows is not None:
            first = rows[0].as_py() if len(rows) else 0
            emitted = emitted.append_column(ROW, pa.repeat(pa.scalar(first, pa.int64()),
                                                           emitted.num_rows))  # fmt: skip
        return emitted, None

    def tick(self, now_ms: int | None = None) -> pa.Table:
        """Windows that close because the input has been silent for ``idle_timeout``: the
        watermark then moves on with the wall clock from where the last batch left it."""
        now = _wall_ms() if now_ms is None else now_ms
        if self._idle_ms <= 0 or self._arrived_ms is None or self._mark_at_arrival is None:
            return _EMPTY
        silent = now - self._arrived_ms
        if silent < self._idle_ms:
            return _EMPTY
        return self._collect(self.operator.advance_to(self._mark_at_arrival + silent))

    def flush(self) -> pa.Table:
        """End of input: every open window's result (:meth:`WindowOperator.flush`)."""
        return self._collect(self.operator.flush())

    def take_dead(self) -> tuple[pa.Table, list[str]]:
        """Events refused since the last call, and the engine's reason for each."""
        if not self._dead:
            return _EMPTY, []
        late = self._dead[0] if len(self._dead) == 1 else pa.concat_tables(
            self._dead, promote_options="permissive"
        )  # fmt: skip
        self._dead = []
        reasons = [str(r) for r in late.column(DLQ_REASON).to_pylist()]
        hidden = [c for c in (DLQ_REASON, ROW) if c in late.column_names]
        return late.drop_columns(hidden), reasons

    def snapshot(self) -> bytes:
        """Open windows, watermark and counters (:meth:`WindowOperator.snapshot`)."""
        return self.operator.snapshot()

    def restore(self, blob: bytes) -> None:
        """Restore a :meth:`snapshot`; the idle clock starts again now.

        Raises:
            SnapshotError: (a ``ValueError``) taken with other window or aggregate settings.
        """
        self.operator.restore(blob)
        self._arrived_ms = _wall_ms()
        self._mark_at_arrival = self.operator.watermark

    def close(self) -> None:
        """Release the engine's DuckDB connection."""
        self.operator.close()

    def _collect(self, out: WindowOutput) -> pa.Table:
        if out.late.num_rows:
            self._dead.append(out.late)
        emitted: pa.Table = out.emitted
        return emitted


def window_kernel(settings: PluginSettings) -> WindowKernel:
    """Build the kernel of one ``window`` filter (:class:`WindowKernel`)."""
    if not isinstance(settings, WindowSettings):
        raise TypeError(f"window filter needs WindowSettings, got {type(settings).__name__}")
    return WindowKernel(settings)
