"""Storage nodes written through a sink plugin (MySQL/TSpider, PostgreSQL, Redis/TRedis,
Elasticsearch, ClickHouse): the framework half.

The plugin (:mod:`sluice.plugins.sinks`) owns the store's I/O; this processor decodes each
micro-batch, hands it to the sink, retries a batch the store could not take (connection lost)
with backoff before the input offsets are committed, dead-letters the rows the store refused
with its reason, and runs the sink's expiry hourly. The cluster a node names is resolved in
the task context's cluster registry (environment, clusters file, ``/v3/sluice/clusters/``).
"""

from __future__ import annotations

import logging
import time

import pyarrow as pa

from sluice.model.errors import FlowError
from sluice.model.nodes import NODE_TYPES
from sluice.model.nodes.storages.base import StorageConfig
from sluice.plugins.base import RetryableError, Sink, SinkError, WriteResult
from sluice.plugins.registry import create_sink
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, MicroBatch
from sluice.runtime.tasks.codec import decode_input
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.topics import dlq_rt

__all__ = ["RETRY_DELAYS_S", "SinkStorageProcessor"]

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Backoff between attempts at one batch; after the last, the node fails (nothing is lost:
the batch's offsets were never committed)."""
_EXPIRE_EVERY_S = 3600.0


class SinkStorageProcessor:
    """Writes the stored result table into an external store, one batch per write."""

    follows_consuming_mode = False
    file_storage = False

    def __init__(self, ctx: TaskContext, task: NodeTask) -> None:
        node_type = NODE_TYPES.get(task.node_type)
        try:
            config = node_type.clean(dict(task.config), update=True)
        except FlowError as exc:
            raise FlowTaskError(exc.msg) from None
        assert isinstance(config, StorageConfig)
        if ctx.clusters is None:
            raise FlowTaskError(
                f"Storage node {task.name} needs a cluster registry; the runtime has none."
            )
        self.ctx = ctx
        self.task = task
        self.rt = config.result_table_id
        self.inputs = [self.rt]
        self.dead_letter_rt = dlq_rt(self.rt)
        self.schema = ctx.schema(self.rt)
        try:
            self.sink: Sink = create_sink(task.node_type, config, self.schema, ctx.clusters)
            self.sink.open()
        except FlowError as exc:
            raise FlowTaskError(exc.msg) from None
        except SinkError as exc:
            raise FlowTaskError(f"Storage node {task.name} cannot open its store: {exc}") from None
        self._next_expire = 0.0

    def process(self, batch: MicroBatch) -> BatchResult:
        """Decode, write (retrying a lost connection), dead-letter refused rows, expire."""
        source = batch.inputs.get(self.rt)
        if source is None:
            return BatchResult()
        table, dead, kept = decode_input(source, self.schema, self.ctx.settings.timezone)
        written = 0
        if table.num_rows:
            result = self._write(table)
            written = result.written
            for rejected in result.rejected:
                index = rejected.index if kept is None else int(kept[rejected.index].as_py())
                dead.append(DeadLetter(self.rt, index, f"refused by the store: {rejected.reason}"))
        self._expire()
        return BatchResult(records_out=written, dead=dead)

    def _write(self, table: pa.Table) -> WriteResult:
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                return self.sink.write(table)
            except RetryableError as exc:
                if delay is None:
                    raise FlowTaskError(
                        f"Storage node {self.task.name} gave up on a batch after {attempt + 1} attempts: {exc}"
                    ) from exc
                log.warning(
                    "Flow %s node %s: the store did not take a batch of %d rows (%s); retrying in %.1f s.",
                    self.task.flow_id,
                    self.task.node_id,
                    table.num_rows,
                    exc,
                    delay,
                )
                time.sleep(delay)
            except SinkError as exc:
                raise FlowTaskError(f"Storage node {self.task.name} failed: {exc}") from exc
        raise AssertionError("unreachable")

    def _expire(self) -> None:
        now = time.monotonic()
        if now < self._next_expire:
            return
        self._next_expire = now + _EXPIRE_EVERY_S
        try:
            removed = self.sink.expire(int(time.time() * 1000))
        except SinkError as exc:
            log.warning(
                "Flow %s node %s: expiry failed (%s); it runs again in an hour.",
                self.task.flow_id,
                self.task.node_id,
                exc,
            )
            return
        if removed:
            log.info(
                "Flow %s node %s: expiry removed %d rows or indices.",
                self.task.flow_id,
                self.task.node_id,
                removed,
            )

    def close(self) -> None:
        """Flush and close the sink."""
        try:
            self.sink.flush()
        finally:
            self.sink.close()
