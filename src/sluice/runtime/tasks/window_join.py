"""Windowed ``realtime`` nodes that join two stream inputs (BKData allows two stream parents).

Built by :class:`~sluice.runtime.tasks.realtime.RealtimeProcessor` when a ``scroll`` node has
two stream inputs. Per micro-batch, each input's records are decoded (the fields the SQL
reads plus ``dtEventTimeStamp``) and, partition by partition in fetch order, assigned to the
scroll window ``[start, start + count_freq)`` of their event time and buffered. The watermark
is the minimum over the partitions of *both* inputs (less ``waiting_time``; idle partitions
leave it after ``idle_timeout_ms``). When it passes a window's end, the node's own SQL runs on
that window's buffered rows only (``CompiledQuery.run`` for a plain join, ``pre_aggregate``
then ``finish_aggregate`` for GROUP BY), so records of the two inputs in different windows
never meet and the SQL's join kind (``JOIN``, ``LEFT JOIN`` ...), ``ON`` keys, ``WHERE``,
projection, ``GROUP BY`` and ``HAVING`` apply as written. Each output record carries the
window start as ``dtEventTimeStamp``/``dtEventTime`` and goes to ``table_{output_rt}``.

Records whose window already fired (late) or without a valid event time go to
``{output_rt}_dlq`` with a reason starting with ``late``/``missing``. The SQL of a closed
window runs in :mod:`sluice.runtime.tasks.join_window_sql` (DuckDB failures there isolate and
drop the failing left rows, logged and counted).

State is the buffered rows of open windows plus the watermarks, checkpointed with the offsets
of both inputs in the node's usual checkpoint file (:mod:`sluice.runtime.tasks.checkpoint`):
at start, every ``checkpoint_interval_ms`` and at a clean stop
(:class:`~sluice.runtime.tasks.resumable.Resumable`). ``continue`` restores it and reads on
from the stored offsets, so no record is lost or joined twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Hashable, Mapping

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from sluice.bus import TopicPartition
from sluice.model.errors import Message
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, InputBatch, MicroBatch
from sluice.runtime.tasks.checkpoint import NodeCheckpointer, StoredState, state_dir
from sluice.runtime.tasks.codec import decode_input, produce_table, with_system_fields
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.join_window_sql import JoinWindowSql, concat_tables
from sluice.runtime.tasks.realtime import RealtimeProcessor
from sluice.runtime.tasks.resumable import Resumable
from sluice.runtime.tasks.topics import dlq_rt, rt_topic
from sluice.runtime.tasks.windowed import WindowTaskSettings
from sluice.sql import arrow_type, compile_realtime_sql
from sluice.windows import (
    SnapshotError,
    WindowConfig,
    WindowType,
    event_times,
)
from sluice.windows.snapshot import decode, encode
from sluice.windows.watermark import NEG_INF, WatermarkTracker

__all__ = ["WindowJoinProcessor"]

log = logging.getLogger(__name__)

_WS = "__w_ws"
"""Buffered rows' window start (ms), dropped before the SQL sees them."""
_KIND = "stream_join"


def _fail(zh: str, en: str) -> FlowTaskError:
    return FlowTaskError(Message(zh, en))


