"""``merge`` nodes: the union of inputs with identical schemas into one output RT.

Every input is decoded against the output RT's schema (the store checked at save time that
the inputs agree), so the output is normalised: declared fields plus system fields, extra
fields dropped, bad records dead-lettered.
"""

from __future__ import annotations

import pyarrow as pa

from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, MicroBatch
from sluice.runtime.tasks.codec import decode_input, produce_table
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.topics import dlq_rt

__all__ = ["MergeProcessor"]


class MergeProcessor:
    """Writes every record of every input to the merge's output RT."""

    follows_consuming_mode = False
    file_storage = False

    def __init__(self, ctx: TaskContext, task: NodeTask) -> None:
        if not task.outputs or not task.inputs:
            raise FlowTaskError(f"Merge node {task.name} needs inputs and an output table.")
        self.ctx = ctx
        self.inputs = list(task.inputs)
        self.output_rt = task.outputs[0]
        self.schema = ctx.schema(self.output_rt)
        self.dead_letter_rt = dlq_rt(self.output_rt)
        self.output_topic = ctx.ensure_rt_topic(self.output_rt)

    def process(self, batch: MicroBatch) -> BatchResult:
        """Decode each input, concatenate, produce."""
        tables: list[pa.Table] = []
        dead: list[DeadLetter] = []
        for source in batch.inputs.values():
            table, bad, _ = decode_input(source, self.schema, self.ctx.settings.timezone)
            dead += bad
            if table.num_rows:
                tables.append(table)
        written = 0
        if tables:
            written = produce_table(self.ctx.bus, self.output_topic, pa.concat_tables(tables))
        return BatchResult(records_out=written, dead=dead)

    def close(self) -> None:
        """Nothing to release."""
