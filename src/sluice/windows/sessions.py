"""Session windows: per key, records closer than ``session_gap`` in event time share a window.

Each record spans ``[t, t + gap)``; overlapping spans of one key merge (Flink's merging
session windows), so a session is ``[first, last + gap)`` and out-of-order records can join or
bridge open sessions. A session fires when the watermark reaches ``last + gap``, or, when
``expired_time`` is set, when it reaches ``first + expired_time`` (the session is then emitted
and its state dropped even if records keep coming; later records open a new session).

A record is late when its own span ended before the watermark at its arrival
(``t + gap <= W_i``). Sessions close at batch boundaries: on-time records of a batch merge
with every session still open when the batch arrives. Late records within the allowed
lateness merge into the retained fired sessions and cause corrections (a late record that
bridges two fired sessions yields one corrected session spanning both).

Only sessions of keys present in a batch are re-merged, so the work per batch follows the
batch, not the number of open sessions.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.config import WindowConfig
from sluice.windows.kernels import Kernels, concat, quote
from sluice.windows.strategy import Ingested, WindowStrategy

__all__ = ["SessionWindows"]


class SessionWindows(WindowStrategy):
    """State and rules of session windows (see the module docstring)."""

    def __init__(self, config: WindowConfig, kernels: Kernels) -> None:
        super().__init__(config, kernels)
        self._gap = config.session_gap * 1000

    def _layout(self, table: pa.Table) -> pa.Table:
        rest = [n for n in table.column_names if n not in ("__w_ws", "__w_we", "__w_dirty")]
        return table.select(["__w_ws", "__w_we", *rest, "__w_dirty"])

    def _sessionize(self, spans: pa.Table) -> pa.Table:
        """Merge overlapping spans per key into sessions (one row per session)."""
        keys = self.kernels.key_list()
        part = f"PARTITION BY {keys} " if keys else ""
        keys_sql = f", {keys}" if keys else ""
        merge = self.kernels.merge_sql(spans.schema)
        order = f"{part}ORDER BY __w_ws, __w_we"
        sql = (
            f"WITH o AS (SELECT *, CASE WHEN __w_ws < max(__w_we) OVER ({order} ROWS BETWEEN "
            "UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS __w_new FROM u), "
            f"g AS (SELECT *, sum(__w_new) OVER ({order} ROWS UNBOUNDED PRECEDING) AS __w_sid "
            f"FROM o) SELECT min(__w_ws) AS __w_ws, max(__w_we) AS __w_we{keys_sql}, {merge} "
            f"FROM g GROUP BY __w_sid{keys_sql}"
        )
        return self._layout(self.kernels.query(sql, u=spans))

    def _split_by_keys(self, table: pa.Table, probe: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Rows of ``table`` whose keys occur in ``probe``, and the other rows."""
        if not self.kernels.group_keys:
            return table, table.slice(0, 0)
        cond = " AND ".join(
            f"t.{quote(k)} IS NOT DISTINCT FROM p.{quote(k)}" for k in self.kernels.group_keys
        )
        distinct = f"(SELECT DISTINCT {self.kernels.key_list()} FROM p0) AS p"
        hit = self.kernels.query(
            f"SELECT t.* FROM t SEMI JOIN {distinct} ON {cond}", t=table, p0=probe
        )
        miss = self.kernels.query(
            f"SELECT t.* FROM t ANTI JOIN {distinct} ON {cond}", t=table, p0=probe
        )
        return hit, miss

    def ingest(self, work: pa.Table, may_be_late: bool) -> Ingested:
        """Merge on-time records into open sessions; return dropped seqs and late spans."""
        gap, late = self._gap, self.config.lateness_ms
        keys = self.kernels.key_list()
        keys_sql = f", {keys}" if keys else ""
        aggs = self.kernels.pre_aggregate_sql(work.schema)
        spans = self.kernels.query(
            f"WITH c AS (SELECT *, CASE WHEN __w_t + {gap} > __w_wm THEN 0 WHEN __w_t + {gap} + "
            f"{late} > __w_wm THEN 1 ELSE 2 END AS __w_st FROM w) SELECT __w_t AS __w_ws, "
            f"__w_t + {gap} AS __w_we{keys_sql}, {aggs}, __w_st = 1 AS __w_dirty FROM c "
            f"WHERE __w_st < 2 GROUP BY __w_t, __w_st{keys_sql}",
            w=work,
        )
        spans = self._layout(spans)
        dropped: pa.Array | None = None
        late_spans: pa.Table | None = None
        if may_be_late:
            rejected = self.kernels.query(
                f"SELECT __w_seq FROM w WHERE __w_t + {gap} + {late} <= __w_wm ORDER BY __w_seq",
                w=work,
            )
            if rejected.num_rows:
                dropped = rejected.column("__w_seq").combine_chunks()
            dirty = spans.column("__w_dirty")
            if pc.any(dirty).as_py():
                late_spans = spans.filter(dirty)
                spans = spans.filter(pc.invert(dirty))
        if spans.num_rows:
            current = self.open.merged()
            if current is None:
                self.open.replace(self._sessionize(spans))
            else:
                hit, miss = self._split_by_keys(current, spans)
                merged = self._sessionize(concat([self._layout(hit), spans]))
                self.open.replace(concat([self._layout(miss), merged]))
        return dropped, late_spans

    def fire(self, watermark: int) -> pa.Table | None:
        """Remove and return sessions that ended (or expired) at ``watermark``."""
        self.fired_wm = max(self.fired_wm, watermark)
        current = self.open.merged()
        if current is None:
            return None
        due = pc.less_equal(current.column("__w_we"), watermark)
        expiry = self.config.expired_ms
        if expiry > 0:
            expired = pc.less_equal(pc.add(current.column("__w_ws"), expiry), watermark)
            due = pc.or_(due, expired)
        if not pc.any(due).as_py():
            return None
        fired = current.filter(due)
        self.open.replace(current.filter(pc.invert(due)))
        self.retain(fired)
        return fired

    def add_late(self, late: pa.Table | None) -> None:
        """Merge late spans into retained fired sessions (marking them dirty)."""
        if late is None or late.num_rows == 0:
            return
        closed = self.closed.merged()
        if closed is None:
            merged = self._sessionize(late)
            self.closed.replace(merged)
        else:
            hit, miss = self._split_by_keys(closed, late)
            merged = self._sessionize(concat([self._layout(hit), late]))
            self.closed.replace(concat([self._layout(miss), merged]))
        self.note_closed(merged, dirty=True)

    def state_tables(self) -> dict[str, pa.Table | None]:
        """Open and closed sessions."""
        return {"open": self.open.merged(), "closed": self.closed.merged()}

    def load_tables(self, tables: dict[str, pa.Table]) -> None:
        """Restore open and closed sessions."""
        self.open.replace(tables.get("open"))
        self.closed.replace(tables.get("closed"))
        self.reload_closed()
