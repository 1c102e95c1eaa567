"""Sluice runner for W3: 60-second scroll windows by (service, level), in process.

``python -m bench.runners.sluice_window_w3 --input EVENTS.jsonl --output OUT.jsonl
[--workdir DIR] [--mode node|operator]``

``--mode node`` (the default) runs the windowed ``realtime`` node's real task over an
embedded bus, exactly as ``sluice server`` runs it (JSON decoding of the bus values included;
see :mod:`bench.runners._w3_node`); the last stdout line is ``{"events", "seconds", ...}``
with ``seconds`` from the task's start to its last input record processed.

``--mode operator`` measures the window operator alone: the input is decoded with
``pyarrow.json.read_json`` in blocks of whole lines (only the four columns the query needs are
materialised) and fed to a :class:`WindowOperator` configured as a BKData ``realtime`` node
would be: ``scroll``, ``count_freq`` 60 s, ``waiting_time`` 5 s (the data has up to 2 s of
jitter), event time from ``ts_ms``. Windows are emitted as the watermark passes them; the rest
are flushed at the end of the input. The last stdout line is ``{"events": n, "seconds": s}``
where ``s`` covers decoding and windowing (reading the file included, writing the small result
excluded).

Both modes write the suite's W3 contract rows ``window_start, service, level, count,
avg_latency_ms, max_latency_ms``. ``--distinct-keys N`` runs the memory check instead.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.json as pj

from sluice.windows import AggSpec, WindowConfig, WindowOperator

__all__: list[str] = []

_BLOCK = 8 << 20
_PER_BATCH = 4
"""Decoded blocks handed to the operator at once (about 70,000 events)."""
DECODE_SECONDS = [0.0]
"""Seconds spent reading and decoding JSON (in the decoding thread)."""
WINDOW_SECONDS = [0.0]
"""Seconds spent inside the window operator (the rest of the run is JSON decoding)."""
_DUCK_TYPES = {"int64": "BIGINT", "string": "VARCHAR", "double": "DOUBLE"}
_SCHEMA = pa.schema(
    [
        ("ts_ms", pa.int64()),
        ("service", pa.string()),
        ("level", pa.string()),
        ("latency_ms", pa.float64()),
    ]
)


def _blocks(path: str) -> Iterator[bytes]:
    """Whole-line blocks of about ``_BLOCK`` bytes (a block ends at the end of a line)."""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                return
            if not block.endswith(b"\n"):
                block += handle.readline()
            yield block


def _decode(block: bytes) -> pa.Table:
    table: pa.Table = pj.read_json(
        pa.BufferReader(block),
        read_options=pj.ReadOptions(block_size=512 << 10),
        parse_options=pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore"),
    )
    return table


def _operator() -> WindowOperator:
    config = WindowConfig(
        window_type="scroll",
        count_freq=60,
        waiting_time=5,
        event_time_field="ts_ms",
        idle_timeout_ms=0,
    )
    aggs = [
        AggSpec(func="count", alias="count"),
        AggSpec(func="avg", column="latency_ms", alias="avg_latency_ms"),
        AggSpec(func="max", column="latency_ms", alias="max_latency_ms"),
    ]
    return WindowOperator(config, ["service", "level"], aggs, threads=2)


def _duckdb_batches(path: str) -> Iterator[pa.Table]:
    """Alternative decoder: DuckDB's ``read_json`` streaming record batches in file order."""
    con = duckdb.connect()
    columns = ", ".join(f"{f.name}: '{_DUCK_TYPES[str(f.type)]}'" for f in _SCHEMA)
    literal = path.replace("'", "''")
    relation = con.sql(
        f"SELECT * FROM read_json('{literal}', format='newline_delimited', columns={{{columns}}})"
    )
    reader = relation.to_arrow_reader(1 << 17)
    for batch in reader:
        yield pa.Table.from_batches([batch])
    con.close()


def _pyarrow_batches(path: str) -> Iterator[pa.Table]:
    pending: list[pa.Table] = []
    for block in _blocks(path):
        pending.append(_decode(block))
        if len(pending) == _PER_BATCH:
            yield pa.concat_tables(pending)
            pending = []
    if pending:
        yield pa.concat_tables(pending)


def _timed_next(source: Iterator[pa.Table]) -> pa.Table | None:
    started = time.perf_counter()
    table = next(source, None)
    DECODE_SECONDS[0] += time.perf_counter() - started
    return table


