"""W3 through the windowed ``realtime`` node task, in process: what the server runs, minus HTTP.

Used by :mod:`bench.runners.sluice_window_w3` (its default mode). Steps:

1. Load (not measured): the events go to an embedded bus under the work dir, as the topic of
   the source RT ``1_bench_events`` with 4 partitions, 20,000 records per produce call (one
   partition per call, round robin, as the server's produce endpoint does), each value the
   input line with ``dtEventTimeStamp`` (= ``ts_ms``) added; then one end-of-input marker per
   partition, as :mod:`bench.runners.sluice_flow` does (a stream never ends: the markers move
   the watermark past the last windows; their own window never closes).
2. Measure: the node's real task (:class:`~sluice.runtime.tasks.loop.TaskLoop` driving the
   :class:`~sluice.runtime.tasks.windowed.WindowedRealtimeProcessor` built from W3's BKData
   node config) starts ``from_head``; the clock stops when the task has processed every input
   record. So the figure covers fetching from the bus, JSON decoding of the values, the
   pre-aggregation SQL, the window operator, the post SQL, producing the results, committing
   offsets and checkpointing window state, exactly as inside ``sluice server``.
3. The results are read back from the node's output topic.
"""

from __future__ import annotations

import re
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bench.runners.sluice_flow import _FIELDS, BIZ, SOURCE_RT, _end_markers, build_nodes
from sluice.bus import Bus, Records, open_bus
from sluice.runtime.engine import NodeTask
from sluice.runtime.metrics import MetricsRegistry
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.loop import TaskLoop
from sluice.runtime.tasks.realtime import RealtimeProcessor
from sluice.runtime.tasks.settings import RuntimeSettings
from sluice.runtime.tasks.topics import ensure_topic, rt_topic

__all__ = ["run_node"]

PARTITIONS = 4
CHUNK = 20_000
OUTPUT_RT = f"{BIZ}_bench_w3_out"
_TS = re.compile(rb'"ts_ms":(-?\d+)')


def _values(path: str) -> Iterator[tuple[list[bytes], int]]:
    """Chunks of input values with ``dtEventTimeStamp`` added, and each chunk's largest time."""
    chunk: list[bytes] = []
    high = 0
    with open(path, "rb") as handle:
        for line in handle:
            line = line.rstrip(b"\r\n")
            match = _TS.search(line)
            if match is None or not line.endswith(b"}"):
                raise ValueError(f"{path}: not a W3 event line: {line[:80]!r}")
            stamp = match.group(1)
            high = max(high, int(stamp))
            chunk.append(line[:-1] + b',"dtEventTimeStamp":' + stamp + b"}")
            if len(chunk) == CHUNK:
                yield chunk, high
                chunk = []
    if chunk:
        yield chunk, high


def _load(bus: Bus, path: str) -> tuple[int, int]:
    """Step 1; returns (events, records on the topic including the markers)."""
    topic = rt_topic(SOURCE_RT)
    ensure_topic(bus, topic, PARTITIONS)
    events = 0
    last = 0
    for turn, (values, high) in enumerate(_values(path)):
        bus.produce(topic, turn % PARTITIONS, Records(values=values))
        events += len(values)
        last = max(last, high)
    markers = _end_markers(last, PARTITIONS)
    for partition, marker in enumerate(markers):
        bus.produce(topic, partition, Records(values=[orjson.dumps(marker)]))
    return events, events + len(markers)


def _read_output(bus: Bus) -> list[dict[str, Any]]:
    topic = rt_topic(OUTPUT_RT)
    rows: list[dict[str, Any]] = []
    for partition in range(bus.describe_topic(topic).partition_count):
        offset = bus.earliest_offset(topic, partition)
        end = bus.latest_offset(topic, partition)
        while offset < end:
            fetched = bus.fetch(topic, partition, offset)
            for batch in fetched.batches:
                rows.extend(orjson.loads(v) for v in batch.values_array().to_pylist())
                offset = batch.next_offset
    return rows


def _schema(rt_id: str) -> list[tuple[str, str]]:
    if rt_id != SOURCE_RT:
        raise KeyError(rt_id)
    return [*_FIELDS, ("dtEventTimeStamp", "long")]


def run_node(path: str, workdir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Steps 1-3; returns (result figures, output rows as the node wrote them)."""
    bus = open_bus(data_dir=workdir / "bus")
    try:
        events, total = _load(bus, path)
        rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        settings = RuntimeSettings(data_dir=workdir / "data")
        metrics = MetricsRegistry()
        ctx = TaskContext(bus=bus, settings=settings, metrics=metrics, schema_of=_schema)
        node = build_nodes("w3")[1]
        config = {k: v for k, v in node.items() if k not in ("id", "from_nodes", "frontend_info")}
        task = NodeTask(
            flow_id=1,
            node_id=2,
            node_type="realtime",
            name="bench_w3_out",
            config=config,
            inputs=[SOURCE_RT],
            outputs=[OUTPUT_RT],
            consuming_mode="from_head",
        )
        counters = metrics.counters(1, 2)
        started = time.perf_counter()
        loop = TaskLoop(ctx, task, RealtimeProcessor(ctx, task))
        loop.start()
        while counters.records_in < total:
            if not loop.alive:
                raise RuntimeError(f"the W3 node stopped: {loop.error}")
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        loop.stop()
        result = {
            "events": events,
            "seconds": seconds,
            "batches": counters.batches,
            "records_out": counters.records_out,
            "dead_lettered": counters.dead_lettered,
            "rss_kb_after_load": rss_loaded,
            "mode": "node",
        }
        return result, _read_output(bus)
    finally:
        bus.close()
