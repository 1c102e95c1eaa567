"""The task loop every node type shares: read, process, dead-letter, commit, measure.

One thread per running node. Each turn it fetches from every partition of every input topic
(the group ``sluice_flow{flow_id}_node{node_id}`` holds its committed offsets), bounding the
micro-batch by records and by milliseconds so latency stays low when traffic is thin, hands
it to the node's :class:`~sluice.runtime.tasks.context.Processor`, writes the records the
processor rejected to the node's dead-letter RT with their origin and reason, then commits
the offsets after the batch (at-least-once: outputs are durable before the commit). A slow
sink slows the loop itself; nothing queues in memory beyond one micro-batch.

A :class:`~sluice.runtime.tasks.checkpoint.StatefulProcessor` (windowed ``realtime``) also
chooses its start positions (its checkpoint wins over the committed offsets on ``continue``),
is ticked every ``tick_interval_s`` while no input arrives, checkpoints after batches, and
stores a final checkpoint when the loop stops cleanly. Its checkpoints and ticks only ever
see the positions after the last *processed* batch, and the lag it watches
(``watch_lag``) counts every record not processed yet, read ahead or not, so a partition
whose records wait in a read-ahead batch never looks idle.

The loop fetches the next micro-batch on a helper thread while the current one is
processed (``RuntimeSettings.prefetch``); a processor that also implements
:class:`Preparing` gets each batch's :meth:`~Preparing.prepare` (decoding, typically)
called on a third thread, so the fetch of batch *n+2*, the decode of *n+1* and the SQL,
encoding and produce of *n* overlap (at most three micro-batches in memory).

:meth:`TaskLoop.stop` lets the in-flight batch finish and commit. An unexpected error stops
the loop and is reported through the context's failure handler, which marks the node
``failure`` with the error in the deploy log; other nodes keep running.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, runtime_checkable

import orjson

from sluice.bus import OffsetOutOfRangeError, RecordBatch, Records, TopicPartition
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, InputBatch, MicroBatch
from sluice.runtime.tasks.checkpoint import StatefulProcessor
from sluice.runtime.tasks.context import Processor, TaskContext
from sluice.runtime.tasks.topics import ensure_topic, rt_topic

__all__ = ["Preparing", "TaskLoop", "group_of"]

log = logging.getLogger(__name__)

_Fetched = tuple[MicroBatch, dict[TopicPartition, int], "Future[None] | None"]
"""A micro-batch read ahead, the positions after it, and its ``prepare`` (if any)."""


def group_of(task: NodeTask) -> str:
    """The consumer group of a node's task: ``sluice_flow{flow_id}_node{node_id}``."""
    return f"sluice_flow{task.flow_id}_node{task.node_id}"


@runtime_checkable
class Preparing(Protocol):
    """A processor whose per-batch work starts with a pure step the loop may run early."""

    def prepare(self, batch: MicroBatch) -> None:
        """Do the input-only part of :meth:`Processor.process` for ``batch`` and keep the
        result on ``batch.prepared``.

        Called on the loop's prepare thread, once per batch and in batch order, while an
        earlier batch is being processed (``process`` runs only after it returned); it must not write anything nor touch state ``process`` changes. Whatever
        it raises fails the node as if ``process`` had raised it.
        """


