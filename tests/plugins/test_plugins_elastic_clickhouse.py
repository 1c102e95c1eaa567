"""Elasticsearch sink (against the compatible test server) and ClickHouse sink (against a
``clickhouse-server`` started from the Debian package)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from es_server import FakeElasticsearch

from sluice.model.nodes.storages.clickhouse import ClickhouseStorageConfig
from sluice.model.nodes.storages.elastic import ElasticStorageConfig
from sluice.plugins.base import RetryableError
from sluice.plugins.clusters import parse_dsn
from sluice.plugins.sinks.clickhouse import ClickhouseSink
from sluice.plugins.sinks.elasticsearch import ElasticSink

DAY = 86_400_000
SCHEMA = [("id", "long"), ("log", "string"), ("when", "string"), ("ext", "string")]


def es_config(rt_id: str, **kw: Any) -> ElasticStorageConfig:
    return ElasticStorageConfig(
        result_table_id=rt_id,
        cluster="default",
        expires=kw.pop("expires", 3),
        bk_biz_id=591,
        name="e",
        from_result_table_ids=[rt_id],
        analyzed_fields=["log"],
        date_fields=["when"],
        json_fields=["ext"],
        **kw,
    )


def docs(ids: list[int | None], ts: int, **cols: list[Any]) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "log": cols.get("log", [f"line {i}" for i in range(n)]),
            "when": pa.array(cols.get("when", ["2024-01-01 10:00:00"] * n), pa.string()),
            "ext": pa.array(cols.get("ext", ['{"a": 1}'] * n), pa.string()),
            "dtEventTimeStamp": pa.array([ts] * n, pa.int64()),
        }
    )


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y%m%d")


def test_es_daily_index_mapping_ids_and_rejections(rt_id: str, es: FakeElasticsearch) -> None:
    conn = parse_dsn("es", "default", es.url)
    now = int(time.time() * 1000)
    cfg = es_config(rt_id, has_unique_key=True, storage_keys=["id"], doc_values_fields=["log"])
    with ElasticSink(cfg, SCHEMA, conn) as sink:
        result = sink.write(
            docs(
                [1, 2, 3, None],
                now,
                when=["2024-01-01", "not a date", None, None],
                ext=['{"a": 1}', None, "{bad", None],
            )
        )
        assert [(r.index, r.reason.split(":")[0]) for r in result.rejected] == [
            (1, "Elasticsearch status 400"),
            (2, "the json field ext is not valid JSON"),
            (3, "the key field id is null"),
        ]
        assert "failed to parse field [when] of type [date]" in result.rejected[0].reason
        sink.write(docs([1], now, log=["rewritten"]))  # same id: overwritten, not duplicated
    index = f"{rt_id.lower()}_{day(now)}"
    stored = es.docs(index)
    assert list(stored) == ["1"] and stored["1"]["log"] == "rewritten"
    assert stored["1"]["ext"] == {"a": 1}  # json field stored as an object
    props = es.indices[index]["properties"]
    assert props["log"] == {"type": "text"}
    assert props["when"]["type"] == "date" and props["ext"] == {"type": "object"}
    assert props["dtEventTime"] == {"type": "keyword", "doc_values": False}
    assert es.indices[index]["settings"] == {"number_of_replicas": 0}


def test_es_retries_429_and_503_then_gives_up(rt_id: str, es: FakeElasticsearch) -> None:
    conn = parse_dsn("es", "default", es.url)
    now = int(time.time() * 1000)
    with ElasticSink(es_config(rt_id), SCHEMA, conn) as sink:
        sink.retry_backoff_s = 0.01  # type: ignore[misc]
        es.throttle_items = 3
        assert sink.write(docs([1, 2, 3, 4], now)).written == 4
        es.fail_requests = 2  # whole requests refused: the client retries them
        assert sink.write(docs([5], now)).written == 1
        es.throttle_items = 1000
        with pytest.raises(RetryableError, match="429"):
            sink.write(docs([6], now))
        es.throttle_items = 0
    assert len(es.docs(f"{rt_id.lower()}_{day(now)}")) == 5


def test_es_expiry_and_new_fields(rt_id: str, es: FakeElasticsearch) -> None:
    conn = parse_dsn("es", "default", es.url)
    now = int(time.time() * 1000)
    with ElasticSink(es_config(rt_id, expires=3), SCHEMA, conn) as sink:
        sink.write(docs([1], now - 10 * DAY))
        sink.write(docs([2], now - 1 * DAY))
        assert sink.expire(now) == 1
    assert sorted(es.indices) == [f"{rt_id.lower()}_{day(now - DAY)}"]
    wider = [*SCHEMA, ("level", "int")]
    with ElasticSink(es_config(rt_id), wider, conn):
        pass
    assert es.indices[f"{rt_id.lower()}_{day(now - DAY)}"]["properties"]["level"] == {
        "type": "integer"
    }


def test_es_unreachable_is_retryable(rt_id: str) -> None:
    conn = parse_dsn("es", "default", "http://127.0.0.1:9")
    sink = ElasticSink(es_config(rt_id), SCHEMA, conn)
    sink.retry_backoff_s = 0.01  # type: ignore[misc]
    with pytest.raises(RetryableError):
        sink.open()
    sink.close()


def ch_config(rt_id: str, **kw: Any) -> ClickhouseStorageConfig:
    return ClickhouseStorageConfig(
        result_table_id=rt_id,
        cluster="default",
        expires=kw.pop("expires", 3),
        bk_biz_id=591,
        name="c",
        from_result_table_ids=[rt_id],
        **kw,
    )


def test_clickhouse_create_evolve_write_expire(rt_id: str, clickhouse_dsn: str) -> None:
    conn = parse_dsn("clickhouse", "default", clickhouse_dsn)
    schema = [("k", "string"), ("v", "double"), ("b", "boolean")]
    now = int(time.time() * 1000)
    sink = ClickhouseSink(ch_config(rt_id, order_by=["k"]), schema, conn)
    try:
        sink.open()
        t = pa.table(
            {
                "k": ["a", None, "c'\"\\"],
                "v": [1.5, 2.0, None],
                "b": [True, False, None],
                "dtEventTimeStamp": [now, now, now - 10 * DAY],
            }
        )
        result = sink.write(t)
        assert result.written == 2
        assert [(r.index, r.reason) for r in result.rejected] == [
            (1, "the sorting field k is null")
        ]
        wider = ClickhouseSink(ch_config(rt_id, order_by=["k"]), [*schema, ("n", "int")], conn)
        wider.open()
        wider.write(
            pa.table({"k": ["d"], "n": pa.array([7], pa.int32()), "dtEventTimeStamp": [now]})
        )
        wider.close()
        text = sink.query(f"SELECT k, v, b, n FROM default.`{rt_id}` ORDER BY k FORMAT JSONEachRow")
        assert [json.loads(line) for line in text.splitlines()] == [
            {"k": "a", "v": 1.5, "b": 1, "n": None},
            {"k": "c'\"\\", "v": None, "b": None, "n": None},
            {"k": "d", "v": None, "b": None, "n": 7},
        ]
        assert sink.expire(now) == 1
        assert sink.query(f"SELECT count() FROM default.`{rt_id}` FORMAT TSV").strip() == "2"
    finally:
        sink.query(f"DROP TABLE IF EXISTS default.`{rt_id}`")
        sink.close()


def test_clickhouse_unique_key_replacing_merge_tree(rt_id: str, clickhouse_dsn: str) -> None:
    conn = parse_dsn("clickhouse", "default", clickhouse_dsn)
    cfg = ch_config(rt_id, has_unique_key=True, primary_keys=["k"])
    sink = ClickhouseSink(cfg, [("k", "string"), ("v", "long")], conn)
    try:
        sink.open()
        now = int(time.time() * 1000)
        sink.write(pa.table({"k": ["a", "b"], "v": [1, 2], "dtEventTimeStamp": [now, now]}))
        sink.write(pa.table({"k": ["a"], "v": [3], "dtEventTimeStamp": [now]}))
        text = sink.query(f"SELECT k, v FROM default.`{rt_id}` FINAL ORDER BY k FORMAT TSV")
        assert text.splitlines() == ["a\t3", "b\t2"]
        engine = sink.query(
            f"SELECT engine FROM system.tables WHERE name = '{rt_id}' FORMAT TSV"
        ).strip()
        assert engine == "ReplacingMergeTree"
    finally:
        sink.query(f"DROP TABLE IF EXISTS default.`{rt_id}`")
        sink.close()
