"""``split`` nodes: each record goes to every target business whose ``logic_exp`` holds.

The expressions are compiled at start with :func:`sluice.sql.compile_logic_expression`
(parsed by sqlglot, evaluated in the sandboxed DuckDB over the whole batch; never Python
``eval``). Target ``b`` writes ``table_{b}_{table_name}``. Records matching no target are
counted as dropped.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sluice.model.result_table import make_rt_id
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, MicroBatch
from sluice.runtime.tasks.codec import decode_input, produce_table
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.topics import dlq_rt
from sluice.sql import LogicExpression, SqlExecutionError, compile_logic_expression

__all__ = ["SplitProcessor"]


class SplitProcessor:
    """Routes the input RT's records to one output RT per target business."""

    follows_consuming_mode = False
    file_storage = False

    def __init__(self, ctx: TaskContext, task: NodeTask) -> None:
        config = task.config
        if len(task.inputs) != 1:
            raise FlowTaskError(f"Split node {task.name} reads exactly one table.")
        self.ctx = ctx
        self.input_rt = task.inputs[0]
        self.inputs = [self.input_rt]
        self.schema = ctx.schema(self.input_rt)
        table_name = str(config["table_name"])
        self.dead_letter_rt = dlq_rt(make_rt_id(int(config["bk_biz_id"]), table_name))
        self.routes: list[tuple[LogicExpression, str]] = []
        for rule in config.get("config") or []:
            rt = make_rt_id(int(rule["bk_biz_id"]), table_name)
            expression = compile_logic_expression(str(rule["logic_exp"]), self.schema)
            self.routes.append((expression, ctx.ensure_rt_topic(rt)))

    def process(self, batch: MicroBatch) -> BatchResult:
        """Decode once, evaluate every target's mask, produce each target's rows."""
        source = batch.inputs.get(self.input_rt)
        if source is None:
            return BatchResult()
        table, dead, kept = decode_input(source, self.schema, self.ctx.settings.timezone)
        if table.num_rows == 0:
            return BatchResult(dead=dead)
        try:
            masks = [expression.mask(table) for expression, _ in self.routes]
        except SqlExecutionError as exc:
            return BatchResult(
                dead=dead + self._dead_all(source.rt, table.num_rows, kept, str(exc))
            )
        written = 0
        matched = pa.repeat(pa.scalar(False), table.num_rows)
        for mask, (_, topic) in zip(masks, self.routes, strict=True):
            matched = pc.or_(matched, mask)
            written += produce_table(self.ctx.bus, topic, table.filter(mask))
        dropped = table.num_rows - (pc.sum(pc.cast(matched, pa.int64())).as_py() or 0)
        return BatchResult(records_out=written, dropped=int(dropped), dead=dead)

    @staticmethod
    def _dead_all(rt: str, rows: int, kept: pa.Array | None, reason: str) -> list[DeadLetter]:
        indices = range(rows) if kept is None else kept.to_pylist()
        return [DeadLetter(rt, int(i), f"logic_exp failed: {reason}") for i in indices]

    def close(self) -> None:
        """Close the expressions' DuckDB connections."""
        for expression, _ in self.routes:
            expression.close()
