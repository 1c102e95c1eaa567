"""Run a pipeline over the bus: inputs -> ``pipeline_{name}_in`` -> filters -> outputs.

Who calls it: ``sluice pipeline run``, the pipelines REST endpoints and the end-to-end tests.

- **Inputs** run on their own threads; each ``emit`` writes the events (JSON) to the topic
  ``pipeline_{name}_in`` (one partition, so order is kept) and returns once the bus stored
  them. Inputs acknowledge (HTTP reply, file position, source commit) only after that.
  JSON-lines inputs (``file``, ``tcp``) take the bulk path instead: each chunk of lines is
  parsed at once on the input's thread and stored as one Arrow IPC record
  (:mod:`sluice.pipeline.run.chunks`); the worker reads those without parsing again.
  Inputs that build Arrow tables themselves (the ``file`` input's plain lines, ``syslog``)
  store them the same way (``emit_table``). An emit's mark (the ``file`` input's position
  after the lines) rides on its last record, in the same write
  (:mod:`sluice.plugins.inputs.marks`).
- **The worker** (:mod:`sluice.pipeline.run.worker`) reads that topic as consumer group
  ``pipeline_{name}`` from its committed offset, decodes a batch (up to ``batch_size``
  events) into an Arrow table and runs the filter section
  (:class:`~sluice.pipeline.executor.FilterChain`; a long batch of a row-local section in
  slices on several threads, :mod:`sluice.pipeline.run.parallel`); its delivery thread
  routes the rows to the outputs, flushes every output and only then commits the batch's
  next offset (at-least-once: a crash before the commit replays the batch). The two
  threads overlap: batch N+1 is filtered while batch N is written; batches are written
  and committed in order.
- **Dead letters** go to ``pipeline_{name}_dlq`` as JSON ``{pipeline, plugin, reason, event,
  @timestamp}``: values that are not JSON objects, whole batches a filter failed on (e.g.
  an SQL error), and rows an output rejected (e.g. an Elasticsearch mapping error). An
  output that fails as a whole (server down) is retried with backoff, the batch uncommitted.
- **Stateful filters** (``window``): their state is checkpointed with the input offset in
  ``{state_dir}/filters.ckpt`` (:mod:`sluice.pipeline.run.filter_state`); events they
  refuse (late) are dead letters too; on idle polls the worker lets them emit.

:meth:`PipelineRunner.status` reports counters; :meth:`PipelineRunner.wait_idle` waits until
finite inputs are done and everything emitted is committed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from sluice.bus import Bus, Headers, Records, TopicExistsError, TopicPartition
from sluice.pipeline.compiler import ConditionalNode, Node, Pipeline, PluginNode, compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import FilterChain, KernelRegistry, route_outputs
from sluice.pipeline.run.chunks import (
    ARROW_HEADER,
    ChunkDecoder,
    chunk_events,
    decode_batch,
    decode_chunk,
    ipc_value,
    rows_of,
    stamped,
    table_events,
)
from sluice.pipeline.run.filter_state import FilterCheckpoint, checkpoint_interval
from sluice.pipeline.run.live import live_fields
from sluice.pipeline.run.parallel import SlicedChain
from sluice.pipeline.run.worker import BatchWorker
from sluice.plugins.filters import filter_kernels
from sluice.plugins.inputs import Event, Input, InputContext, make_input
from sluice.plugins.inputs.base import Mark, now_text
from sluice.plugins.inputs.marks import MARK_HEADER
from sluice.plugins.outputs import Output, OutputContext, make_output

__all__ = ["PipelineRunner", "PipelineStats", "check_name"]

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_ARROW: Headers = ((ARROW_HEADER, b"1"),)


def check_name(name: str) -> str:
    """A pipeline name usable in topic names; ``ConfigError`` otherwise."""
    if not _NAME.match(name):
        raise ConfigError(f"pipeline name {name!r} must be 1-200 of [A-Za-z0-9_.-]")
    return name


@dataclass
class PipelineStats:
    """Counters of a running pipeline (events since start)."""

    events_in: int = 0
    events_filtered: int = 0
    events_out: int = 0
    dead_letters: int = 0
    batches: int = 0
    retries: int = 0
    last_error: str | None = None
    started_at: float = field(default_factory=time.time)


def _outputs(nodes: tuple[Node, ...]) -> list[PluginNode]:
    out: list[PluginNode] = []
    for node in nodes:
        if isinstance(node, PluginNode):
            out.append(node)
        elif isinstance(node, ConditionalNode):
            for branch in node.branches:
                out.extend(_outputs(branch.body))
            out.extend(_outputs(node.else_body))
    return out


def _marked(values: list[bytes] | pa.Array, headers: Headers | None, mark: Mark) -> Records:
    """Records of ``values`` (each with ``headers``), the input's ``mark`` on the last one.
    (An emit without events stores nothing, mark included: re-reading what gave no event
    after a crash gives none again.)"""
    if mark is None or len(values) == 0:
        return Records(values=values, headers=None if headers is None else [headers] * len(values))
    base = headers or ()
    listed = [base] * (len(values) - 1) + [(*base, (MARK_HEADER, mark))]
    return Records(values=values, headers=listed)


class PipelineRunner:
    """One pipeline over one bus (see the module doc). Inert until :meth:`start`."""

    def __init__(
        self,
        name: str,
        config: str | Pipeline,
        bus: Bus,
        state_dir: Path,
        kernels: KernelRegistry | None = None,
        batch_size: int = 1000,
    ) -> None:
        self.name = check_name(name)
        self.pipeline = compile_pipeline(config) if isinstance(config, str) else config
        registry = kernels or filter_kernels()
        self.chain = FilterChain(self.pipeline.filters, registry)
        self._sliced = SlicedChain(self.pipeline.filters, self.chain, registry)
        self.bus = bus
        self.state_dir = Path(state_dir)
        self.batch_size = batch_size
        self.in_topic = f"pipeline_{name}_in"
        self.dlq_topic = f"pipeline_{name}_dlq"
        self.group = f"pipeline_{name}"
        self.stats = PipelineStats()
        self.state = "created"
        ictx = InputContext(pipeline=name, state_dir=self.state_dir, bus=bus, topic=self.in_topic)
        octx = OutputContext(pipeline=name, bus=bus)
        self.inputs: list[Input] = [
            make_input(n, ictx) for n in self.pipeline.inputs if isinstance(n, PluginNode)
        ]
        self.outputs: dict[str, Output] = {
            n.id: make_output(n, octx) for n in _outputs(self.pipeline.outputs)
        }
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.worker_error: str | None = None
        self._lock = threading.Lock()
        self._chunks = ChunkDecoder(live_fields(self.pipeline))

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> PipelineRunner:
        """Create the topics, open the outputs, start the worker, then the inputs.

        Raises:
            ConfigError: an input or output cannot start (port in use, missing topic, ...).
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for topic in (self.in_topic, self.dlq_topic):
            if not self.bus.topic_exists(topic):
                with contextlib.suppress(TopicExistsError):
                    self.bus.create_topic(topic, partitions=1)
        try:
            for output in self.outputs.values():
                output.open()
            self._worker = threading.Thread(target=self._work, name=f"pipeline-{self.name}")
            self._worker.daemon = True
            self._worker.start()
            for inp in self.inputs:
                inp.start(self._emit, self._emit_lines, self._emit_table)
        except BaseException:
            self.stop()
            raise
        with self._lock:  # the worker may already have failed: keep its "failure"
            if self.worker_error is None:
                self.state = "running"
        log.info("Pipeline %s started with %d inputs and %d outputs.", self.name,
                 len(self.inputs), len(self.outputs))  # fmt: skip
        return self

    def stop(self) -> None:
        """Stop the inputs, then the worker after its current batch; close the outputs.
        Events emitted but not yet processed stay in the input topic for the next start."""
        failed = self.state == "failure"
        self.state = "stopping"
        for inp in self.inputs:
            inp.stop()
        self._stop.set()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=30)
        for output in self.outputs.values():
            try:
                output.close()
            except Exception as exc:  # closing must not hide the stop
                log.warning("Pipeline %s: closing output %s failed: %s", self.name,
                            output.node.id, exc)  # fmt: skip
        self.state = "failure" if failed or self.worker_error else "stopped"

    def __enter__(self) -> PipelineRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- data path -----------------------------------------------------------------------------

    def _emit(self, events: list[Event], mark: Mark) -> None:
        if self._stop.is_set():
            raise RuntimeError(f"pipeline {self.name} is stopping")
        values = [orjson.dumps(e) for e in events]
        if values:
            self.bus.produce(self.in_topic, 0, _marked(values, None, mark))
        with self._lock:
            self.stats.events_in += len(values)

    def _emit_lines(self, chunk: bytes, stamp: Event, count: int, mark: Mark) -> None:
        """The bulk path (on the input's thread): ``chunk`` parsed into one table, stored
        as one Arrow record; the per-event path when the chunk cannot take it."""
        if self._stop.is_set():
            raise RuntimeError(f"pipeline {self.name} is stopping")
        table = decode_chunk(self._chunks, chunk, stamp)
        self._produce(table, lambda: chunk_events(chunk, stamp), mark)

    def _emit_table(self, table: pa.Table, stamp: Event, mark: Mark) -> None:
        """The bulk path of inputs that build tables themselves (plain lines, syslog).
        A stamp field no filter or output can read is not stored."""
        if self._stop.is_set():
            raise RuntimeError(f"pipeline {self.name} is stopping")
        live = self._chunks.live
        if live is not None:
            stamp = {k: v for k, v in stamp.items() if k.lower() in live}
        self._produce(stamped(table, stamp), lambda: table_events(table, stamp), mark)

    def _produce(
        self, table: pa.Table | None, per_event: Callable[[], list[bytes]], mark: Mark
    ) -> None:
        if table is None:
            values = per_event()
            records = _marked(values, None, mark)
            count = len(values)
        else:
            records = _marked(ipc_value(table), _ARROW, mark)
            count = table.num_rows
        if count:
            self.bus.produce(self.in_topic, 0, records)
        with self._lock:
            self.stats.events_in += count

    def lag(self) -> int:
        """Events emitted but not yet committed by the worker."""
        tp = TopicPartition(self.in_topic, 0)
        committed = self.bus.committed(self.group, tp)
        start = committed if committed is not None else self.bus.earliest_offset(*tp)
        return max(0, self.bus.latest_offset(*tp) - start)

    def _work(self) -> None:
        """The worker thread: a :class:`~sluice.pipeline.run.worker.BatchWorker` over the
        input topic; what ends it early is kept in ``worker_error`` (state "failure")."""
        state = None
        if self.chain.stateful:  # window filters: their state is checkpointed with the offset
            state = FilterCheckpoint(
                self.name, self.chain, self.state_dir, f"{self.in_topic}/0", self._chain_dead,
                interval_s=checkpoint_interval(self.pipeline),
            ).worker_state()  # fmt: skip
        worker = BatchWorker(
            name=self.name, bus=self.bus, topic=self.in_topic, group=self.group,
            batch_size=self.batch_size, stop=self._stop, filter_batch=self._filter,
            deliver=self._deliver, on_retry=self._count_retry, state=state,
        )  # fmt: skip
        try:
            worker.run()
        except BaseException as exc:  # reported by status(); the pipeline is failed
            with self._lock:
                self.worker_error = f"{type(exc).__name__}: {exc}"
                self.state = "failure"
            log.exception("Pipeline %s: the worker stopped.", self.name)

    def _count_retry(self, exc: Exception) -> None:
        """A batch failed and will be retried (called by the worker's threads)."""
        with self._lock:
            self.stats.retries += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"

    def process(self, values: list[bytes], headers: list[Headers] | None = None) -> pa.Table:
        """Filters and outputs over one batch of input values (and their record headers,
        which mark JSON-lines chunks); returns the filtered events.
        Raises when an output fails as a whole (nothing is committed then)."""
        table, out, dead = self._filter(values, headers)
        self._deliver(out, dead, table.num_rows)
        return out

    def _filter(
        self, values: list[bytes], headers: list[Headers] | None
    ) -> tuple[pa.Table, pa.Table, list[bytes]]:
        """The batch decoded and filtered: (decoded events, filtered events, dead letters
        of values that are not events and of a batch a filter failed on)."""
        table, values, bad = decode_batch(values, headers)
        dead: list[bytes] = [
            self._dead("input", reason, values[i].decode("utf-8", "replace")) for i, reason in bad
        ]
        try:
            out = self._sliced.run(table) if table.num_rows else table
        except Exception as exc:
            reason = f"filter failed: {type(exc).__name__}: {exc}"
            log.error("Pipeline %s: %s; %d events to %s.", self.name, reason, table.num_rows,
                      self.dlq_topic)  # fmt: skip
            dead.extend(self._dead("filter", reason, e) for e in rows_of(table))
            out = table.slice(0, 0)
        if self.chain.stateful:
            dead.extend(self._chain_dead())
        return table, out, dead

    def _chain_dead(self) -> list[bytes]:
        """Dead letters of the events stateful filters refused (e.g. late for a window)."""
        return [
            self._dead(node_id, reason, event)
            for node_id, events, reasons in self.chain.take_dead()
            for reason, event in zip(reasons, rows_of(events), strict=True)
        ]

    def _deliver(self, out: pa.Table, dead: list[bytes], events: int) -> bool:
        """Route ``out`` to the outputs, flush them, store the dead letters (``dead`` and
        the rows outputs rejected) and count the batch (``events`` decoded). Raises when an
        output fails as a whole; safe to call again with the same batch then."""
        dead = list(dead)
        for node, rows in route_outputs(self.pipeline.outputs, out):
            rejected = self.outputs[node.id].write(rows)
            if rejected:
                events_ = rows_of(rows.take(pa.array([i for i, _ in rejected], pa.int64())))
                dead.extend(
                    self._dead(node.id, reason, e)
                    for (_, reason), e in zip(rejected, events_, strict=True)
                )
        for output in self.outputs.values():
            output.flush()
        if dead:
            self.bus.produce(self.dlq_topic, 0, Records(values=dead))
        with self._lock:
            self.stats.batches += 1
            self.stats.events_filtered += events - out.num_rows
            self.stats.events_out += out.num_rows
            self.stats.dead_letters += len(dead)
        return True

    def _dead(self, plugin: str, reason: str, event: Any) -> bytes:
        return orjson.dumps({
            "pipeline": self.name, "plugin": plugin, "reason": reason, "event": event,
            "@timestamp": now_text(),
        })  # fmt: skip

    # -- observation ---------------------------------------------------------------------------

    def input_errors(self) -> list[str]:
        """Errors that stopped an input thread or the worker."""
        errors = [f"{i.node.id}: {i.error}" for i in self.inputs if i.error is not None]
        if self.worker_error is not None:
            errors.append(f"worker: {self.worker_error}")
        return errors

    def status(self) -> dict[str, Any]:
        """State and counters, as the CLI and the REST API show them."""
        with self._lock:
            stats = asdict(self.stats)
        return {
            "name": self.name,
            "state": self.state,
            **stats,
            "lag": self.lag(),
            "input_errors": self.input_errors(),
            "inputs_finished": all(i.finished for i in self.inputs),
        }

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every input is finished (or none is finite and nothing is pending)
        and the worker committed everything emitted. True when idle in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(i.finished for i in self.inputs) and self.lag() == 0:
                return True
            time.sleep(0.05)
        return False