class TaskLoop:
    """Runs one node's processor over its inputs on a thread of its own."""

    def __init__(self, ctx: TaskContext, task: NodeTask, processor: Processor) -> None:
        self.ctx = ctx
        self.task = task
        self.processor = processor
        self.group = group_of(task)
        settings = ctx.settings
        if processor.file_storage:
            self._max_records, self._max_ms = (
                settings.storage_batch_records,
                settings.storage_batch_ms,
            )
        else:
            self._max_records, self._max_ms = settings.batch_records, settings.batch_ms
        self._counters = ctx.metrics.counters(task.flow_id, task.node_id)
        ctx.metrics.describe(task.flow_id, task.node_id, task.node_type)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._positions: dict[TopicPartition, int] = {}
        self._lag: dict[TopicPartition, int] = {}
        self._high: dict[TopicPartition, int] = {}
        self._processed: dict[TopicPartition, int] = {}
        self._rt_of: dict[str, str] = {}
        self._stateful = processor if isinstance(processor, StatefulProcessor) else None
        self._preparing = processor if isinstance(processor, Preparing) else None
        self._prepare_pool: ThreadPoolExecutor | None = None
        self._next_tick = 0.0
        self.error: str | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Resolve the start offsets for the consuming mode and start the thread.

        Raises:
            FlowTaskError: an input cannot be read (the deploy logs the reason).
        """
        bus = self.ctx.bus
        mode = self.task.consuming_mode if self.processor.follows_consuming_mode else "continue"
        for rt in self.processor.inputs:
            topic = rt_topic(rt)
            self._rt_of[topic] = rt
            count = ensure_topic(bus, topic, self.ctx.settings.partitions)
            for partition in range(count):
                tp = TopicPartition(topic, partition)
                earliest = bus.earliest_offset(topic, partition)
                latest = bus.latest_offset(topic, partition)
                committed = bus.committed(self.group, tp)
                if mode == "from_head":
                    position = earliest
                elif mode == "from_tail":
                    position = latest
                elif committed is None:
                    position = earliest
                else:
                    position = min(max(committed, earliest), latest)
                self._positions[tp] = self._processed[tp] = position
                self._high[tp] = latest
                self._count_lag(tp)
        if not self._positions:
            raise FlowTaskError(f"Node {self.task.name} has no input to read.")
        if self._stateful is not None:
            self._stateful.watch_lag(self._lag)
            self._positions.update(self._stateful.start_positions(mode, dict(self._positions)))
            self._processed.update(self._positions)
            for tp in self._positions:
                self._high[tp] = bus.latest_offset(tp.topic, tp.partition)
                self._count_lag(tp)
        # Record the starting point at once, so a later `continue` resumes from here even
        # if no record arrives before the next stop.
        bus.commit(self.group, dict(self._positions))
        self._thread = threading.Thread(
            target=self._run,
            name=f"sluice-task-f{self.task.flow_id}-n{self.task.node_id}",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "Node %s (%s) of flow %s started in mode %s reading %s as group %s.",
            self.task.node_id,
            self.task.node_type,
            self.task.flow_id,
            mode,
            ", ".join(self.processor.inputs),
            self.group,
        )

    def stop(self, timeout: float | None = None) -> None:
        """Finish the in-flight batch, commit, and end the thread (idempotent)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout if timeout is not None else self.ctx.settings.stop_timeout_s)
            if thread.is_alive():
                raise FlowTaskError(
                    f"Node {self.task.name} did not finish its batch within "
                    f"{self.ctx.settings.stop_timeout_s:.0f} s."
                )

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread is not None and self._thread.is_alive()

    # -- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        # The next micro-batch is fetched on a helper thread while the current one is
        # processed, and a Preparing processor's prepare() runs on a third thread: batch
        # n+2 is fetched while n+1 is prepared and n processed. Each batch carries the
        # positions after it, and only those are committed (and checkpointed) once its
        # outputs are durable. Batches fetched or prepared ahead when the loop stops are
        # dropped uncommitted and read again on the next start (at-least-once; a stateful
        # processor's final checkpoint holds the processed positions).
        prefetch = self.ctx.settings.prefetch
        name = f"sluice-fetch-{self.task.node_id}"
        pool = ThreadPoolExecutor(1, thread_name_prefix=name) if prefetch else None
        if pool is not None and self._preparing is not None:
            self._prepare_pool = ThreadPoolExecutor(
                1, thread_name_prefix=f"sluice-prepare-{self.task.node_id}"
            )
        pending: Future[_Fetched | None] | None = None
        fetched: _Fetched | None
        try:
            while not self._stop.is_set():
                if pool is None:
                    collected = self._collect()
                    fetched = None if collected is None else (*collected, None)
                else:
                    if pending is None:
                        pending = pool.submit(self._collect_ahead)
                    fetched, pending = pending.result(), None
                    if fetched is not None and not self._stop.is_set():
                        pending = pool.submit(self._collect_ahead)
                if fetched is not None:
                    batch, positions, prepared = fetched
                    if prepared is not None:
                        prepared.result()
                    self._handle(batch, positions)
                elif self._stateful is not None and not self._stop.is_set():
                    self._tick(self._stateful)
            if self._stateful is not None:
                self._stateful.finish(dict(self._processed))
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self._counters.errors += 1
            log.exception(
                "Node %s (%s) of flow %s failed while running; it stops, other nodes go on.",
                self.task.node_id,
                self.task.node_type,
                self.task.flow_id,
            )
            handler = self.ctx.on_failure
            if handler is not None:
                try:
                    handler(self.task, self.error)
                except Exception:
                    log.exception("Reporting the failure of node %s failed.", self.task.node_id)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if self._prepare_pool is not None:
                self._prepare_pool.shutdown(wait=True, cancel_futures=True)
            try:
                self.processor.close()
            except Exception:
                log.exception("Closing node %s failed.", self.task.node_id)

    def _fetch(
        self,
        tp: TopicPartition,
        room: int,
        wait_ms: int,
        parts: dict[str, list[tuple[int, RecordBatch]]],
    ) -> int:
        bus = self.ctx.bus
        position = self._positions[tp]
        try:
            result = bus.fetch(tp.topic, tp.partition, position, max_records=room, wait_ms=wait_ms)
        except OffsetOutOfRangeError:
            earliest = bus.earliest_offset(tp.topic, tp.partition)
            latest = bus.latest_offset(tp.topic, tp.partition)
            reset = earliest if position < earliest else latest
            if position < earliest:
                self._counters.dropped += earliest - position
            log.warning(
                "Node %s: offset %s of %s is out of range (%s..%s); it reads from %s. "
                "Records deleted by retention before they were read are counted as dropped.",
                self.task.node_id,
                position,
                tp,
                earliest,
                latest,
                reset,
            )
            self._positions[tp] = reset
            # What lies before the reset point can never be processed: it is not lag.
            self._processed[tp] = reset
            self._high[tp] = latest
            self._count_lag(tp)
            return 0
        got = 0
        rt = self._rt_of[tp.topic]
        for record_batch in result.batches:
            take = min(len(record_batch), room - got)
            if take <= 0:
                break
            if take < len(record_batch):
                record_batch = record_batch.sliced(0, take)
            parts.setdefault(rt, []).append((tp.partition, record_batch))
            got += take
        self._positions[tp] = position + got
        self._high[tp] = result.high_watermark
        self._count_lag(tp)
        return got

    def _count_lag(self, tp: TopicPartition) -> None:
        """``tp``'s lag: records up to its high watermark not processed yet (those of a
        batch read ahead included), as stateful processors watch it."""
        self._lag[tp] = max(self._high[tp] - self._processed[tp], 0)

    def _collect(self) -> tuple[MicroBatch, dict[TopicPartition, int]] | None:
        parts: dict[str, list[tuple[int, RecordBatch]]] = {}
        tps = list(self._positions)
        count = 0
        deadline: float | None = None
        turn = 0
        while True:
            got = 0
            for tp in tps:
                room = self._max_records - count - got
                if room <= 0:
                    break
                got += self._fetch(tp, room, 0, parts)
            count += got
            now = time.monotonic()
            if count and deadline is None:
                deadline = now + self._max_ms / 1000
            if count >= self._max_records or self._stop.is_set():
                break
            if not count and self._stateful is not None and now >= self._next_tick:
                break
            if deadline is not None and now >= deadline:
                break
            if got == 0:
                wait = self.ctx.settings.fetch_wait_ms
                if deadline is not None:
                    wait = min(wait, max(int((deadline - now) * 1000), 1))
                tp = tps[turn % len(tps)]
                turn += 1
                count += self._fetch(tp, self._max_records - count, wait, parts)
        if not count:
            return None
        batch = MicroBatch({rt: InputBatch(rt, batches) for rt, batches in parts.items()})
        return batch, dict(self._positions)

    def _collect_ahead(self) -> _Fetched | None:
        """:meth:`_collect` on the fetch thread; the batch's ``prepare`` (if the processor
        has one) is handed to the prepare thread, so the next fetch can start at once."""
        collected = self._collect()
        if collected is None:
            return None
        prepared = None
        if self._prepare_pool is not None and self._preparing is not None:
            prepared = self._prepare_pool.submit(self._preparing.prepare, collected[0])
        return collected[0], collected[1], prepared

    def _handle(self, batch: MicroBatch, positions: dict[TopicPartition, int]) -> None:
        """Process one batch and commit ``positions``: where its inputs end."""
        started = time.perf_counter()
        result = self.processor.process(batch)
        if result.dead:
            self._dead_letter(batch, result)
        self.ctx.bus.commit(self.group, positions)
        counters = self._counters
        counters.records_in += batch.count
        counters.records_out += result.records_out
        counters.dropped += result.dropped
        counters.dead_lettered += len(result.dead)
        self._processed.update(positions)
        for tp in positions:
            self._count_lag(tp)
        counters.lag = sum(self._lag.values())
        counters.last_batch_ms = (time.perf_counter() - started) * 1000
        counters.batch_ms_total += counters.last_batch_ms
        counters.batches += 1
        if self._stateful is not None:
            self._next_tick = time.monotonic() + self._stateful.tick_interval_s
            self._stateful.after_batch(positions)

    def _tick(self, stateful: StatefulProcessor) -> None:
        """Processing-time tick of a stateful processor while its inputs are silent."""
        self._next_tick = time.monotonic() + stateful.tick_interval_s
        result = stateful.tick()
        self._counters.records_out += result.records_out
        self._counters.dropped += result.dropped
        stateful.after_batch(dict(self._processed))

    def _dead_letter(self, batch: MicroBatch, result: BatchResult) -> None:
        now = int(time.time() * 1000)
        values = []
        for dead in result.dead:
            values.append(orjson.dumps(self._dead_record(batch, dead, now)))
        topic = rt_topic(self.processor.dead_letter_rt)
        retention = self.ctx.settings.dlq_retention_days
        ensure_topic(self.ctx.bus, topic, 1, -1 if retention < 0 else retention * 86_400_000)
        self.ctx.bus.produce(topic, None, Records(values=values))
        log.warning(
            "Node %s of flow %s sent %d record(s) to %s; first reason: %s",
            self.task.node_id,
            self.task.flow_id,
            len(values),
            self.processor.dead_letter_rt,
            result.dead[0].reason,
        )

    def _dead_record(self, batch: MicroBatch, dead: DeadLetter, now: int) -> dict[str, object]:
        source = batch.inputs[dead.rt]
        partition, offset = source.origin(dead.index)
        raw = source.value(dead.index)
        return {
            "reason": dead.reason,
            "input_rt": dead.rt,
            "topic": rt_topic(dead.rt),
            "partition": partition,
            "offset": offset,
            "value": raw.decode("utf-8", errors="replace"),
            "flow_id": self.task.flow_id,
            "node_id": self.task.node_id,
            "dtEventTimeStamp": now,
        }
