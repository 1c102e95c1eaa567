"""Benchmark runner: N events into MariaDB, PostgreSQL or Redis through Sluice's sink, then the
same events through the plain driver in one loop.

``python -m bench.runners.sluice_sinks --target mysql|pgsql|redis --events N [--batch B]``

The events are log-like (``id`` long, ``sensitivity``/``signature`` strings, ``event_time``
long, ``log`` ~120 characters of text, plus ``dtEventTimeStamp``), generated before timing as
one Arrow table. **Sluice**: ``Sink.open`` (table creation included), then ``write`` of each
micro-batch of B rows (50,000 by default, the runtime's batch) and ``flush``; every
``WriteResult`` is checked. **Driver**: the same rows, already converted to Python tuples
before timing, written by the usual plain-driver loop:

- mysql: pymysql ``cursor.executemany`` of a parametrised ``INSERT`` per batch (pymysql
  rewrites it into multi-row statements) and ``commit``;
- pgsql: psycopg 3 (binary implementation) ``COPY ... FROM STDIN`` with ``copy.write_row``
  per row and one transaction per batch;
- redis: redis-py pipeline (no transaction) of ``SET key json`` per event, executed per batch
  (JSON encoded with orjson before timing); Sluice writes a ``join`` table with the same
  keys and values.

Both write to their own fresh table (or key space), dropped afterwards. Before dropping, the
runner reads back what each side stored: the row (key) count and the sum of the ``id``
values (``n * (n - 1) / 2`` when every event arrived exactly once). The last stdout line is
``{"target", "server", "events", "seconds", "driver_seconds", "rows", "id_sum",
"driver_rows", "driver_id_sum", "sink_rss_kib", "driver_rss_kib", ...}``: the suite
(:mod:`bench.sinks`) checks the counts and sums, so the runner reports them as found and
exits 0 even when they are wrong. ``sink_rss_kib`` is this process's peak RSS after the
Sluice phase, ``driver_rss_kib`` after the driver phase (the process peak so far). When
the target's service does not answer, the last line is ``{"skipped": reason}``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import uuid
from typing import Any

import orjson
import psycopg
import pyarrow as pa
import pymysql
import redis

from sluice.model.nodes.storages.mysql import MysqlStorageConfig
from sluice.model.nodes.storages.pgsql import PgsqlStorageConfig
from sluice.model.nodes.storages.redis import RedisStorageConfig
from sluice.plugins.clusters import parse_dsn
from sluice.plugins.sinks.mysql import MysqlSink
from sluice.plugins.sinks.pgsql import PgsqlSink
from sluice.plugins.sinks.redis import RedisSink

__all__ = ["main", "make_events"]

SCHEMA = [
    ("id", "long"),
    ("sensitivity", "string"),
    ("signature", "string"),
    ("event_time", "long"),
    ("log", "string"),
]
COLUMNS = [n for n, _ in SCHEMA] + ["dtEventTime", "dtEventTimeStamp", "localTime", "thedate"]
"""The columns both tables get: the sink's (RT schema plus system fields)."""
_DDL = (
    "(id BIGINT, sensitivity TEXT, signature TEXT, event_time BIGINT, log TEXT, "
    '"dtEventTime" TEXT, "dtEventTimeStamp" BIGINT, "localTime" TEXT, thedate INT)'
)


def make_events(n: int) -> pa.Table:
    """N log-like events as one Arrow table."""
    now = int(time.time() * 1000)
    ids = pa.array(range(n), pa.int64())
    text = "GET /api/v1/items?page={} HTTP/1.1 200 user-agent=Mozilla/5.0 (X11; Linux x86_64) ok"
    return pa.table(
        {
            "id": ids,
            "sensitivity": pa.array([f"dist_{i % 10:02d}" for i in range(n)]),
            "signature": pa.array([f"sig{i:08x}" for i in range(n)]),
            "event_time": pa.array([now - i for i in range(n)], pa.int64()),
            "log": pa.array([text.format(i) for i in range(n)]),
            "dtEventTimeStamp": pa.array([now] * n, pa.int64()),
        }
    )


