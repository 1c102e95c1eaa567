"""Window join of two stream inputs of a ``realtime`` node (BKData allows two stream parents).

Records of both inputs are assigned to ``scroll`` windows of ``count_freq`` seconds by event
time; when the watermark (the minimum over the partitions of *both* inputs) passes a window's
end, the window's left and right records are joined on the keys (``inner`` or ``left``) and
emitted, and the window's records are dropped. A join needs the records themselves, so the
state is the raw records of open windows (Arrow tables), not partial aggregates.

Output columns: the left columns, then the right columns (a right column whose name is also a
left column is renamed ``right_<name>``), then the window columns (``_startTime_``,
``_endTime_``, ``dtEventTime``, ``dtEventTimeStamp`` of the window start; input columns with
those names are replaced). SQL semantics: null keys never match. Rows are ordered by window,
then left arrival, then right arrival. Records whose window already fired go to the DLQ
(allowed lateness is not supported for joins and is rejected).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.config import RESERVED_PREFIX, WindowConfig, WindowType
from sluice.windows.kernels import concat, quote
from sluice.windows.operator import WindowSpecError, event_times
from sluice.windows.output import WINDOW_COLUMNS, WindowOutput, dlq_table
from sluice.windows.output import with_window_columns as _bounds
from sluice.windows.snapshot import SnapshotError, decode, encode
from sluice.windows.watermark import NEG_INF, POS_INF, WatermarkTracker

__all__ = ["JoinHow", "Side", "WindowJoin"]

Side = Literal["left", "right"]
JoinHow = Literal["inner", "left"]
_INTERNAL = ("__w_ws", "__w_we", "__w_seq")


class WindowJoin:
    """Join two stream inputs within the same scroll window (see the module docstring).

    Args:
        config: window settings; ``window_type`` must be ``scroll``.
        left_keys: join key columns of the left input.
        right_keys: join key columns of the right input, pairwise equal to ``left_keys``.
        how: ``inner`` or ``left``.

    Raises:
        WindowSpecError: not a scroll window, allowed lateness set, key lists of different
            lengths or empty, or an unknown ``how``.
    """

    def __init__(
        self,
        config: WindowConfig,
        left_keys: Sequence[str],
        right_keys: Sequence[str],
        how: JoinHow = "inner",
    ) -> None:
        if config.window_type is not WindowType.SCROLL:
            raise WindowSpecError("window joins run on scroll windows only")
        if config.allowed_lateness:
            raise WindowSpecError("window joins do not support allowed_lateness")
        if not left_keys or len(left_keys) != len(right_keys):
            raise WindowSpecError("a window join needs the same non-zero number of keys per side")
        if how not in ("inner", "left"):
            raise WindowSpecError(f"unknown join kind {how!r}; use 'inner' or 'left'")
        for key in (*left_keys, *right_keys):
            if key.startswith(RESERVED_PREFIX):
                raise WindowSpecError(f"join key {key!r} uses the reserved prefix __w_")
        self.config = config
        self.left_keys = tuple(left_keys)
        self.right_keys = tuple(right_keys)
        self.how: JoinHow = how
        self._con = duckdb.connect(
            ":memory:", config={"threads": 1, "enable_external_access": False}
        )
        self._tracker = WatermarkTracker(config.waiting_ms, config.idle_timeout_ms)
        self._buffers: dict[str, list[pa.Table]] = {"left": [], "right": []}
        self._schemas: dict[str, pa.Schema] = {}
        self._seq = 0

    def declare_partitions(
        self, side: Side, partitions: Sequence[int], now_ms: int | None = None
    ) -> None:
        """Declare one input's partitions up front (see WindowOperator.declare_partitions)."""
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        for partition in partitions:
            self._tracker.declare((side, partition), now)

    def process(
        self, batch: pa.Table, side: Side, partition: int = 0, now_ms: int | None = None
    ) -> WindowOutput:
        """Buffer one batch of one input; emit the joins of windows the watermark passed."""
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', not {side!r}")
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        key: Hashable = (side, partition)
        self._tracker.declare(key, now)
        n = batch.num_rows
        if n == 0:
            return self.advance(now)
        times = event_times(batch, self.config.event_time_field)
        marks = self._tracker.running(key, pc.fill_null(times, NEG_INF), now)
        step = self.config.step_ms
        whole = pc.floor(pc.divide(times.cast(pa.float64()), float(step)))
        starts = pc.multiply(whole.cast(pa.int64()), step)
        ends = pc.add(starts, step)
        seqs = pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), self._seq - 1)
        self._seq += n
        invalid = pc.is_null(times)
        late = pc.and_(pc.is_valid(times), pc.less_equal(ends, marks))
        dlq: list[pa.Table] = []
        if pc.any(invalid).as_py():
            reason = f"missing or invalid event time in field {self.config.event_time_field!r}"
            dlq.append(dlq_table(batch, pc.indices_nonzero(invalid), reason))
        if pc.any(late).as_py():
            dlq.append(
                dlq_table(batch, pc.indices_nonzero(late), "late: its join window had closed")
            )
        keep = pc.invert(pc.or_(invalid, late))
        body = batch.drop_columns([c for c in _INTERNAL if c in batch.column_names])
        body = body.append_column("__w_ws", starts).append_column("__w_we", ends)
        body = body.append_column("__w_seq", seqs).filter(keep)
        self._schemas[side] = body.schema
        if body.num_rows:
            self._buffers[side].append(body)
        self._tracker.observe(key, pc.max(times).as_py(), now)
        out = self._fire(self._tracker.refresh(now))
        late_table = concat(dlq) if dlq else pa.table({})
        return WindowOutput(rows=out, late=late_table)

    def advance(self, now_ms: int | None = None) -> WindowOutput:
        """Processing-time tick: idle partitions stop holding back the watermark."""
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return WindowOutput(rows=self._fire(self._tracker.refresh(now)))

    def flush(self) -> WindowOutput:
        """End of finite inputs: join and emit every buffered window."""
        return WindowOutput(rows=self._fire(POS_INF))

    def _take(self, side: Side, watermark: int) -> pa.Table | None:
        parts = self._buffers[side]
        if not parts:
            return None
        table = concat(parts)
        due = pc.less_equal(table.column("__w_we"), watermark)
        rest = table.filter(pc.invert(due))
        self._buffers[side] = [rest] if rest.num_rows else []
        fired = table.filter(due)
        return fired if fired.num_rows else None

    def _fire(self, watermark: int) -> pa.Table:
        left = self._take("left", watermark)
        right = self._take("right", watermark)
        if left is None or (right is None and self.how == "inner"):
            return pa.table({})
        if right is None:
            schema = self._schemas.get("right")
            if schema is None:
                fields = [pa.field(k, pa.null()) for k in self.right_keys]
                schema = pa.schema([*fields, ("__w_ws", pa.int64()), ("__w_seq", pa.int64())])
            right = schema.empty_table()
        return _bounds(self._join(left, right), self.config.timezone)

    def _join(self, left: pa.Table, right: pa.Table) -> pa.Table:
        hidden = set(_INTERNAL) | set(WINDOW_COLUMNS)
        left_cols = [c for c in left.column_names if c not in hidden]
        select = [f"l.{quote(c)}" for c in left_cols]
        for col in right.column_names:
            if col in hidden:
                continue
            name = f"right_{col}" if col in left_cols else col
            select.append(f"r.{quote(col)} AS {quote(name)}")
        on = " AND ".join(
            [
                "l.__w_ws = r.__w_ws",
                *(
                    f"l.{quote(a)} = r.{quote(b)}"
                    for a, b in zip(self.left_keys, self.right_keys, strict=True)
                ),
            ]
        )
        kind = "INNER" if self.how == "inner" else "LEFT"
        sql = (
            f"SELECT {', '.join(select)}, l.__w_ws, l.__w_we FROM l {kind} JOIN r ON {on} "
            "ORDER BY l.__w_ws, l.__w_seq, r.__w_seq"
        )
        self._con.register("l", left)
        self._con.register("r", right)
        try:
            result: pa.Table = self._con.sql(sql).to_arrow_table()
        finally:
            self._con.unregister("l")
            self._con.unregister("r")
        return result

    def snapshot(self) -> bytes:
        """Buffered records of open windows plus watermarks, as one blob."""
        header = {"kind": "join", "seq": self._seq, "tracker": self._tracker.to_json()}
        tables = {side: concat(parts) if parts else None for side, parts in self._buffers.items()}
        return encode(header, tables)

    def restore(self, blob: bytes) -> None:
        """Replace the state with a :meth:`snapshot` blob.

        Raises:
            SnapshotError: corrupt blob or not a join snapshot.
        """
        header, tables = decode(blob)
        if header.get("kind") != "join":
            raise SnapshotError("this snapshot was not taken by a WindowJoin")
        self._seq = int(header["seq"])
        self._tracker.load_json(header["tracker"])
        self._buffers = {
            side: [tables[side]] if side in tables else [] for side in ("left", "right")
        }
        self._schemas = {side: table.schema for side, table in tables.items()}

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._con.close()