class WindowJoinProcessor(Resumable, RealtimeProcessor):
    """Runs one windowed ``realtime`` node over two stream inputs (see the module docstring).

    Raises (at construction):
        FlowTaskError: not a scroll window, allowed lateness set, the SQL does not read
            exactly two stream inputs, or invalid window settings.
    """

    follows_consuming_mode = True
    file_storage = False

    def __init__(
        self, ctx: TaskContext, task: NodeTask, settings: WindowTaskSettings | None = None
    ) -> None:
        self.ctx = ctx
        self.task = task
        self.settings = settings = settings or WindowTaskSettings.from_env()
        self.tick_interval_s = settings.tick_ms / 1000
        if not task.outputs:
            raise FlowTaskError(f"Node {task.name} has no output result table.")
        try:
            self.window = WindowConfig.from_node_config(
                dict(task.config),
                timezone=ctx.settings.timezone,
                idle_timeout_ms=settings.idle_timeout_ms,
            )
        except ValidationError as exc:
            problems = "; ".join(str(e["msg"]) for e in exc.errors())
            raise _fail(
                f"窗口配置无效：{problems}", f"Invalid window settings: {problems}"
            ) from exc
        if self.window.window_type is not WindowType.SCROLL:
            raise _fail(
                "双流关联的实时计算节点只支持滚动窗口（scroll）",
                "A realtime node joining two streams supports scroll windows only",
            )
        if self.window.allowed_lateness:
            raise _fail(
                "双流关联的实时计算节点不支持延迟数据计算（window_lateness）",
                "A realtime node joining two streams does not support allowed lateness",
            )
        schemas = {rt: ctx.schema(rt) for rt in task.inputs}
        self.query = compile_realtime_sql(str(task.config["sql"]), schemas)
        if len(self.query.inputs) != 2:
            self.query.close()
            raise _fail(
                "开窗的实时计算节点最多关联两个数据流，且SQL必须读取这两个数据流",
                "A windowed realtime node joins exactly two stream inputs, both read by its "
                f"SQL (it reads {', '.join(self.query.inputs)} of {', '.join(task.inputs)})",
            )
        self.inputs = list(self.query.inputs)
        self.window_sql = JoinWindowSql(self.query, self.inputs, task.name)
        self._index = {rt_topic(rt): i for i, rt in enumerate(self.inputs)}
        field = self.window.event_time_field
        self.decode_schemas = [
            [(n, t) for n, t in schemas[rt] if n in self.query.required_fields.get(rt, ())]
            for rt in self.inputs
        ]
        self.output_rt = task.outputs[0]
        self.dead_letter_rt = dlq_rt(self.output_rt)
        self.output_topic = ctx.ensure_rt_topic(self.output_rt)
        self.step_ms = self.window.step_ms
        self.event_field = field
        self.tracker = self._new_tracker()
        self.buffers: list[list[pa.Table]] = [[], []]
        self.buffered_rows = 0
        self._earliest: list[int | None] = [None, None]  # earliest buffered window start
        shape = {"sql": self.query.sql, "window": self.window.model_dump(mode="json")}
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
        self.checkpointer = NodeCheckpointer(
            state_dir(ctx.settings.data_dir, task.flow_id, task.node_id),
            settings.checkpoint_interval_ms,
            digest,
        )
        self._dirty = False

    # -- state -------------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Buffered rows of open windows per input, plus the watermarks, as one blob."""
        header = {"kind": _KIND, "inputs": self.inputs, "tracker": self.tracker.to_json()}
        tables = {f"in{i}": concat_tables(parts) for i, parts in enumerate(self.buffers)}
        return encode(header, tables)

    def restore(self, blob: bytes) -> None:
        """Replace the state with a :meth:`snapshot` blob.

        Raises:
            SnapshotError: corrupt blob, another operator's snapshot or other inputs.
        """
        header, tables = decode(blob)
        if header.get("kind") != _KIND or header.get("inputs") != self.inputs:
            raise SnapshotError("this snapshot was not taken by a join of the same two inputs")
        restored = [self._restored(i, tables.get(f"in{i}")) for i in range(2)]
        self.tracker.load_json(header["tracker"])
        self.buffers = [[table] if table is not None else [] for table in restored]
        self.buffered_rows = sum(t.num_rows for parts in self.buffers for t in parts)
        self._earliest = [_earliest(parts[0]) if parts else None for parts in self.buffers]

    def _restored(self, index: int, table: pa.Table | None) -> pa.Table | None:
        """A restored buffer checked against this node's fields, windows recomputed.

        The SQL or ``count_freq`` may have changed since the snapshot: the rows' windows are
        assigned again from their event times, and fields the SQL now reads but the rows
        lack are added as nulls when the window runs.

        Raises:
            SnapshotError: a stored field has another type than the input's schema now.
        """
        if table is None:
            return None
        for name, bk_type in self.decode_schemas[index]:
            if name in table.column_names and table.schema.field(name).type != _type(bk_type):
                raise SnapshotError(
                    f"buffered field {name!r} of {self.inputs[index]} has type "
                    f"{table.schema.field(name).type}, the input now declares {bk_type}"
                )
        starts = _window_starts(event_times(table, self.event_field), self.step_ms)
        return table.set_column(table.schema.get_field_index(_WS), _WS, starts)

    # -- StatefulProcessor hooks -------------------------------------------------------------

    def _new_tracker(self) -> WatermarkTracker:
        return WatermarkTracker(
            self.window.waiting_ms, self.window.idle_timeout_ms, backlog=self._has_backlog
        )

    def _has_backlog(self, key: Hashable) -> bool:
        """Whether the input partition behind a tracker key ``(input index, partition)``
        still has unread records."""
        if not isinstance(key, tuple):
            return False
        index, partition = key
        return self.has_unread(rt_topic(self.inputs[index]), partition)

    def reset_state(self) -> None:
        """Start with empty join windows (the checkpoint cannot be restored)."""
        self.tracker = self._new_tracker()
        self.buffers, self.buffered_rows, self._earliest = [[], []], 0, [None, None]

    def declare_inputs(self, positions: Mapping[TopicPartition, int]) -> None:
        """Silent partitions of either input hold the watermark until they deliver or idle."""
        now = _now()
        for tp in sorted(positions, key=lambda t: (t.topic, t.partition)):
            self.tracker.declare((self._index[tp.topic], tp.partition), now)

    def state_summary(self, stored: StoredState) -> str:
        return f"{self.buffered_rows} buffered rows of open join windows"

    def tick(self) -> BatchResult:
        """Advance the watermark in processing time (idle partitions) and write what fired."""
        mark = self.tracker.watermark
        written, dropped = self._fire(self.tracker.refresh(_now()))
        self._dirty = self._dirty or mark != self.tracker.watermark
        return BatchResult(records_out=written, dropped=dropped)

    # -- batches -----------------------------------------------------------------------------

    def prepare(self, batch: MicroBatch) -> None:
        """Nothing ahead of :meth:`process`: the two inputs are decoded there, each into its
        side's buffer (the single-input decode of :class:`RealtimeProcessor` does not apply)."""

    def process(self, batch: MicroBatch) -> BatchResult:
        """Window and buffer both inputs' records; join and write the windows that closed."""
        dead: list[DeadLetter] = []
        now = _now()
        sources = [(i, batch.inputs.get(rt)) for i, rt in enumerate(self.inputs)]
        for index, source in sources:  # every partition in the batch is active, not idle
            for span in source.spans if source is not None else ():
                self.tracker.observe((index, span.partition), None, now)
        for index, source in sources:
            if source is not None and source.count:
                self._dirty = True
                self._buffer(index, source, dead, now)
        limit = self.settings.max_state_rows
        if limit and self.buffered_rows > limit:
            raise FlowTaskError(
                f"Node {self.task.name} buffers {self.buffered_rows} rows of open join windows, "
                f"more than max_state_rows={limit}; raise SLUICE_WINDOW_MAX_STATE_ROWS or "
                "shorten the window."
            )
        written, dropped = self._fire(self.tracker.refresh(now))
        return BatchResult(records_out=written, dropped=dropped, dead=dead)

    def _buffer(self, index: int, source: InputBatch, dead: list[DeadLetter], now: int) -> None:
        """Assign ``source``'s records to windows and buffer them; dead-letter the rest."""
        table, bad, kept = decode_input(
            source, self.decode_schemas[index], self.ctx.settings.timezone
        )
        dead += bad
        rows = kept if kept is not None else pa.array(range(source.count), pa.int64())
        partitions = _partitions(source)
        if kept is not None:
            partitions = partitions.take(kept)
        order = list(dict.fromkeys(span.partition for span in source.spans))
        for partition in order:
            if len(order) == 1:
                part, part_rows = table, rows
            else:
                mask = pc.equal(partitions, partition)
                part, part_rows = table.filter(mask), rows.filter(mask)
            if part.num_rows == 0:
                continue
            key = (index, partition)
            times = event_times(part, self.event_field)
            marks = self.tracker.running(key, pc.fill_null(times, NEG_INF), now)
            starts = _window_starts(times, self.step_ms)
            invalid = pc.is_null(times)
            late = pc.and_(pc.is_valid(times), pc.less_equal(pc.add(starts, self.step_ms), marks))
            rt = self.inputs[index]
            if pc.any(invalid).as_py():
                reason = f"missing or invalid event time in field {self.event_field!r}"
                dead += [DeadLetter(rt, i, reason) for i in part_rows.filter(invalid).to_pylist()]
            if pc.any(late).as_py():
                late_rows = zip(
                    part_rows.filter(late).to_pylist(),
                    times.filter(late).to_pylist(),
                    marks.filter(late).to_pylist(),
                    strict=True,
                )
                dead += [
                    DeadLetter(rt, i, f"late: event time {t} ms arrived when the watermark was "
                               f"{w} ms, after its join window had closed")
                    for i, t, w in late_rows
                ]  # fmt: skip
            keep = pc.invert(pc.or_(invalid, late))
            body = part.append_column(_WS, starts).filter(keep)
            if body.num_rows:
                self.buffers[index].append(body)
                self.buffered_rows += body.num_rows
                low, known = _earliest(body), self._earliest[index]
                self._earliest[index] = low if known is None or low is None else min(low, known)
            self.tracker.observe(key, pc.max(times).as_py(), now)

    # -- firing ------------------------------------------------------------------------------

    def _take(self, index: int, watermark: int) -> pa.Table | None:
        """Remove and return the buffered rows of ``index`` whose window ended by ``watermark``."""
        earliest = self._earliest[index]
        if earliest is None or earliest + self.step_ms > watermark:
            return None
        table = concat_tables(self.buffers[index])
        if table is None:
            return None
        due = pc.less_equal(pc.add(table.column(_WS), self.step_ms), watermark)
        rest = table.filter(pc.invert(due)).combine_chunks()
        self.buffers[index] = [rest] if rest.num_rows else []
        self._earliest[index] = _earliest(rest) if rest.num_rows else None
        fired = table.filter(due)
        self.buffered_rows -= fired.num_rows
        return fired

    def _fire(self, watermark: int) -> tuple[int, int]:
        """Join, write and forget every window that ended by ``watermark``: (written, dropped)."""
        fired = [self._take(i, watermark) for i in range(2)]
        if fired[0] is None and fired[1] is None:
            return 0, 0
        self._dirty = True
        starts: set[int] = set()
        for table in fired:
            if table is not None:
                starts.update(pc.unique(table.column(_WS)).to_pylist())
        pieces: list[pa.Table] = []
        dropped = 0
        for start in sorted(starts):
            sides = [self._rows_of(i, fired[i], start) for i in range(2)]
            result, lost = self.window_sql.run(sides[0], sides[1], start)
            dropped += lost
            if result is not None and result.num_rows:
                pieces.append(result)
        if not pieces:
            return 0, dropped
        out = with_system_fields(concat_tables(pieces) or pa.table({}), self.ctx.settings.timezone)
        return produce_table(self.ctx.bus, self.output_topic, out), dropped

    def _rows_of(self, index: int, fired: pa.Table | None, start: int) -> pa.Table:
        """Input ``index``'s rows of the window at ``start`` (empty table when it has none)."""
        if fired is None:
            schema = pa.schema([(n, _type(t)) for n, t in self.decode_schemas[index]])
            return schema.empty_table()
        rows = fired.filter(pc.equal(fired.column(_WS), start))
        return rows.drop_columns([_WS])

    def close(self) -> None:
        """Close the query's DuckDB connection."""
        self.query.close()


def _now() -> int:
    return time.time_ns() // 1_000_000


def _window_starts(times: pa.Array, step: int) -> pa.Array:
    """Start (ms) of the scroll window of each event time: ``floor(t / step) * step``."""
    whole = pc.floor(pc.divide(times.cast(pa.float64()), float(step))).cast(pa.int64())
    result: pa.Array = pc.multiply(whole, step)
    return result


def _type(bk_type: str) -> pa.DataType:
    """The Arrow type the record codec decodes a BKData field type to."""
    return arrow_type(bk_type.lower())


def _earliest(table: pa.Table) -> int | None:
    """The earliest window start buffered in ``table``."""
    low = pc.min(table.column(_WS)).as_py()
    return None if low is None else int(low)


def _partitions(source: InputBatch) -> pa.Array:
    """The bus partition of every record of ``source``, in batch order."""
    chunks = [pa.repeat(pa.scalar(s.partition, pa.int32()), s.count) for s in source.spans]
    if not chunks:
        return pa.array([], pa.int32())
    return pa.concat_arrays(chunks) if len(chunks) > 1 else chunks[0]