def _config(kind: str, rt: str) -> Any:
    base = {
        "result_table_id": rt,
        "cluster": "bench",
        "expires": -1,
        "bk_biz_id": 591,
        "name": "bench",
        "from_result_table_ids": [rt],
    }
    if kind == "mysql":
        return MysqlStorageConfig(**base)
    if kind == "pgsql":
        return PgsqlStorageConfig(**base)
    return RedisStorageConfig(**base, storage_type="join", keys=["id"], separator=":")


def run_sink(kind: str, rt: str, events: pa.Table, batch: int) -> float:
    """Write every batch through the Sluice sink; returns the seconds."""
    dsn = {
        "mysql": ("mysql", "mysql://root@127.0.0.1:3306/test"),
        "pgsql": ("postgresql", "postgresql://postgres@127.0.0.1:5432/test"),
        "redis": ("redis", "redis://127.0.0.1:6379/0"),
    }[kind]
    conn = parse_dsn(dsn[0], "bench", dsn[1])
    cls: Any = {"mysql": MysqlSink, "pgsql": PgsqlSink, "redis": RedisSink}[kind]
    batches = [events.slice(i, batch) for i in range(0, events.num_rows, batch)]
    start = time.perf_counter()
    sink = cls(_config(kind, rt), SCHEMA, conn)
    sink.open()
    for b in batches:
        result = sink.write(b)
        if result.rejected or result.written != b.num_rows:
            raise SystemExit(f"the sink rejected rows: {result.rejected[:3]}")
    sink.flush()
    sink.close()
    return time.perf_counter() - start


def run_driver(kind: str, rt: str, events: pa.Table, batch: int) -> float:
    """Write the same events with the plain driver in one loop; returns the seconds."""
    n = events.num_rows
    data = [
        events.column(c).to_pylist() if c in events.column_names else [None] * n for c in COLUMNS
    ]
    rows = list(zip(*data, strict=True))
    chunks = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    if kind == "mysql":
        start = time.perf_counter()
        c = pymysql.connect(host="127.0.0.1", user="root", database="test", charset="utf8mb4")
        with c.cursor() as cur:
            ddl, names = _DDL.replace('"', "`"), cols.replace('"', "`")
            cur.execute(f"CREATE TABLE `{rt}` {ddl} DEFAULT CHARSET=utf8mb4")
            marks = ", ".join(["%s"] * len(COLUMNS))
            sql = f"INSERT INTO `{rt}` ({names}) VALUES ({marks})"
            for chunk in chunks:
                cur.executemany(sql, chunk)
                c.commit()
        c.close()
        return time.perf_counter() - start
    if kind == "pgsql":
        start = time.perf_counter()
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as pg:
            pg.execute(f'CREATE TABLE "{rt}" {_DDL}')
            for chunk in chunks:
                copy_sql = f'COPY "{rt}" ({cols}) FROM STDIN'
                with pg.transaction(), pg.cursor() as pcur, pcur.copy(copy_sql) as copy:
                    for row in chunk:
                        copy.write_row(row)
        return time.perf_counter() - start
    fields = [n for n, _ in SCHEMA]
    # Encoded before timing. ``bytes(memoryview(...))`` copies each value into an exact-size
    # object: orjson over-allocates its output buffer (about 4 KiB a value here), which
    # would add gigabytes to this phase's peak RSS without being part of the loop.
    values = [
        (
            f"{rt}:{row[0]}",
            bytes(memoryview(orjson.dumps(dict(zip(fields, row[: len(fields)], strict=True))))),
        )
        for row in rows
    ]
    start = time.perf_counter()
    r = redis.Redis()
    for i in range(0, len(values), batch):
        pipe = r.pipeline(transaction=False)
        for key, value in values[i : i + batch]:
            pipe.set(key, value)
        pipe.execute()
    r.close()
    return time.perf_counter() - start


