"""The worker of a pipeline: fetch and filter on one thread, deliver and commit on another.

Who uses it: :class:`~sluice.pipeline.run.runner.PipelineRunner` runs one
:class:`BatchWorker` on its worker thread (``PipelineRunner.start``); the worker knows the bus
and the offsets, the runner supplies what a batch means (its ``filter_batch`` and ``deliver``
callables) and what a retry means for its counters (``on_retry``).

The worker thread reads the input topic (partition 0) as the consumer group from its committed
offset, fetches a batch (up to ``batch_size`` records, :data:`FETCH_BYTES` of values) and
filters it; the delivery thread writes the previous batch to the outputs and commits its next
offset. The handoff queue holds one batch, so batch N+1 is filtered while batch N is written;
batches are delivered and committed in order, each only once ``deliver`` returned (the
runner flushes its outputs inside it): at-least-once, a crash before the commit replays the
batch. A callable that raises (an output failing as a whole, a filter raising outside the
dead-letter path) is retried with backoff, nothing committed meanwhile.

Stateful filters (the ``window`` filter) come with a :class:`FilterState`: right after
batch N is filtered the worker takes a snapshot of the filters' state, and the delivery
thread stores it with N's next offset (``FilterState.save``) after N's outputs are
delivered and before the offset is committed. On start ``FilterState.load`` restores the
last snapshot and the worker resumes from its offset, so a crash replays exactly the
batches the restored state has not seen: no event is lost or counted twice in the state
(outputs stay at-least-once: results delivered after the last save are delivered again).
With a checkpoint interval (``FilterState.interval_s``) the delivery thread stores the first
delivered batch's snapshot, then one only once the interval has passed since the last save;
it keeps the latest one in memory meanwhile and stores it when the worker ends (a stop).
Offsets are still committed per batch; a restart resumes from the stored checkpoint's
offset (a crash replays the batches since: the state stays exact, their results repeat).
When a fetch returns nothing the worker calls ``tick`` (windows closing on an idle input)
and hands what it emits through the same path, with a snapshot at the same offset.
Pipelines without stateful filters pass no ``FilterState`` and take no snapshots.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import pyarrow as pa

from sluice.bus import Bus, Headers, TopicPartition

__all__ = ["FETCH_BYTES", "BatchWorker", "DeliverBatch", "FilterBatch", "FilterState"]

log = logging.getLogger(__name__)

FETCH_BYTES = 16 * 1024 * 1024
"""Bytes of input values per worker batch (besides ``batch_size`` records): JSON-lines
chunks hold thousands of events each."""

FilterBatch = Callable[[list[bytes], list[Headers]], tuple[pa.Table, pa.Table, list[bytes]]]
"""``(values, headers) -> (decoded events, filtered events, dead letters)``; raising means
"retry this batch"."""

DeliverBatch = Callable[[pa.Table, list[bytes], int], object]
"""``(filtered events, dead letters, decoded count)``: write, flush and count the batch;
raising means "retry this batch", so it must be safe to call again with the same batch."""

TickBatch = Callable[[], tuple[pa.Table, list[bytes]] | None]
"""``() -> (emitted events, dead letters)`` of stateful filters on an idle poll, or ``None``
when they emitted nothing."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class FilterState:
    """How the worker checkpoints the state of stateful filters (see the module doc).

    Attributes:
        snapshot: the filters' state now (called on the worker thread, between batches).
        save: ``(state, next_offset)``: store it durably and atomically (delivery thread),
            before that offset is committed.
        load: restore the last saved state; its next offset, or ``None`` when none was saved.
        tick: what the filters emit on an idle poll (see :data:`TickBatch`).
        interval_s: seconds between saves (0: after every batch); the latest delivered
            batch's state is kept in memory meanwhile and saved when the worker ends.
    """

    snapshot: Callable[[], bytes]
    save: Callable[[bytes, int], None]
    load: Callable[[], int | None]
    tick: TickBatch
    interval_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _Filtered:
    """A filtered batch on its way to the delivery thread."""

    events: int  # decoded events, before the filters
    out: pa.Table
    dead: list[bytes]
    offset: int
    next_offset: int
    state: bytes | None = None  # the stateful filters' snapshot after this batch


