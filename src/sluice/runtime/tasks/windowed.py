"""Windowed ``realtime`` nodes (``scroll``, ``slide``, ``accumulate``, ``session``).

Per micro-batch: decode the fields the SQL reads (on the loop's prepare thread, while the
previous batch is windowed: the inherited :meth:`RealtimeProcessor.prepare`), then for each
input partition (in fetch order) run the aggregate plan's pre-aggregation (FROM, UDTFs, WHERE) in DuckDB and feed the
rows to one :class:`~sluice.windows.WindowOperator` keyed by the plan's group keys
with its aggregates, event time ``dtEventTimeStamp``. Fired windows (and lateness
corrections) go through the post-aggregation (SELECT list, HAVING, output types); each output
record carries ``dtEventTime``/``dtEventTimeStamp`` of its window start, as in BKData, and is
produced to ``table_{output_rt}``. Records no window accepts (too late, or no valid event
time) go to ``{output_rt}_dlq`` with their origin and a reason starting with ``late``.

State is checkpointed with the input positions (:mod:`sluice.runtime.tasks.checkpoint`) at
start, every ``checkpoint_interval_ms`` and at a clean stop; a ``continue`` start restores it
and reads from the stored positions. While no input arrives the loop ticks the operator
(``advance``) so idle partitions stop holding the watermark after ``idle_timeout_ms``.

Built by :class:`~sluice.runtime.tasks.realtime.RealtimeProcessor` for windowed nodes with
one stream input (two stream inputs: :mod:`sluice.runtime.tasks.window_join`).
Node settings come from BKData's node config (units: ``count_freq`` s, ``window_time`` min,
``waiting_time`` s, ``session_gap`` s, ``expired_time`` min, ``lateness_time`` h,
``lateness_count_freq`` s); task settings from :class:`WindowTaskSettings`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Hashable, Mapping
from typing import Any, Self

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sluice.bus import TopicPartition
from sluice.model.errors import Message
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.records import DERIVED_FIELDS
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, InputBatch, MicroBatch
from sluice.runtime.tasks.checkpoint import NodeCheckpointer, StoredState, state_dir
from sluice.runtime.tasks.codec import produce_table, with_system_fields
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.realtime import DecodedInput, RealtimeProcessor
from sluice.runtime.tasks.resumable import Resumable
from sluice.runtime.tasks.topics import dlq_rt, rt_topic
from sluice.runtime.tasks.window_sql import (
    ROW_COLUMN,
    arange,
    feed_ranks,
    feed_runs,
    plain_projection,
    projection,
    with_row_post,
    with_row_pre,
)
from sluice.sql import SandboxSettings, SqlExecutionError, compile_realtime_sql, open_connection
from sluice.sql.execution import conform_input, run_sql
from sluice.windows import (
    DLQ_REASON,
    AggSpec,
    WindowConfig,
    WindowOperator,
    WindowOutput,
)

__all__ = ["ROW_COLUMN", "WindowTaskSettings", "WindowedRealtimeProcessor"]

log = logging.getLogger(__name__)


class WindowTaskSettings(BaseModel):
    """How windowed tasks checkpoint and tick. ``from_env`` reads ``SLUICE_WINDOW_<FIELD>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpoint_interval_ms: int = Field(
        default=5_000,
        ge=0,
        description="Least ms between two checkpoints of state and offsets (0: every batch).",
    )
    idle_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="Processing-time ms after which a silent input partition stops holding "
        "the watermark back (0: never).",
    )
    tick_ms: int = Field(
        default=1_000,
        ge=10,
        description="While no input arrives, the operator is advanced this often (ms).",
    )
    max_state_rows: int = Field(
        default=5_000_000,
        ge=0,
        description="Bound on partial-aggregate rows in state (and so on checkpoint size); "
        "the node fails with a clear error beyond it (0: unbounded).",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Build from ``SLUICE_WINDOW_CHECKPOINT_INTERVAL_MS`` etc.; unset fields default.

        Raises:
            pydantic.ValidationError: a variable is not a valid value.
        """
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        for name in cls.model_fields:
            value = env.get(f"SLUICE_WINDOW_{name.upper()}")
            if value is not None:
                data[name] = value
        return cls.model_validate(data)


def _fail(zh: str, en: str) -> FlowTaskError:
    return FlowTaskError(Message(zh, en))


class WindowedRealtimeProcessor(Resumable, RealtimeProcessor):
    """Runs one windowed ``realtime`` node: pre-aggregation, window operator, HAVING."""

    follows_consuming_mode = True
    file_storage = False

    def __init__(
        self, ctx: TaskContext, task: NodeTask, settings: WindowTaskSettings | None = None
    ) -> None:
        self.ctx = ctx
        self.task = task
        self.settings = settings = settings or WindowTaskSettings.from_env()
        self.tick_interval_s = settings.tick_ms / 1000
        config = task.config
        if not task.outputs:
            raise FlowTaskError(f"Node {task.name} has no output result table.")
        try:
            self.window = WindowConfig.from_node_config(
                dict(config),
                timezone=ctx.settings.timezone,
                idle_timeout_ms=settings.idle_timeout_ms,
                max_state_rows=settings.max_state_rows,
            )
        except ValidationError as exc:
            problems = "; ".join(str(e["msg"]) for e in exc.errors())
            raise _fail(
                f"窗口配置无效：{problems}", f"Invalid window settings: {problems}"
            ) from exc
        schemas = {rt: ctx.schema(rt) for rt in task.inputs}
        self.query = compile_realtime_sql(str(config["sql"]), schemas)
        self._con = None
        try:
            plan = self.query.aggregate
            if plan is None:
                raise _fail(
                    "开窗的实时计算节点必须使用聚合（GROUP BY 或聚合函数）",
                    "A windowed realtime node must aggregate (GROUP BY or aggregate functions)",
                )
            if len(self.query.inputs) != 1:
                raise _fail(
                    "开窗的实时计算节点只能读取一个数据流或关联两个数据流（不支持关联KV数据源）",
                    "A windowed realtime node reads one stream or joins two streams "
                    "(KV-source inputs cannot be joined in a window)",
                )
            try:
                aggs = [
                    AggSpec.from_sql(a.func, a.argument_column, a.distinct, a.output)
                    for a in plan.aggregates
                ]
            except ValueError as exc:
                raise _fail(
                    f"窗口聚合不受支持：{exc}", f"Unsupported window aggregate: {exc}"
                ) from exc
            self.pre_sql = with_row_pre(plan.pre_sql)
            self._select = projection(self.pre_sql, self.query.relations[self.query.inputs[0]])
            self.post_sql = with_row_post(plan.post_sql)
            self.agg_relation = plan.agg_relation
            self.operator = WindowOperator(self.window, [k.column for k in plan.group_keys], aggs)
            self.operator.set_backlog(self._has_backlog)
        except BaseException:
            self.query.close()
            raise
        self.input_rt = self.query.inputs[0]
        self.relation = self.query.relations[self.input_rt]
        self.input_schema = schemas[self.input_rt]
        self.required = self.query.required_fields.get(self.input_rt, frozenset())
        self.decode_schema = [(n, t) for n, t in self.input_schema if n in self.required]
        self.derived_fields = bool(self.required & DERIVED_FIELDS)
        self.inputs = [self.input_rt]
        self.output_rt = task.outputs[0]
        self.dead_letter_rt = dlq_rt(self.output_rt)
        self.output_topic = ctx.ensure_rt_topic(self.output_rt)
        self.output_schema = self.query.output_arrow_schema
        shape = {"sql": self.query.sql, "window": self.window.model_dump(mode="json")}
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
        self.checkpointer = NodeCheckpointer(
            state_dir(ctx.settings.data_dir, task.flow_id, task.node_id),
            settings.checkpoint_interval_ms,
            digest,
        )
        self._dirty = False
        self._con = open_connection(SandboxSettings())

    # -- StatefulProcessor hooks -------------------------------------------------------------

    def _has_backlog(self, partition: Hashable) -> bool:
        if not isinstance(partition, int):
            return False
        return self.has_unread(rt_topic(self.input_rt), partition)

    def snapshot(self) -> bytes:
        """The window operator's state (see :class:`~.resumable.Resumable`)."""
        return self.operator.snapshot()

    def restore(self, blob: bytes) -> None:
        """Restore the window operator (raises ``SnapshotError``)."""
        self.operator.restore(blob)

    def reset_state(self) -> None:
        """Start with empty windows (the checkpoint's windows have another shape)."""
        self.operator.close()
        self.operator = WindowOperator(self.window, self.operator.group_keys, self.operator.aggs)
        self.operator.set_backlog(self._has_backlog)

    def declare_inputs(self, positions: Mapping[TopicPartition, int]) -> None:
        """Silent input partitions hold the watermark until they deliver or turn idle."""
        self.operator.declare_partitions(sorted({tp.partition for tp in positions}))

    def state_summary(self, stored: StoredState) -> str:
        return f"{len(stored.state)} bytes of window state"

    def tick(self) -> BatchResult:
        """Advance the operator in processing time and write what fired."""
        mark = self.operator.watermark
        out = self.operator.advance()
        self._dirty = self._dirty or mark != self.operator.watermark or out.emitted.num_rows > 0
        return self._emit(out, [], None)

    # -- batches -----------------------------------------------------------------------------

    def process(self, batch: MicroBatch) -> BatchResult:
        """Decode, pre-aggregate and window the batch's records; write what fired.

        The records are fed partition by partition (in fetch order), as separate
        ``process`` calls would, but in one decode, one pre-aggregation query and one
        :meth:`~sluice.windows.WindowOperator.process_runs` call.
        """
        source = batch.inputs.get(self.input_rt)
        if source is None:
            return BatchResult()
        self._dirty = True
        decoded = batch.prepared
        if not isinstance(decoded, DecodedInput):
            decoded = self._decode(source)
        table, dead, kept = decoded.table, list(decoded.dead), decoded.kept
        rows = kept if kept is not None else arange(source.count)
        table = table.append_column(ROW_COLUMN, rows)
        order = list(dict.fromkeys(span.partition for span in source.spans))
        self.operator.mark_active(order)
        ranks = feed_ranks(source, order)
        if ranks is not None and len(source.spans) > len(order):
            # some partition's records are not contiguous: bring each partition's together
            table = table.take(pc.sort_indices(ranks.take(rows)))
        pre = self._pre(table, dead)
        out = WindowOutput()
        if pre is not None and pre.num_rows:
            pre, runs = feed_runs(pre, order, ranks)
            out = self.operator.process_runs(pre, runs)
        return self._emit(out, dead, source)

    def _pre(self, table: pa.Table, dead: list[DeadLetter]) -> pa.Table | None:
        """Pre-aggregation rows of ``table``; rows DuckDB fails on are dead-lettered."""
        if table.num_rows == 0:
            return None
        prepared = conform_input(table, self.input_schema, self.required)
        if self._select is not None:
            selected = plain_projection(prepared, self._select)
            if selected is not None:
                return selected
        try:
            return run_sql(self._connection(), self.pre_sql, {self.relation: prepared}, None)
        except SqlExecutionError as exc:
            if table.num_rows == 1:
                index = int(table.column(ROW_COLUMN)[0].as_py())
                dead.append(DeadLetter(self.input_rt, index, f"SQL failed: {exc}"))
                return None
        half = table.num_rows // 2
        parts = [p for p in (self._pre(table.slice(0, half), dead),
                             self._pre(table.slice(half), dead)) if p is not None]  # fmt: skip
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0] if parts else None

    def _emit(
        self, out: WindowOutput, dead: list[DeadLetter], source: InputBatch | None
    ) -> BatchResult:
        if out.late.num_rows and source is not None:
            seen = {d.index for d in dead}
            indices = out.late.column(ROW_COLUMN).to_pylist()
            reasons = out.late.column(DLQ_REASON).to_pylist()
            for index, reason in zip(indices, reasons, strict=True):
                if index not in seen:
                    seen.add(index)
                    dead.append(DeadLetter(self.input_rt, int(index), str(reason)))
        emitted = out.emitted
        written = 0
        if emitted.num_rows:
            result = self._post(emitted.append_column(ROW_COLUMN, arange(emitted.num_rows)))
            if result.num_rows:
                result = with_system_fields(result, self.ctx.settings.timezone)
                written = produce_table(self.ctx.bus, self.output_topic, result)
        return BatchResult(records_out=written, dead=dead)

    def _post(self, emitted: pa.Table) -> pa.Table:
        """SELECT list and HAVING over window results, then the window start's event time."""
        try:
            result = run_sql(self._connection(), self.post_sql, {self.agg_relation: emitted}, None)
        except SqlExecutionError as exc:
            if emitted.num_rows == 1:
                log.error(
                    "Node %s dropped the window result %s: %s",
                    self.task.name,
                    emitted.drop_columns([ROW_COLUMN]).to_pylist()[0],
                    exc,
                )
                return pa.table({})
            half = emitted.num_rows // 2
            parts = [self._post(emitted.slice(0, half)), self._post(emitted.slice(half))]
            kept = [p for p in parts if p.num_rows]
            return pa.concat_tables(kept) if kept else pa.table({})
        rows = result.column(ROW_COLUMN)
        values = result.drop_columns([ROW_COLUMN])
        if "dtEventTimeStamp" in values.column_names:
            values = values.drop_columns(["dtEventTimeStamp"])
        schema = pa.schema([f for f in self.output_schema if f.name != "dtEventTimeStamp"])
        values = values.cast(schema)
        starts = emitted.column("dtEventTimeStamp").take(rows)
        return values.append_column("dtEventTimeStamp", starts.cast(pa.int64()))

    def _connection(self) -> Any:
        if self._con is None:
            self._con = open_connection(SandboxSettings())
        return self._con

    def close(self) -> None:
        """Close the DuckDB connections and the operator."""
        self.query.close()
        self.operator.close()
        if self._con is not None:
            self._con.close()
            self._con = None