def count_and_drop(kind: str, rt: str) -> tuple[int, int]:
    """How many rows/keys ``rt`` holds and the sum of their ids; then remove them."""
    if kind == "mysql":
        c = pymysql.connect(host="127.0.0.1", user="root", database="test")
        with c.cursor() as cur:
            cur.execute(f"SELECT count(*), coalesce(sum(id), 0) FROM `{rt}`")
            row = cur.fetchone()
            cur.execute(f"DROP TABLE `{rt}`")
        c.close()
        return (int(row[0]), int(row[1])) if row else (0, 0)
    if kind == "pgsql":
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as pg:
            found = pg.execute(f'SELECT count(*), coalesce(sum(id), 0) FROM "{rt}"').fetchone()
            pg.execute(f'DROP TABLE "{rt}"')
        return (int(found[0]), int(found[1])) if found else (0, 0)
    r = redis.Redis()
    keys = set(r.scan_iter(f"{rt}:*", count=10_000))  # SCAN may repeat a key
    unique_keys = list(keys)
    for i in range(0, len(unique_keys), 10_000):
        r.delete(*unique_keys[i : i + 10_000])
    r.close()
    return len(keys), sum(int(k.rsplit(b":", 1)[1]) for k in keys)


def server_version(kind: str) -> str:
    """The target service's name and version; raises ``OSError``-like errors when it is down."""
    if kind == "mysql":
        c = pymysql.connect(host="127.0.0.1", user="root", database="test", connect_timeout=5)
        with c.cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
        c.close()
        version = str(row[0]) if row else "unknown"
        return ("MariaDB " if "mariadb" in version.lower() else "MySQL ") + version
    if kind == "pgsql":
        conninfo = "host=127.0.0.1 user=postgres dbname=test connect_timeout=5"
        with psycopg.connect(conninfo) as pg:
            found = pg.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {found[0] if found else 'unknown'}"
    r = redis.Redis(socket_connect_timeout=5)
    version = r.info("server")["redis_version"]
    r.close()
    return f"Redis {version}"


def _rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--target", required=True, choices=("mysql", "pgsql", "redis"))
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args(argv)
    try:
        server = server_version(args.target)
    except (OSError, pymysql.Error, psycopg.Error, redis.RedisError) as exc:
        where = {"mysql": "MariaDB/MySQL on 127.0.0.1:3306 (root, database test)",
                 "pgsql": "PostgreSQL on 127.0.0.1:5432 (postgres, database test)",
                 "redis": "Redis on 127.0.0.1:6379"}[args.target]  # fmt: skip
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stdout.write(json.dumps({"skipped": f"{where} does not answer: {first}"}) + "\n")
        return
    events = make_events(args.events)
    tag = uuid.uuid4().hex[:8]
    sink_rt, driver_rt = f"bench_sluice_{tag}", f"bench_driver_{tag}"
    seconds = run_sink(args.target, sink_rt, events, args.batch)
    sink_rss = _rss_kib()
    rows, id_sum = count_and_drop(args.target, sink_rt)
    driver_seconds = run_driver(args.target, driver_rt, events, args.batch)
    driver_rss = _rss_kib()
    driver_rows, driver_id_sum = count_and_drop(args.target, driver_rt)
    result = {
        "target": args.target,
        "server": server,
        "events": args.events,
        "seconds": round(seconds, 3),
        "driver_seconds": round(driver_seconds, 3),
        "events_per_s": round(args.events / seconds),
        "driver_events_per_s": round(args.events / driver_seconds),
        "ratio": round(driver_seconds / seconds, 3),
        "rows": rows,
        "id_sum": id_sum,
        "driver_rows": driver_rows,
        "driver_id_sum": driver_id_sum,
        "sink_rss_kib": sink_rss,
        "driver_rss_kib": driver_rss,
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
