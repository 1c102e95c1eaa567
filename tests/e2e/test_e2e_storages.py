"""Flows ending in the real stores: MariaDB, PostgreSQL, and a Redis join table.

The clusters are registered through ``/v3/sluice/clusters/``; records produced into the
source table reach each store through the runtime's sink tasks, and a row the store refuses
lands in the dead-letter table with the store's reason.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
import pymysql
import redis

from conftest import Server, wait_until
from servicecheck import require_service

FIELDS = [("ip", "string"), ("status", "int"), ("note", "string")]


def _flow(server: Server, storage: dict[str, Any], table: str) -> tuple[int, str]:
    src = server.make_table(591, f"{table}_src", FIELDS)
    out = f"591_{table}"
    nodes = [
        {
            "id": 1,
            "node_type": "stream_source",
            "bk_biz_id": 591,
            "name": "src",
            "result_table_id": src,
            "from_nodes": [],
        },
        {
            "id": 2,
            "node_type": "realtime",
            "bk_biz_id": 591,
            "name": "clean",
            "table_name": table,
            "sql": f"select ip, status, note from {src} where status >= 0",
            "window_type": "none",
            "from_nodes": [{"id": 1, "from_result_table_ids": [src]}],
        },
        {
            "id": 3,
            "bk_biz_id": 591,
            "name": "store",
            "expires": 7,
            "from_nodes": [{"id": 2, "from_result_table_ids": [out]}],
            **storage,
        },
    ]
    flow_id = server.create_flow(f"flow_{table}", nodes)
    return flow_id, src


def _records(n: int) -> list[dict[str, Any]]:
    return [{"ip": f"10.0.0.{i % 250}", "status": i, "note": f"n{i}"} for i in range(n)]


def test_mysql_storage_end_to_end(server: Server) -> None:
    require_service("MariaDB", "127.0.0.1", 3306)
    table = f"e2e_my_{secrets.token_hex(3)}"
    server.ok(
        "POST",
        "/v3/sluice/clusters/",
        {
            "cluster_type": "mysql",
            "cluster_name": "e2e-mysql",
            "dsn": "mysql://root@127.0.0.1:3306/test",
        },
    )
    storage = {
        "node_type": "mysql_storage",
        "cluster": "e2e-mysql",
        "indexed_fields": ["ip"],
        "has_unique_key": True,
        "storage_keys": ["status"],
    }
    flow_id, src = _flow(server, storage, table)
    assert server.deploy(flow_id, "start", consuming_mode="from_head")["status"] == "success"
    server.produce(src, _records(500))
    server.produce(src, [{"ip": "x" * 70000, "status": 9999, "note": "too long for its column"}])
    conn = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
    try:

        def count() -> int:
            with conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM `591_{table}`")
                return int(cur.fetchone()[0])  # type: ignore[index]

        wait_until(lambda: _safe(count) == 500, what="500 rows in MariaDB")
        server.produce(src, [{"ip": "changed", "status": 7, "note": "upsert"}])
        wait_until(
            lambda: (
                _safe(lambda: _one(conn, f"SELECT ip FROM `591_{table}` WHERE status = 7"))
                == "changed"
            ),
            what="the upsert",
        )
        assert count() == 500
        wait_until(lambda: bool(server.tail(f"591_{table}_dlq")), what="the refused row in the DLQ")
        assert "refused by the store" in str(server.tail(f"591_{table}_dlq")[-1])
    finally:
        server.deploy(flow_id, "stop")
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS `591_{table}`")
        conn.close()


def test_pgsql_storage_end_to_end(server: Server) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    table = f"e2e_pg_{secrets.token_hex(3)}"
    server.ok(
        "POST",
        "/v3/sluice/clusters/",
        {
            "cluster_type": "postgresql",
            "cluster_name": "e2e-pg",
            "dsn": "postgresql://postgres@127.0.0.1:5432/test",
        },
    )
    flow_id, src = _flow(server, {"node_type": "pgsql_storage", "cluster": "e2e-pg"}, table)
    assert server.deploy(flow_id, "start", consuming_mode="from_head")["status"] == "success"
    server.produce(src, _records(300))
    conn = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
    try:
        wait_until(
            lambda: _safe(lambda: _one(conn, f'SELECT COUNT(*) FROM "591_{table}"')) == 300,
            what="300 rows in PostgreSQL",
        )
        assert _one(conn, f'SELECT note FROM "591_{table}" WHERE status = 42') == "n42"
    finally:
        server.deploy(flow_id, "stop")
        conn.execute(f'DROP TABLE IF EXISTS "591_{table}"')
        conn.close()


def test_redis_join_table_end_to_end(server: Server) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    table = f"e2e_rd_{secrets.token_hex(3)}"
    server.ok(
        "POST",
        "/v3/sluice/clusters/",
        {"cluster_type": "redis", "cluster_name": "e2e-redis", "dsn": "redis://127.0.0.1:6379/0"},
    )
    storage = {
        "node_type": "redis_storage",
        "cluster": "e2e-redis",
        "storage_type": "join",
        "keys": ["ip", "status"],
        "separator": ":",
        "key_separator": "_",
        "expires_unit": "",
    }
    flow_id, src = _flow(server, storage, table)
    assert server.deploy(flow_id, "start", consuming_mode="from_head")["status"] == "success"
    server.produce(src, _records(100))
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        key = f"591_{table}:10.0.0.5_5"
        wait_until(lambda: client.get(key) is not None, what="the joined key in Redis")
        assert b'"note":"n5"' in (client.get(key) or b"").replace(b" ", b"")
    finally:
        server.deploy(flow_id, "stop")
        for stale in client.scan_iter(f"591_{table}:*"):
            client.delete(stale)
        client.close()


def _one(conn: Any, sql: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    return None if row is None else row[0]


def _safe(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # the table may not exist until the sink's first batch
        return None