class BatchWorker:
    """Fetch -> filter -> (handoff) -> deliver -> commit over one input topic; see the
    module doc. :meth:`run` blocks until ``stop`` is set or a step fails for good."""

    def __init__(
        self,
        *,
        name: str,
        bus: Bus,
        topic: str,
        group: str,
        batch_size: int,
        stop: threading.Event,
        filter_batch: FilterBatch,
        deliver: DeliverBatch,
        on_retry: Callable[[Exception], None],
        state: FilterState | None = None,
    ) -> None:
        self.name = name
        self.bus = bus
        self.tp = TopicPartition(topic, 0)
        self.group = group
        self.batch_size = batch_size
        self._stop = stop
        self._filter = filter_batch
        self._deliver = deliver
        self._on_retry = on_retry
        self._state = state

    def run(self) -> None:
        """Fetch, decode and filter batch N+1 on this thread while the delivery thread
        writes batch N to the outputs and commits N's next offset, until ``stop`` is set.

        Raises:
            BaseException: whatever ended the delivery thread (e.g. a commit that failed);
                the caller reports the pipeline as failed.
        """
        tp = self.tp
        restored = self._state.load() if self._state is not None else None
        committed = restored if restored is not None else self.bus.committed(self.group, tp)
        offset = committed if committed is not None else self.bus.earliest_offset(*tp)
        handoff: queue.Queue[_Filtered] = queue.Queue(maxsize=1)
        failed: list[BaseException] = []
        done = threading.Event()
        delivery = threading.Thread(
            target=self._deliver_loop, args=(handoff, done, failed),
            name=f"pipeline-{self.name}-out", daemon=True,
        )  # fmt: skip
        delivery.start()
        try:
            while not self._stop.is_set() and delivery.is_alive():
                result = self.bus.fetch(
                    tp.topic, 0, offset, self.batch_size, max_bytes=FETCH_BYTES, wait_ms=200
                )
                records = list(result.records())
                if not records:
                    item = self._tick(offset)
                    if item is None:
                        continue
                else:
                    values = [r.value for r in records]
                    headers = [r.headers for r in records]
                    filtered = self._retrying(offset, partial(self._filter, values, headers))
                    if filtered is None:
                        return
                    table, out, dead = filtered
                    state = self._state.snapshot() if self._state is not None else None
                    next_offset = records[-1].offset + 1
                    item = _Filtered(table.num_rows, out, dead, offset, next_offset, state)
                offset = item.next_offset
                while not self._stop.is_set() and delivery.is_alive():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        finally:
            done.set()
            delivery.join()
        if failed:
            raise failed[0]

    def _tick(self, offset: int) -> _Filtered | None:
        """What the stateful filters emit on an idle poll, as an item at ``offset`` (with
        their snapshot); ``None`` when they emit nothing (or there are none)."""
        if self._state is None:
            return None
        ticked = self._retrying(offset, self._state.tick)
        if ticked is None:
            return None
        out, dead = ticked
        # no event was decoded: count the emitted ones as in, so none counts as filtered out
        return _Filtered(out.num_rows, out, dead, offset, offset, self._state.snapshot())

    def _retrying(self, offset: int, work: Callable[[], _T]) -> _T | None:
        """``work()``, retried with backoff while it raises (an output failing as a whole);
        ``None`` when the pipeline stops first."""
        attempt = 0
        while not self._stop.is_set():
            try:
                return work()
            except Exception as exc:
                attempt += 1
                self._on_retry(exc)
                log.warning("Pipeline %s: batch at offset %d failed (attempt %d), "
                            "retrying: %s", self.name, offset, attempt, exc)  # fmt: skip
                self._stop.wait(min(5.0, 0.1 * 2**attempt))
        return None

    def _deliver_loop(
        self,
        handoff: queue.Queue[_Filtered],
        done: threading.Event,
        failed: list[BaseException],
    ) -> None:
        """The delivery thread: outputs, dead letters and the commit, batch after batch,
        until the worker is done and nothing is left (or the pipeline stops). What ends it
        otherwise lands in ``failed`` for :meth:`run` to raise."""
        unsaved: tuple[bytes, int] | None = None  # delivered, not stored yet (interval)
        # The first delivered batch is always stored: once an offset is committed a
        # checkpoint exists, so a restart never takes the committed offset with no state.
        saved_at = -math.inf
        try:
            while True:
                try:
                    item = handoff.get(timeout=0.1)
                except queue.Empty:
                    if done.is_set() or self._stop.is_set():
                        break
                    continue
                delivered = self._retrying(
                    item.offset, partial(self._deliver, item.out, item.dead, item.events)
                )
                if delivered is None:
                    break
                if item.state is not None and self._state is not None:
                    unsaved = (item.state, item.next_offset)
                    if time.monotonic() - saved_at >= self._state.interval_s:
                        self._state.save(*unsaved)
                        unsaved, saved_at = None, time.monotonic()
                self.bus.commit(self.group, {self.tp: item.next_offset})
            if unsaved is not None and self._state is not None:  # the worker ends: store it
                self._state.save(*unsaved)
        except BaseException as exc:  # run() re-raises it
            failed.append(exc)
