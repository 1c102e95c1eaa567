"""``queue_storage`` nodes: copy an RT to the topic ``queue_{rt}`` any Kafka client can read.

The topic gets the node's own retention (``expires`` days; ``-1`` keeps data forever) and the
RT's partition count. Values are copied byte for byte with their timestamps (no decode):
the RT's JSON records are already what a queue consumer expects.
"""

from __future__ import annotations

from sluice.bus import Records
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.batch import BatchResult, MicroBatch
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.topics import dlq_rt, ensure_topic, queue_topic

__all__ = ["QueueStorageProcessor"]


class QueueStorageProcessor:
    """Appends every record of the stored RT to ``queue_{rt}``."""

    follows_consuming_mode = False
    file_storage = False

    def __init__(self, ctx: TaskContext, task: NodeTask) -> None:
        rt = str(task.config.get("result_table_id") or (task.inputs or [""])[0])
        if not rt:
            raise FlowTaskError(f"Queue storage node {task.name} has no result table.")
        self.ctx = ctx
        self.rt = rt
        self.inputs = [rt]
        self.dead_letter_rt = dlq_rt(rt)
        expires = int(task.config.get("expires", -1))
        retention_ms = -1 if expires < 0 else expires * 86_400_000
        self.topic = queue_topic(rt)
        partitions = ctx.bus.describe_topic(ctx.ensure_rt_topic(rt)).partition_count
        ensure_topic(ctx.bus, self.topic, partitions, retention_ms)
        ctx.bus.set_retention(self.topic, retention_ms=retention_ms)

    def process(self, batch: MicroBatch) -> BatchResult:
        """Copy the values (and timestamps) to the queue topic, as Arrow columns."""
        source = batch.inputs.get(self.rt)
        if source is None or not source.count:
            return BatchResult()
        records = Records(values=source.values, timestamps=source.timestamps)
        self.ctx.bus.produce(self.topic, None, records)
        return BatchResult(records_out=source.count)

    def close(self) -> None:
        """Nothing to release."""