def run(path: str, decoder: str = "pyarrow") -> tuple[int, list[pa.Table]]:
    """Window the whole file; return (events, emitted tables).

    A helper thread decodes the next batch while the operator windows the current one (both
    release the GIL), so ``DECODE_SECONDS`` and ``WINDOW_SECONDS`` overlap in wall time.
    """
    op = _operator()
    emitted: list[pa.Table] = []
    events = 0
    source = _pyarrow_batches(path) if decoder == "pyarrow" else _duckdb_batches(path)
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(_timed_next, source)
        while True:
            table = upcoming.result()
            if table is None:
                break
            upcoming = pool.submit(_timed_next, source)
            events += table.num_rows
            started = time.perf_counter()
            out = op.process(table, 0, now_ms=0)
            WINDOW_SECONDS[0] += time.perf_counter() - started
            if out.rows.num_rows:
                emitted.append(out.rows)
            if out.late.num_rows:
                sys.stderr.write(f"{out.late.num_rows} records were later than waiting_time\n")
    started = time.perf_counter()
    final = op.flush()
    WINDOW_SECONDS[0] += time.perf_counter() - started
    if final.rows.num_rows:
        emitted.append(final.rows)
    op.close()
    return events, emitted


def _write(path: str, rows: Iterator[dict[str, Any]]) -> None:
    """The W3 contract rows (``window_start`` is the window's ``dtEventTimeStamp``)."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(
                json.dumps(
                    {
                        "window_start": row["dtEventTimeStamp"],
                        "service": row["service"],
                        "level": row["level"],
                        "count": row["count"],
                        "avg_latency_ms": row["avg_latency_ms"],
                        "max_latency_ms": row["max_latency_ms"],
                    }
                )
                + "\n"
            )


def _rows(tables: list[pa.Table]) -> Iterator[dict[str, Any]]:
    for table in tables:
        yield from table.to_pylist()


def distinct_keys(keys: int, windows: int = 4, parts: int = 8) -> dict[str, Any]:
    """Memory check: ``keys`` distinct keys in every 60 s window, ``windows`` windows.

    Returns events, seconds, the largest state (rows and Arrow bytes) seen after any batch,
    and the process's peak RSS, so the suite can show that memory follows the open windows.
    """
    op = _operator()
    names = pa.array([f"svc-{i}" for i in range(keys)], pa.string())
    level = pa.array(["INFO"] * keys, pa.string())
    latency = pa.array([float(i % 1000) for i in range(keys)], pa.float64())
    base = 1_793_491_200_000
    peak_rows = peak_bytes = events = 0
    started = time.perf_counter()
    for window in range(windows):
        for part in range(parts):
            lo, hi = keys * part // parts, keys * (part + 1) // parts
            ts = pa.array([base + window * 60_000 + 30_000] * (hi - lo), pa.int64())
            table = pa.table(
                {
                    "ts_ms": ts,
                    "service": names.slice(lo, hi - lo),
                    "level": level.slice(lo, hi - lo),
                    "latency_ms": latency.slice(lo, hi - lo),
                }
            )
            op.process(table, 0, now_ms=0)
            events += hi - lo
            stats = op.metrics()
            peak_rows = max(peak_rows, stats.state_rows)
            peak_bytes = max(peak_bytes, stats.state_bytes)
    op.flush()
    seconds = time.perf_counter() - started
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "keys": keys,
        "events": events,
        "seconds": seconds,
        "peak_state_rows": peak_rows,
        "peak_state_bytes": peak_bytes,
        "peak_rss_kb": rss_kb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Sluice window engine, workload W3")
    parser.add_argument("--workload", default="w3", choices=("w3",))
    parser.add_argument("--input")
    parser.add_argument("--output")
    parser.add_argument("--workdir", default=None, help="scratch dir (node mode: the bus)")
    parser.add_argument(
        "--mode",
        choices=("node", "operator"),
        default="node",
        help="node: the realtime node's task over an embedded bus (default); "
        "operator: the window operator alone over locally decoded JSON",
    )
    parser.add_argument(
        "--decoder",
        choices=("pyarrow", "duckdb"),
        default="pyarrow",
        help="JSON decoder feeding the operator (default: pyarrow.json.read_json in blocks)",
    )
    parser.add_argument(
        "--distinct-keys",
        type=int,
        default=0,
        help="instead of W3: run the memory check with this many distinct keys per window",
    )
    args = parser.parse_args()
    if args.distinct_keys:
        sys.stdout.write(json.dumps(distinct_keys(args.distinct_keys)) + "\n")
        return
    if not args.input or not args.output:
        parser.error("--input and --output are required for W3")
    if args.mode == "node":
        from bench.runners._w3_node import run_node

        workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sluice-w3-"))
        figures, rows = run_node(args.input, workdir)
        _write(args.output, (r for r in rows if r["service"] != "__end__"))
        figures["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sys.stdout.write(json.dumps(figures) + "\n")
        sys.stdout.flush()
        return
    start = time.perf_counter()
    events, tables = run(args.input, args.decoder)
    seconds = time.perf_counter() - start
    _write(args.output, _rows(tables))
    result = {
        "events": events,
        "seconds": seconds,
        "decode_seconds": DECODE_SECONDS[0],
        "window_seconds": WINDOW_SECONDS[0],
        "window_events_per_s": events / WINDOW_SECONDS[0] if WINDOW_SECONDS[0] else None,
        "decoder": args.decoder,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
