"""``realtime`` nodes with ``window_type: none``: BKSQL over one stream input, per batch
(plus KV-source inputs looked up in Redis per batch: :mod:`sluice.runtime.tasks.kv_join`).

The SQL is compiled at start against the input schemas from the store (it was already
checked when the node was saved). Each micro-batch is decoded with only the fields the query
reads, run in the query's sandboxed DuckDB connection, given BKData's system fields and
produced to ``table_{output_rt}``. A batch DuckDB fails on is halved until the failing
records are isolated; those go to the dead-letter RT with DuckDB's message, the rest go on.

Windowed nodes (``scroll``, ``slide``, ``accumulate``, ``session``): constructing a
``RealtimeProcessor`` for one returns a
:class:`~sluice.runtime.tasks.windowed.WindowedRealtimeProcessor` (window engine,
checkpoints), or for one with two stream inputs a
:class:`~sluice.runtime.tasks.window_join.WindowJoinProcessor` (join within scroll windows),
so the node type keeps one processor factory.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from sluice.model.errors import Message
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.records import DERIVED_FIELDS
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, InputBatch, MicroBatch
from sluice.runtime.tasks.codec import decode_input, produce_table, with_system_fields
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.kv_join import KvJoin
from sluice.runtime.tasks.topics import dlq_rt
from sluice.sql import CompiledQuery, SqlExecutionError, compile_realtime_sql

__all__ = ["RealtimeProcessor"]


@dataclass(frozen=True, slots=True)
class DecodedInput:
    """A micro-batch's stream input decoded by :func:`decode_input` (see its contract)."""

    table: pa.Table
    dead: list[DeadLetter]
    kept: pa.Array | None


class RealtimeProcessor:
    """Runs one ``realtime`` node's SQL on every micro-batch of its stream input."""

    follows_consuming_mode = True
    file_storage = False

    def __new__(cls, ctx: TaskContext, task: NodeTask) -> RealtimeProcessor:
        """A windowed node (``window_type`` other than ``none``) gets the windowed processor,
        or the two-stream window join when it has two stream inputs."""
        if cls is RealtimeProcessor and str(task.config.get("window_type") or "none") != "none":
            kv = set(ctx.kv_inputs_of(task.flow_id, task.node_id)) if ctx.kv_inputs_of else set()
            if len([rt for rt in task.inputs if rt not in kv]) >= 2:
                from sluice.runtime.tasks.window_join import WindowJoinProcessor

                return object.__new__(WindowJoinProcessor)
            from sluice.runtime.tasks.windowed import WindowedRealtimeProcessor

            return object.__new__(WindowedRealtimeProcessor)
        return object.__new__(cls)

    def __init__(self, ctx: TaskContext, task: NodeTask) -> None:
        config = task.config
        if not task.outputs:
            raise FlowTaskError(f"Node {task.name} has no output result table.")
        self.ctx = ctx
        schemas = {rt: ctx.schema(rt) for rt in task.inputs}
        self.query: CompiledQuery = compile_realtime_sql(str(config["sql"]), schemas)
        if self.query.is_aggregate:
            self.query.close()
            raise FlowTaskError(
                Message(
                    "不开窗的实时计算节点不能使用聚合（请设置窗口）",
                    "A realtime node without a window cannot aggregate (set a window type)",
                )
            )
        kv_inputs = set(ctx.kv_inputs_of(task.flow_id, task.node_id)) if ctx.kv_inputs_of else set()
        streams = [rt for rt in self.query.inputs if rt not in kv_inputs]
        if len(streams) != 1:
            self.query.close()
            raise FlowTaskError(
                Message(
                    "不开窗的实时计算节点只能读取一个数据流",
                    "A realtime node without a window reads exactly one stream",
                )
            )
        self.input_rt = streams[0]
        required = self.query.required_fields.get(self.input_rt, frozenset())
        self.joins: list[KvJoin] = []
        try:
            for rt in self.query.inputs:
                if rt in kv_inputs and ctx.join_storage_of is not None:
                    fields = [name for name, _ in schemas[self.input_rt]]
                    self.joins.append(
                        KvJoin(rt, schemas[rt], fields, ctx.join_storage_of, ctx.clusters)
                    )
                    required = required | set(self.joins[-1].keys)
        except BaseException:
            self.close()
            raise
        self.decode_schema = [(n, t) for n, t in schemas[self.input_rt] if n in required]
        # The output's dtEventTime/localTime/thedate are derived again after the SQL, so the
        # input's are decoded only when the query (or a KV join key) reads them.
        self.derived_fields = bool(required & DERIVED_FIELDS)
        self.inputs = [self.input_rt]
        self.output_rt = task.outputs[0]
        self.dead_letter_rt = dlq_rt(self.output_rt)
        self.output_topic = ctx.ensure_rt_topic(self.output_rt)

    def prepare(self, batch: MicroBatch) -> None:
        """Decode the stream input ahead of :meth:`process` (the loop calls this on its
        prepare thread, so the decode of the next batch overlaps this batch's SQL and produce,
        or its windowing). It reads no state that :meth:`process` changes.
        """
        source = batch.inputs.get(self.input_rt)
        if source is not None:
            batch.prepared = self._decode(source)

    def process(self, batch: MicroBatch) -> BatchResult:
        """Decode (unless :meth:`prepare` did), run the SQL, add system fields, produce; bad
        records are dead-lettered."""
        source = batch.inputs.get(self.input_rt)
        if source is None:
            return BatchResult()
        timezone = self.ctx.settings.timezone
        decoded = batch.prepared
        if not isinstance(decoded, DecodedInput):
            decoded = self._decode(source)
        table, dead, kept = decoded.table, list(decoded.dead), decoded.kept
        pieces: list[pa.Table] = []
        self._run(table, 0, pieces, dead, kept)
        out = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0] if pieces else None
        written = 0
        if out is not None and out.num_rows:
            written = produce_table(
                self.ctx.bus, self.output_topic, with_system_fields(out, timezone)
            )
        failed_sql = len(dead) - (source.count - table.num_rows)
        dropped = max(table.num_rows - failed_sql - written, 0)
        return BatchResult(records_out=written, dropped=dropped, dead=dead)

    def _decode(self, source: InputBatch) -> DecodedInput:
        table, dead, kept = decode_input(
            source,
            self.decode_schema,
            self.ctx.settings.timezone,
            derived_fields=self.derived_fields,
        )
        return DecodedInput(table, dead, kept)

    def _run(
        self,
        table: pa.Table,
        start: int,
        pieces: list[pa.Table],
        dead: list[DeadLetter],
        kept: pa.Array | None,
    ) -> None:
        if table.num_rows == 0:
            return
        try:
            looked_up = {join.rt: join.rows_for(table) for join in self.joins}
            pieces.append(self.query.run({self.input_rt: table, **looked_up}))
            return
        except SqlExecutionError as exc:
            if table.num_rows == 1:
                index = start if kept is None else int(kept[start].as_py())
                dead.append(DeadLetter(self.input_rt, index, f"SQL failed: {exc}"))
                return
        half = table.num_rows // 2
        self._run(table.slice(0, half), start, pieces, dead, kept)
        self._run(table.slice(half), start + half, pieces, dead, kept)

    def close(self) -> None:
        """Close the query's DuckDB connection and the KV lookups."""
        try:
            for join in getattr(self, "joins", []):
                join.close()
        finally:
            self.query.close()
