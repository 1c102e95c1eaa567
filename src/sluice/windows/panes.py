"""Fixed-grid windows: ``scroll`` (tumbling), ``slide`` and ``accumulate``.

Assignment (event time ``t`` in ms, ``S`` = count_freq, ``L`` = window_time, both in ms):

- scroll: one window ``[floor(t/S)*S, +S)``.
- slide: every window ``[k*S, k*S + L)`` containing ``t`` (``ceil(L/S)`` candidates).
- accumulate: period ``p = floor(t/L)*L``; results are emitted for ``[p, p + k*S)``
  (the last one ``[p, p + L)``) as the watermark passes each step end, holding every record
  of the period with time before the step end. A record counts from the first step end after
  both its own time and the watermark at its arrival, so no emitted step is ever changed.

Lateness (``W_i`` = watermark just before record ``i``): a (record, window) pair is on time
when the window ends after ``W_i``; it is *late but accepted* when lateness is allowed and
``end + lateness > W_i`` (for accumulate only the whole period's end counts); otherwise it is
rejected. A record goes to the DLQ only if every one of its windows rejects it.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.arrowagg import floor_to
from sluice.windows.config import WindowConfig, WindowType
from sluice.windows.kernels import Kernels, concat
from sluice.windows.strategy import Ingested, WindowStrategy

__all__ = ["PaneWindows"]


def _floor(expr: str, size: int) -> str:
    """SQL flooring ``expr`` to a multiple of ``size`` (correct for negative values too)."""
    return f"({expr} - ((({expr}) % {size}) + {size}) % {size})"


class PaneWindows(WindowStrategy):
    """State and rules of scroll, slide and accumulate windows (see the module docstring)."""

    def __init__(self, config: WindowConfig, kernels: Kernels) -> None:
        super().__init__(config, kernels)
        self._kind = config.window_type
        self._min_open_end: int | None = None

    def _assign_sql(self, source: str = "w") -> str:
        """CTE ``c``: rows of ``source`` with their windows and status ``__w_st``.

        Status 0: on time; 1: late but within the allowed lateness; 2: rejected.
        ``__w_wend`` is the end that decides lateness (the period end for accumulate).
        """
        step, size, late = self.config.step_ms, self.config.size_ms, self.config.lateness_ms
        if self._kind is WindowType.SCROLL:
            start = _floor("__w_t", step)
            sel = f"{start} AS __w_ws, {start} + {step} AS __w_we, {start} + {step} AS __w_wend"
        elif self._kind is WindowType.SLIDE:
            # source rows are panes (``__w_pa``) whose records share their windows
            copies = -(-size // step)
            start = f"({_floor('__w_pa', step)} - o.k * {step})"
            sel = f"{start} AS __w_ws, {start} + {size} AS __w_we, {start} + {size} AS __w_wend"
            source = (
                f"{source} CROSS JOIN range(0, {copies}) AS o(k) WHERE {start} + {size} > __w_pa"
            )
        else:
            period = _floor("__w_t", size)
            pane_end = (
                f"least({period} + {_floor(f'__w_t - {period}', step)} + {step}, {period} + {size})"
            )
            first_open = (
                f"least({period} + {_floor(f'greatest(__w_wm - {period}, -1)', step)} + {step}, "
                f"{period} + {size})"
            )
            sel = (
                f"{period} AS __w_ws, greatest({pane_end}, {first_open}) AS __w_we, "
                f"{period} + {size} AS __w_wend"
            )
        return (
            f"WITH a AS (SELECT *, {sel} FROM {source}), c AS (SELECT *, CASE WHEN "
            f"__w_we > __w_wm THEN 0 WHEN __w_wend + {late} > __w_wm THEN 1 ELSE 2 END AS __w_st "
            "FROM a)"
        )

    def _last_end_sql(self) -> str:
        """End of the last window a record at ``__w_t`` belongs to (its lateness bound)."""
        step, size = self.config.step_ms, self.config.size_ms
        if self._kind is WindowType.SCROLL:
            return f"{_floor('__w_t', step)} + {step}"
        if self._kind is WindowType.SLIDE:
            return f"{_floor('__w_t', step)} + {size}"
        return f"{_floor('__w_t', size)} + {size}"

    def _slide_panes(self, work: pa.Table) -> pa.Table:
        """Stage 1 of slide: partials per (pane, keys, lateness class).

        A pane of ``gcd(window, slide)`` ms lies in exactly the same windows for all its
        records, and records whose arrival watermarks fall in the same grid classes get the
        same status for every window, so a batch collapses to these rows before the
        ``window/slide``-fold fan-out.
        """
        step, size, late = self.config.step_ms, self.config.size_ms, self.config.lateness_ms
        pane = math.gcd(size, step)
        keys = self.kernels.key_list()
        keys_sql = f", {keys}" if keys else ""
        on_time = _floor(f"__w_wm - {size}", step)
        in_lateness = _floor(f"__w_wm - {size} - {late}", step)
        aggs = self.kernels.pre_aggregate_sql(work.schema)
        return self.kernels.query(
            f"SELECT {_floor('__w_t', pane)} AS __w_pa, max(__w_wm) AS __w_wm{keys_sql}, {aggs} "
            f"FROM w GROUP BY __w_pa, {on_time}, {in_lateness}{keys_sql}",
            w=work,
        )

    def ingest(self, work: pa.Table, may_be_late: bool) -> Ingested:
        """Pre-aggregate ``work`` per (window, keys); return dropped seqs and late partials."""
        fast = self._scroll_arrow(work, may_be_late) if self._kind is WindowType.SCROLL else None
        parts, dropped, late = fast if fast is not None else self._ingest_sql(work, may_be_late)
        if parts.num_rows:
            self.open.add(parts)
            low = pc.min(parts.column("__w_we")).as_py()
            if self._min_open_end is None or low < self._min_open_end:
                self._min_open_end = low
        return dropped, late

    def _ingest_sql(
        self, work: pa.Table, may_be_late: bool
    ) -> tuple[pa.Table, pa.Array | None, pa.Table | None]:
        """(on-time partials, dropped seqs, late partials) of ``work`` by the SQL kernels."""
        keys = self.kernels.key_list()
        keys_sql = f", {keys}" if keys else ""
        if self._kind is WindowType.SLIDE:
            panes = self._slide_panes(work)
            aggs = self.kernels.merge_sql(panes.schema, dirty=False)
            cte = self._assign_sql("p")
            tables = {"p": panes}
        else:
            aggs = self.kernels.pre_aggregate_sql(work.schema)
            cte = self._assign_sql("w")
            tables = {"w": work}
        sql = (
            f"{cte} SELECT __w_ws, __w_wx AS __w_we, __w_dirty{keys_sql}, {aggs} FROM (SELECT *, "
            "CASE WHEN __w_st = 1 THEN __w_wend ELSE __w_we END AS __w_wx, __w_st = 1 AS __w_dirty "
            f"FROM c WHERE __w_st < 2) GROUP BY __w_ws, __w_wx, __w_dirty{keys_sql}"
        )
        parts = self._layout(self.kernels.query(sql, **tables))
        dropped: pa.Array | None = None
        late: pa.Table | None = None
        if may_be_late:
            bound = f"{self._last_end_sql()} + {self.config.lateness_ms}"
            rejected = self.kernels.query(
                f"SELECT __w_seq FROM w WHERE {bound} <= __w_wm ORDER BY __w_seq", w=work
            )
            if rejected.num_rows:
                dropped = rejected.column("__w_seq").combine_chunks()
            dirty = parts.column("__w_dirty")
            if pc.any(dirty).as_py():
                late = parts.filter(dirty)
                parts = parts.filter(pc.invert(dirty))
        return parts, dropped, late

    def _scroll_arrow(
        self, work: pa.Table, may_be_late: bool
    ) -> tuple[pa.Table, pa.Array | None, pa.Table | None] | None:
        """What :meth:`_ingest_sql` gives for scroll windows, by Arrow hash aggregation
        (None when the Arrow kernels cannot compute these aggregates exactly)."""
        arrow = self.kernels.arrow
        if not arrow.enabled:
            return None
        step = self.config.step_ms
        ws = floor_to(work.column("__w_t"), step)
        we = pc.add(ws, step)
        rows = work.append_column("__w_ws", ws).append_column("__w_we", we)
        lead = ("__w_ws", "__w_we")
        if not may_be_late:
            parts = arrow.pre_aggregate(rows, lead)
            return None if parts is None else (_with_dirty(parts, False), None, None)
        marks = work.column("__w_wm")
        on_time = pc.greater(we, marks)
        kept = pc.greater(pc.add(we, self.config.lateness_ms), marks)
        parts = arrow.pre_aggregate(rows.filter(on_time), lead)
        late = arrow.pre_aggregate(rows.filter(pc.and_(kept, pc.invert(on_time))), lead)
        if parts is None or late is None:
            return None
        rejected = work.column("__w_seq").filter(pc.invert(kept)).combine_chunks()
        return (
            _with_dirty(parts, False),
            rejected if len(rejected) else None,
            _with_dirty(late, True) if late.num_rows else None,
        )

    def _layout(self, parts: pa.Table) -> pa.Table:
        """Order columns as ``__w_ws, __w_we, keys..., partials..., __w_dirty`` (the merge layout)."""
        names = parts.column_names
        rest = [n for n in names if n not in ("__w_ws", "__w_we", "__w_dirty")]
        return parts.select(["__w_ws", "__w_we", *rest, "__w_dirty"])

    def fire(self, watermark: int) -> pa.Table | None:
        """Remove and return the merged partials of every window result due at ``watermark``."""
        if self._min_open_end is None or self._min_open_end > watermark:
            self.fired_wm = max(self.fired_wm, watermark)
            return None
        if self._kind is WindowType.ACCUMULATE:
            fired = self._fire_steps(watermark)
        else:
            fired = self._fire_ended(watermark)
        self.fired_wm = max(self.fired_wm, watermark)
        return fired

    def _fire_ended(self, watermark: int) -> pa.Table | None:
        merged = self.open.merged()
        if merged is None:
            return None
        due = pc.less_equal(merged.column("__w_we"), watermark)
        fired = merged.filter(due)
        rest = merged.filter(pc.invert(due))
        self.open.replace(rest)
        self._min_open_end = pc.min(rest.column("__w_we")).as_py() if rest.num_rows else None
        if fired.num_rows == 0:
            return None
        self.retain(fired)
        return fired

    def _fire_steps(self, watermark: int) -> pa.Table | None:
        merged = self.open.merged()
        if merged is None:
            return None
        step, size = self.config.step_ms, self.config.size_ms
        starts: list[int] = []
        ends: list[int] = []
        for period in pc.unique(merged.column("__w_ws")).to_pylist():
            k = max(1, (max(self.fired_wm, period) - period) // step + 1)
            while True:
                end = min(period + k * step, period + size)
                if end > watermark:
                    break
                if end > self.fired_wm:
                    starts.append(period)
                    ends.append(end)
                if end == period + size:
                    break
                k += 1
        if not starts:
            return None
        steps = pa.table(
            {"__w_ws": pa.array(starts, pa.int64()), "__w_e": pa.array(ends, pa.int64())}
        )
        keys = self.kernels.key_list("o.")
        keys_sql = f", {keys}" if keys else ""
        merge = self.kernels.merge_sql(merged.schema)
        fired = self.kernels.query(
            f"SELECT s.__w_ws AS __w_ws, s.__w_e AS __w_we{keys_sql}, {merge} FROM o JOIN s "
            f"ON o.__w_ws = s.__w_ws AND o.__w_we <= s.__w_e GROUP BY s.__w_ws, s.__w_e{keys_sql}",
            o=merged,
            s=steps,
        )
        fired = self._layout(fired)
        last = self.kernels.query(
            "SELECT __w_ws, max(__w_e) AS __w_last FROM s GROUP BY __w_ws", s=steps
        )
        carried = self.kernels.query(
            "SELECT f.* FROM f JOIN l ON f.__w_ws = l.__w_ws AND f.__w_we = l.__w_last",
            f=fired,
            l=last,
        )
        untouched = self.kernels.query(
            "SELECT o.* FROM o LEFT JOIN l ON o.__w_ws = l.__w_ws "
            "WHERE l.__w_last IS NULL OR o.__w_we > l.__w_last",
            o=merged,
            l=last,
        )
        final = pc.equal(carried.column("__w_we"), pc.add(carried.column("__w_ws"), size))
        self.retain(carried.filter(final))
        rest = concat([untouched, self._layout(carried.filter(pc.invert(final)))])
        self.open.replace(rest)
        self._min_open_end = self._next_step_end(rest, watermark) if rest.num_rows else None
        return fired if fired.num_rows else None

    def _next_step_end(self, rest: pa.Table, fired_wm: int) -> int:
        """Earliest step end after ``fired_wm`` at which some open period must emit."""
        step, size = self.config.step_ms, self.config.size_ms
        low: int | None = None
        for period in pc.unique(rest.column("__w_ws")).to_pylist():
            base = max(fired_wm, period)
            end = min(period + ((base - period) // step + 1) * step, period + size)
            low = end if low is None else min(low, end)
        return low if low is not None else 0

    def state_tables(self) -> dict[str, pa.Table | None]:
        """Open and closed partials."""
        return {"open": self.open.merged(), "closed": self.closed.merged()}

    def load_tables(self, tables: dict[str, pa.Table]) -> None:
        """Restore open and closed partials."""
        self.open.replace(tables.get("open"))
        self.closed.replace(tables.get("closed"))
        self.reload_closed()
        rest = self.open.merged()
        if rest is None:
            self._min_open_end = None
        elif self._kind is WindowType.ACCUMULATE:
            self._min_open_end = self._next_step_end(rest, self.fired_wm)
        else:
            self._min_open_end = pc.min(rest.column("__w_we")).as_py()


def _with_dirty(parts: pa.Table, dirty: bool) -> pa.Table:
    """``parts`` with a constant ``__w_dirty`` column appended (the merge layout)."""
    return parts.append_column("__w_dirty", pa.repeat(pa.scalar(dirty, pa.bool_()), parts.num_rows))
