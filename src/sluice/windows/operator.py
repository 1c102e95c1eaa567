"""The window operator of a ``realtime`` node: Arrow batches in, window results out.

Who calls it: the runtime task of a windowed ``realtime`` node, once per fetched batch
(:meth:`WindowOperator.process`) and on a processing-time tick (:meth:`WindowOperator.advance`,
for idle partitions); at a checkpoint it stores :meth:`WindowOperator.snapshot` together with
the input offsets, and on start it calls :meth:`WindowOperator.restore` with the last one.
The SQL layer evaluates the node's pre-projection on each batch before ``process`` and its
post-projection/HAVING on the emitted rows after it.

Example::

    op = WindowOperator(
        WindowConfig(window_type="scroll", count_freq=60, waiting_time=5),
        group_keys=["service"],
        aggs=[AggSpec(func="count", alias="cnt"), AggSpec(func="max", column="latency", alias="mx")],
    )
    out = op.process(batch, partition=0)   # out.rows, out.corrections, out.late
    blob = op.snapshot()                   # checkpoint with the input offsets
    ...
    out = op.flush()                       # end of a finite input only

Errors: :class:`WindowSpecError` for inconsistent keys/aggregates (at construction),
:class:`WindowStateLimitError` when ``max_state_rows`` is exceeded, and
:class:`~.snapshot.SnapshotError` from :meth:`WindowOperator.restore`. Bad *records* never
raise: they go to ``WindowOutput.late`` with a reason.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Hashable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.config import AggSpec, WindowConfig, WindowType
from sluice.windows.kernels import Kernels
from sluice.windows.output import WindowOutput, refused_records
from sluice.windows.output import with_window_columns as _bounds
from sluice.windows.panes import PaneWindows
from sluice.windows.sessions import SessionWindows
from sluice.windows.snapshot import SnapshotError, decode, encode
from sluice.windows.spec import (
    WindowMetrics,
    WindowSpecError,
    WindowStateLimitError,
    check_spec,
    event_times,
)
from sluice.windows.strategy import WindowStrategy
from sluice.windows.watermark import NEG_INF, POS_INF, WatermarkTracker

__all__ = [
    "WindowMetrics",
    "WindowOperator",
    "WindowSpecError",
    "WindowStateLimitError",
    "event_times",
]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class WindowOperator:
    """Event-time windowed aggregation of one ``realtime`` node.

    Args:
        config: the node's window settings.
        group_keys: input columns to group by (besides the window); may be empty.
        aggs: output aggregates, in output order.
        threads: DuckDB threads for the kernels (1 keeps a task on one core).

    Raises:
        WindowSpecError: duplicate or reserved names, or an alias clashing with a key or
            with a window column.
    """

    def __init__(
        self,
        config: WindowConfig,
        group_keys: Sequence[str],
        aggs: Sequence[AggSpec],
        threads: int = 1,
    ) -> None:
        check_spec(group_keys, aggs)
        self.config = config
        self.group_keys = tuple(group_keys)
        self.aggs = tuple(aggs)
        self._kernels = Kernels(self.group_keys, self.aggs, threads)
        self._strategy: WindowStrategy = (
            SessionWindows(config, self._kernels)
            if config.window_type is WindowType.SESSION
            else PaneWindows(config, self._kernels)
        )
        self._tracker = WatermarkTracker(config.waiting_ms, config.idle_timeout_ms)
        self._columns = list(dict.fromkeys([*group_keys, *(a.column for a in aggs if a.column)]))
        self._seq = 0
        self._finished = False
        self._counts = {"in": 0, "late": 0, "rows": 0, "corrections": 0}

    # -- feeding ---------------------------------------------------------------------------

    def set_backlog(self, backlog: Callable[[Hashable], bool] | None) -> None:
        """Tell idleness which partitions still have unread records (see WatermarkTracker).

        Called by the task that feeds the operator, before the first batch; a partition for
        which ``backlog`` answers true never turns idle, however long it stays silent.
        """
        self._tracker.backlog = backlog

    def mark_active(self, partitions: Sequence[Hashable], now_ms: int | None = None) -> None:
        """The caller holds records of ``partitions`` it is about to feed: none is idle now.

        Called at the start of a batch that spans several partitions, so that feeding the
        first partition cannot leave the others idle and make their records late.
        """
        now = _wall_ms() if now_ms is None else now_ms
        for partition in partitions:
            self._tracker.observe(partition, None, now)

    def declare_partitions(self, partitions: Sequence[Hashable], now_ms: int | None = None) -> None:
        """Declare the input partitions up front, so a silent one holds the watermark back
        until it delivers or stays idle for ``idle_timeout_ms``."""
        now = _wall_ms() if now_ms is None else now_ms
        for partition in partitions:
            self._tracker.declare(partition, now)

    def process(
        self, batch: pa.Table, partition: Hashable = 0, now_ms: int | None = None
    ) -> WindowOutput:
        """Window one batch of one input partition, in arrival order.

        Args:
            batch: records (after the node's pre-projection); must contain the event-time
                field; a missing key or aggregate column counts as all-null.
            partition: input partition id (the watermark is tracked per partition).
            now_ms: processing time in ms (default: the wall clock), used for idleness.

        Returns:
            Windows fired by the watermark advance, corrections, and DLQ records.

        Raises:
            WindowStateLimitError: state exceeds ``max_state_rows`` after this batch.
            RuntimeError: called after :meth:`flush`.
        """
        if self._finished:
            raise RuntimeError("WindowOperator.process was called after flush(); create a new one")
        now = _wall_ms() if now_ms is None else now_ms
        if batch.num_rows == 0:
            self._tracker.declare(partition, now)
            return self.advance(now)
        return self._process_runs(batch, [(partition, batch.num_rows)], now)

    def process_runs(
        self,
        batch: pa.Table,
        runs: Sequence[tuple[Hashable, int]],
        now_ms: int | None = None,
    ) -> WindowOutput:
        """Window records of several input partitions at once: the same results as calling
        :meth:`process` for each run in turn, in one pass over the state.

        ``runs`` cuts ``batch`` into consecutive ``(partition, row count)`` runs, in the
        order the records are fed (the counts add up to ``batch.num_rows``). Each record
        still sees the watermark in force just before it (the runs update the watermarks
        one after the other); the windows that become due fire once, after the last run.
        No record is on time for a window the watermark passed before it, so every window's
        first result is the one the run-by-run calls give, and late updates are applied
        after the firing as they would be. Only the grouping of corrections into outputs
        can differ (one output instead of one per run). Session windows close at batch
        boundaries, so for them this is exactly one :meth:`process` call per run.

        Raises:
            ValueError: the run counts do not add up to the batch's rows.
            WindowStateLimitError, RuntimeError: as for :meth:`process`.
        """
        if sum(count for _, count in runs) != batch.num_rows:
            raise ValueError("process_runs: the run counts must add up to the batch's rows")
        if self._finished:
            raise RuntimeError("WindowOperator.process was called after flush(); create a new one")
        now = _wall_ms() if now_ms is None else now_ms
        runs = [(partition, count) for partition, count in runs if count > 0]
        if not runs:
            return self.advance(now)
        if self.config.window_type is WindowType.SESSION and len(runs) > 1:
            out = WindowOutput()
            start = 0
            for partition, count in runs:
                out = out.merge(
                    self._process_runs(batch.slice(start, count), [(partition, count)], now)
                )
                start += count
            return out
        return self._process_runs(batch, runs, now)

    def _process_runs(
        self, batch: pa.Table, runs: Sequence[tuple[Hashable, int]], now: int
    ) -> WindowOutput:
        n = batch.num_rows
        self._counts["in"] += n
        times = event_times(batch, self.config.event_time_field)
        seq0 = self._seq
        self._seq += n
        seqs = pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), seq0 - 1)
        marks = self._running_marks(times, runs, now)
        valid = pc.is_valid(times)
        work = self._work(batch, times, seqs, marks)
        all_valid = times.null_count == 0
        if not all_valid:
            work = work.filter(valid)
        may_be_late = work.num_rows > 0 and pc.any(pc.less(work["__w_t"], work["__w_wm"])).as_py()
        dropped, late_parts = self._strategy.ingest(work, bool(may_be_late))
        out = self._emit(self._tracker.refresh(now), late_parts)
        bad = None if all_valid else pc.indices_nonzero(pc.invert(valid))
        late = None if dropped is None or not len(dropped) else pc.subtract(dropped, seq0)
        dlq = refused_records(batch, times, marks, bad, late, self.config)
        self._counts["late"] += dlq.num_rows
        self._check_limit()
        return WindowOutput(rows=out.rows, corrections=out.corrections, late=dlq)

    def _running_marks(
        self, times: pa.Array, runs: Sequence[tuple[Hashable, int]], now: int
    ) -> pa.Array:
        """Watermark just before each record, the runs' partitions advancing in turn."""
        filled = pc.fill_null(times, NEG_INF) if times.null_count else times
        parts: list[pa.Array] = []
        start = 0
        for i, (partition, count) in enumerate(runs):
            self._tracker.declare(partition, now)
            parts.append(self._tracker.running(partition, filled.slice(start, count), now))
            high = pc.max(times.slice(start, count)).as_py()
            self._tracker.observe(partition, high, now)
            if i < len(runs) - 1:
                self._tracker.refresh(now)
            start += count
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)

    def advance(self, now_ms: int | None = None) -> WindowOutput:
        """Processing-time tick: re-evaluate idle partitions and fire what became due."""
        now = _wall_ms() if now_ms is None else now_ms
        if self._finished:
            return WindowOutput()
        return self._emit(self._tracker.refresh(now), None)

    def advance_to(self, watermark_ms: int) -> WindowOutput:
        """Raise the watermark to at least ``watermark_ms`` and fire what became due.

        For a caller that knows no earlier record will come (e.g. a pipeline's only input
        has been silent long enough); the watermark never goes backwards, and records older
        than it are late afterwards (DLQ, or corrections within the allowed lateness).
        """
        if self._finished:
            return WindowOutput()
        self._tracker.watermark = max(self._tracker.watermark, int(watermark_ms))
        return self._emit(self._tracker.watermark, None)

    def flush(self) -> WindowOutput:
        """End of a finite input: emit every open window and pending correction.

        The operator is finished afterwards; further ``process`` calls raise.
        """
        if self._finished:
            return WindowOutput()
        out = self._emit(POS_INF, None, force=True)
        self._finished = True
        return out

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Serialise the whole state (partials, watermarks, counters); see :mod:`.snapshot`.

        Take it after ``process`` returned and store it atomically with the offsets of the
        records processed so far; restoring it and replaying from those offsets neither
        loses nor double-counts a record.
        """
        header = {
            "fingerprint": self._fingerprint(),
            "seq": self._seq,
            "finished": self._finished,
            "tracker": self._tracker.to_json(),
            "fired_wm": self._strategy.fired_wm,
            "corrected_wm": self._strategy.corrected_wm,
            "counts": self._counts,
        }
        return encode(header, self._strategy.state_tables())

    def restore(self, blob: bytes) -> None:
        """Replace the state with a snapshot taken by an operator of the same shape.

        Raises:
            SnapshotError: corrupt blob, or taken with other window kind/sizes, keys or aggs.
        """
        header, tables = decode(blob)
        if header.get("fingerprint") != self._fingerprint():
            raise SnapshotError(
                "window snapshot was taken by an operator with a different window type, size, "
                "group keys or aggregates; it cannot be restored into this one"
            )
        try:
            self._seq = int(header["seq"])
            self._finished = bool(header["finished"])
            self._tracker.load_json(header["tracker"])
            self._strategy.fired_wm = int(header["fired_wm"])
            self._strategy.corrected_wm = int(header["corrected_wm"])
            self._counts = {k: int(v) for k, v in header["counts"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"window snapshot header is incomplete: {exc!r}") from exc
        self._strategy.load_tables(tables)

    def metrics(self) -> WindowMetrics:
        """Current counters and state size."""
        mark = self._tracker.watermark
        return WindowMetrics(
            watermark_ms=None if mark <= NEG_INF else mark,
            state_rows=self._strategy.rows,
            state_bytes=self._strategy.nbytes,
            records_in=self._counts["in"],
            records_late=self._counts["late"],
            rows_emitted=self._counts["rows"],
            corrections_emitted=self._counts["corrections"],
        )

    @property
    def watermark(self) -> int | None:
        """Current watermark in ms (None before any record)."""
        return self.metrics().watermark_ms

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._kernels.close()

    # -- internals -------------------------------------------------------------------------

    def _fingerprint(self) -> str:
        c = self.config
        shape = {
            "type": c.window_type.value,
            "sizes": [c.count_freq, c.window_time, c.session_gap],
            "keys": list(self.group_keys),
            "aggs": [a.model_dump(mode="json") for a in self.aggs],
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]

    def _work(self, batch: pa.Table, times: pa.Array, seqs: pa.Array, marks: pa.Array) -> pa.Table:
        arrays: list[pa.Array | pa.ChunkedArray] = []
        names: list[str] = []
        for name in self._columns:
            arrays.append(
                batch.column(name) if name in batch.column_names else pa.nulls(batch.num_rows)
            )
            names.append(name)
        arrays += [times, seqs, marks]
        names += ["__w_t", "__w_seq", "__w_wm"]
        return pa.Table.from_arrays(arrays, names=names)

    def _emit(self, watermark: int, late: pa.Table | None, force: bool = False) -> WindowOutput:
        fired = self._strategy.fire(watermark)
        self._strategy.add_late(late)
        fixed = self._strategy.corrections(watermark, force=force)
        rows = self._finish(fired)
        corrections = self._finish(fixed)
        self._counts["rows"] += rows.num_rows
        self._counts["corrections"] += corrections.num_rows
        return WindowOutput(rows=rows, corrections=corrections)

    def _finish(self, merged: pa.Table | None) -> pa.Table:
        if merged is None or merged.num_rows == 0:
            return pa.table({})
        return _bounds(self._kernels.finalize(merged), self.config.timezone)

    def _check_limit(self) -> None:
        limit = self.config.max_state_rows
        if limit and self._strategy.rows > limit:
            raise WindowStateLimitError(
                f"window state holds {self._strategy.rows} partial rows, more than "
                f"max_state_rows={limit}; raise the limit or reduce the key cardinality"
            )
