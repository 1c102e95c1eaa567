"""MySQL (MariaDB) and PostgreSQL sinks against the real servers on 127.0.0.1.

Each test runs for both stores: create from the schema, schema evolution, upserts, expiry,
a connection cut mid-stream (through a fault proxy: nothing lost, nothing doubled) and a bad
record reported in ``WriteResult.rejected`` while the rest of the batch is written.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pyarrow as pa
import pymysql
import pytest

from conftest import FaultProxy
from sluice.model.nodes.storages.mysql import MysqlStorageConfig
from sluice.model.nodes.storages.pgsql import PgsqlStorageConfig
from sluice.plugins.base import RetryableError, Sink, SinkConfigError
from sluice.plugins.clusters import ClusterConnection, parse_dsn
from sluice.plugins.sinks.mysql import MysqlSink
from sluice.plugins.sinks.pgsql import PgsqlSink

SCHEMA = [("id", "long"), ("name", "string"), ("score", "double"), ("ok", "boolean")]
DAY = 86_400_000


@pytest.fixture(params=["mysql", "pgsql"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def conn(kind: str, request: pytest.FixtureRequest) -> ClusterConnection:
    fixture = "mysql_conn" if kind == "mysql" else "pg_conn"
    found: ClusterConnection = request.getfixturevalue(fixture)
    return found


def make_sink(
    kind: str,
    rt_id: str,
    conn: ClusterConnection,
    schema: list[tuple[str, str]] = SCHEMA,
    **kw: Any,
) -> Sink:
    base = {
        "result_table_id": rt_id,
        "cluster": "default",
        "expires": kw.pop("expires", -1),
        "bk_biz_id": 591,
        "name": "s",
        "from_result_table_ids": [rt_id],
        **kw,
    }
    if kind == "mysql":
        return MysqlSink(MysqlStorageConfig(**base), schema, conn)
    return PgsqlSink(PgsqlStorageConfig(**base), schema, conn)


def query(kind: str, sql: str) -> list[tuple[Any, ...]]:
    if kind == "mysql":
        c = pymysql.connect(host="127.0.0.1", user="root", database="test")
        try:
            with c.cursor() as cur:
                cur.execute(sql.replace('"', "`"))
                return list(cur.fetchall())
        finally:
            c.close()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as pc_:
        return list(pc_.execute(sql).fetchall())


def columns(kind: str, rt_id: str) -> list[str]:
    schema = "DATABASE()" if kind == "mysql" else "'public'"
    rows = query(
        kind,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        f"{schema} AND table_name = '{rt_id}' ORDER BY ordinal_position",
    )
    return [str(r[0]) for r in rows]


def batch(ids: list[int], names: list[str | None] | None = None, ts: int | None = None) -> pa.Table:
    now = ts if ts is not None else int(time.time() * 1000)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array(names or [f"n{i}" for i in ids], pa.string()),
            "score": pa.array([i / 2 for i in ids], pa.float64()),
            "ok": pa.array([i % 2 == 0 for i in ids]),
            "dtEventTimeStamp": pa.array([now] * len(ids), pa.int64()),
        }
    )


def test_creates_table_with_indexes_and_writes(
    kind: str, rt_id: str, conn: ClusterConnection
) -> None:
    with make_sink(kind, rt_id, conn, indexed_fields=["name"]) as sink:
        result = sink.write(batch([1, 2, 3], ["a", 'it\'s \\ "q"\n', None]))
    assert result.written == 3 and result.rejected == []
    assert columns(kind, rt_id) == [
        "id",
        "name",
        "score",
        "ok",
        "dtEventTime",
        "dtEventTimeStamp",
        "localTime",
        "thedate",
    ]
    rows = query(kind, f'SELECT id, name, score, ok FROM "{rt_id}" ORDER BY id')
    assert [(r[0], r[1], r[2], bool(r[3])) for r in rows] == [
        (1, "a", 0.5, False),
        (2, 'it\'s \\ "q"\n', 1.0, True),
        (3, None, 1.5, False),
    ]
    if kind == "mysql":
        indexes = {r[2] for r in query(kind, f'SHOW INDEX FROM "{rt_id}"')}
    else:
        indexes = {
            r[0]
            for r in query(kind, f"SELECT indexname FROM pg_indexes WHERE tablename = '{rt_id}'")
        }
    assert any("name" in str(i) for i in indexes)


def test_schema_evolution_adds_columns(kind: str, rt_id: str, conn: ClusterConnection) -> None:
    with make_sink(kind, rt_id, conn) as sink:
        sink.write(batch([1]))
    wider = [*SCHEMA, ("level", "int")]
    with make_sink(kind, rt_id, conn, schema=wider) as sink:
        t = batch([2]).append_column("level", pa.array([7], pa.int32()))
        assert sink.write(t).written == 1
    assert "level" in columns(kind, rt_id)
    assert query(kind, f'SELECT id, level FROM "{rt_id}" ORDER BY id') == [(1, None), (2, 7)]


def test_unique_key_makes_writes_upserts(kind: str, rt_id: str, conn: ClusterConnection) -> None:
    with make_sink(kind, rt_id, conn, has_unique_key=True, storage_keys=["id"]) as sink:
        sink.write(batch([1, 2], ["first", "x"]))
        # the same key twice in one batch: the last row wins
        res = sink.write(batch([1, 1, 3], ["second", "third", "y"]))
        assert res.rejected == []
        sink.write(batch([2], ["again"]))
    assert query(kind, f'SELECT id, name FROM "{rt_id}" ORDER BY id') == [
        (1, "third"),
        (2, "again"),
        (3, "y"),
    ]


def test_expire_deletes_old_rows(kind: str, rt_id: str, conn: ClusterConnection) -> None:
    now = int(time.time() * 1000)
    with make_sink(kind, rt_id, conn, expires=3) as sink:
        sink.write(batch([1, 2], ts=now - 5 * DAY))
        sink.write(batch([3], ts=now - 1 * DAY))
        assert sink.expire(now) == 2
        assert sink.expire(now) == 0
    assert query(kind, f'SELECT id FROM "{rt_id}"') == [(3,)]


def test_connection_cut_mid_stream_loses_nothing(
    kind: str, rt_id: str, conn: ClusterConnection, proxy_for: Any
) -> None:
    proxy: FaultProxy = proxy_for(conn.port)
    scheme = "mysql" if kind == "mysql" else "postgresql"
    user = "root" if kind == "mysql" else "postgres"
    via = parse_dsn(conn.cluster_type, "proxied", f"{scheme}://{user}@127.0.0.1:{proxy.port}/test")
    sink = make_sink(kind, rt_id, via)
    sink.open()
    sent = retried = 0
    try:
        for n in range(6):
            ids = list(range(n * 100, n * 100 + 100))
            if n == 2:
                proxy.cut()
            if n == 4:
                proxy.down()
            attempts = 0
            while True:
                try:
                    sink.write(batch(ids))
                    break
                except RetryableError:
                    attempts += 1
                    retried += 1
                    assert attempts < 5
                    proxy.up()  # the "server" is back; the runtime retries the same batch
            sent += len(ids)
    finally:
        sink.close()
    assert retried >= 2  # the cut and the outage were both seen
    assert query(kind, f'SELECT count(*), count(DISTINCT id) FROM "{rt_id}"') == [(sent, sent)]


def test_bad_record_is_rejected_and_the_rest_written(
    kind: str, rt_id: str, conn: ClusterConnection
) -> None:
    # MySQL: a key longer than VARCHAR(255) in strict mode; PostgreSQL: a NUL character
    bad = "x" * 300 if kind == "mysql" else "bad\x00text"
    names = [f"n{i}" for i in range(50)]
    names[17] = bad
    names[31] = bad
    with make_sink(kind, rt_id, conn, indexed_fields=["name"]) as sink:
        result = sink.write(batch(list(range(50)), names))
    assert [r.index for r in result.rejected] == [17, 31]
    assert result.written == 48
    assert ("too long" if kind == "mysql" else "0x00") in result.rejected[0].reason
    assert query(kind, f'SELECT count(*) FROM "{rt_id}"') == [(48,)]


def test_config_errors_before_any_io(kind: str, rt_id: str) -> None:
    conn = parse_dsn(
        "mysql" if kind == "mysql" else "postgresql",
        "x",
        "mysql://h/db" if kind == "mysql" else "postgresql://h/db",
    )
    with pytest.raises(SinkConfigError, match="storage_keys"):
        make_sink(kind, rt_id, conn, has_unique_key=True)
    with pytest.raises(SinkConfigError, match="nope"):
        make_sink(kind, rt_id, conn, indexed_fields=["nope"])
