"""Redis sink (kv, join, list, publish) and the KV lookup, against Redis on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
import redis

from conftest import FaultProxy
from sluice.model.nodes.storages.redis import RedisStorageConfig
from sluice.plugins.base import RetryableError
from sluice.plugins.clusters import ClusterConnection, parse_dsn
from sluice.plugins.lookups.redis_kv import JoinTable, RedisKvLookup
from sluice.plugins.sinks.redis import RedisSink

SCHEMA = [("sensitivity", "string"), ("signature", "string"), ("event_time", "long")]


def config(rt_id: str, storage_type: str, **kw: Any) -> RedisStorageConfig:
    return RedisStorageConfig(
        result_table_id=rt_id,
        cluster="default",
        expires=kw.pop("expires", -1),
        bk_biz_id=591,
        name="r",
        from_result_table_ids=[rt_id],
        storage_type=storage_type,  # type: ignore[arg-type]
        **kw,
    )


def rows(sens: list[str | None], sigs: list[str], times: list[int]) -> pa.Table:
    return pa.table(
        {
            "sensitivity": pa.array(sens, pa.string()),
            "signature": pa.array(sigs, pa.string()),
            "event_time": pa.array(times, pa.int64()),
        }
    )


@pytest.fixture
def r() -> Any:
    client = redis.Redis()
    yield client
    client.close()


def test_join_table_layout_ttl_and_null_keys(
    rt_id: str, redis_conn: ClusterConnection, r: Any
) -> None:
    cfg = config(
        rt_id,
        "join",
        keys=["sensitivity", "signature"],
        separator=":",
        key_separator="_",
        expires=2,
    )
    with RedisSink(cfg, SCHEMA, redis_conn) as sink:
        result = sink.write(rows(["d5", None, "d5"], ["s1", "s2", 's"3'], [1, 2, 3]))
    assert result.written == 2
    assert [(x.index, "null" in x.reason) for x in result.rejected] == [(1, True)]
    assert json.loads(r.get(f"{rt_id}:d5_s1")) == {
        "sensitivity": "d5",
        "signature": "s1",
        "event_time": 1,
    }
    assert json.loads(r.get(f'{rt_id}:d5_s"3'))["event_time"] == 3
    assert 2 * 86400 - 10 < r.ttl(f"{rt_id}:d5_s1") <= 2 * 86400


def test_kv_values_prefix_and_setnx(rt_id: str, redis_conn: ClusterConnection, r: Any) -> None:
    prefix = f"kv_{rt_id}:"
    plain = config(
        rt_id,
        "kv",
        keys=["signature"],
        values=["sensitivity", "event_time"],
        separator="|",
        key_prefix=prefix,
    )
    with RedisSink(plain, SCHEMA, redis_conn) as sink:
        sink.write(rows(["a", "b"], ["s1", "s2"], [1, 2]))
        sink.write(rows(["c"], ["s1"], [3]))
    assert r.get(prefix + "s1") == b"c|3"
    assert r.get(prefix + "s2") == b"b|2"
    assert r.ttl(prefix + "s1") == -1  # expires -1 keeps keys forever
    nx = config(
        rt_id, "kv", keys=["signature"], values=["sensitivity"], key_prefix=prefix, setnx=True
    )
    with RedisSink(nx, SCHEMA, redis_conn) as sink:
        sink.write(rows(["z", "z"], ["s1", "s9"], [0, 0]))
    assert r.get(prefix + "s1") == b"c|3"  # kept: it existed
    assert r.get(prefix + "s9") == b"z"


def test_list_and_publish(rt_id: str, redis_conn: ClusterConnection, r: Any) -> None:
    with RedisSink(config(rt_id, "list", expires=1), SCHEMA, redis_conn) as sink:
        sink.write(rows(["a", "b"], ["s1", "s2"], [1, 2]))
        sink.write(rows(["c"], ["s3"], [3]))
    assert [json.loads(v)["signature"] for v in r.lrange(rt_id, 0, -1)] == ["s1", "s2", "s3"]
    assert 0 < r.ttl(rt_id) <= 86400
    pubsub = r.pubsub()
    pubsub.subscribe(rt_id)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    with RedisSink(config(rt_id, "publish"), SCHEMA, redis_conn) as sink:
        assert sink.write(rows(["a", "b"], ["s1", "s2"], [1, 2])).written == 2
    got = [pubsub.get_message(timeout=2) for _ in range(2)]
    assert [json.loads(m["data"])["signature"] for m in got] == ["s1", "s2"]
    pubsub.close()


def test_many_records_in_chunks(rt_id: str, redis_conn: ClusterConnection, r: Any) -> None:
    n = 45_000  # three EVAL chunks
    cfg = config(rt_id, "join", keys=["signature"])
    with RedisSink(cfg, SCHEMA, redis_conn) as sink:
        t = rows(["x"] * n, [f"s{i}" for i in range(n)], list(range(n)))
        assert sink.write(t).written == n
    assert sum(1 for _ in r.scan_iter(f"{rt_id}:*", count=10_000)) == n
    assert json.loads(r.get(f"{rt_id}:s44999"))["event_time"] == 44999


def test_connection_cut_is_retryable_and_rewrites(
    rt_id: str, redis_conn: ClusterConnection, r: Any, proxy_for: Any
) -> None:
    proxy: FaultProxy = proxy_for(6379)
    via = parse_dsn("redis", "p", f"redis://127.0.0.1:{proxy.port}/0")
    cfg = config(rt_id, "join", keys=["signature"])
    sink = RedisSink(cfg, SCHEMA, via)
    sink.open()
    sink.write(rows(["a"], ["s1"], [1]))
    proxy.down()
    with pytest.raises(RetryableError):
        sink.write(rows(["a"], ["s2"], [2]))
    proxy.up()
    sink.write(rows(["a"], ["s2"], [2]))  # the runtime's retry of the same batch
    sink.close()
    assert sorted(r.scan_iter(f"{rt_id}:*")) == [f"{rt_id}:s1".encode(), f"{rt_id}:s2".encode()]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lookup_left_join_semantics_and_cache(rt_id: str, redis_conn: ClusterConnection) -> None:
    cfg = config(rt_id, "join", keys=["sensitivity", "signature"], separator=":", key_separator="_")
    sink = RedisSink(cfg, SCHEMA, redis_conn)
    sink.open()
    sink.write(rows(["d5", "d5"], ["s1", "s2"], [100, 200]))
    clock = Clock()
    lookup = RedisKvLookup(
        JoinTable.from_storage(cfg, SCHEMA), redis_conn, cache_size=3, cache_ttl_s=10, clock=clock
    )
    lookup.open()
    stream = {
        "sensitivity": pa.array(["d5", "d5", "d5", None, "d5"]),
        "signature": pa.array(["s1", "s404", "s2", "s1", "s1"]),
    }
    out = lookup.lookup(stream)
    assert out.column("event_time").to_pylist() == [
        100,
        None,
        200,
        None,
        100,
    ]  # hit, miss, null key
    assert out.schema.field("event_time").type == pa.int64()
    assert lookup.stats.round_trips == 1 and lookup.stats.fetched == 3  # distinct keys, one MGET

    # the key is updated (and the missing key written) between batches
    sink.write(rows(["d5", "d5"], ["s1", "s404"], [111, 404]))
    clock.now = 5  # within the TTL: cached hits answer; the miss was not cached, so the
    # newly written key is fetched (one round trip for it alone) and found at once
    again = lookup.lookup(stream)
    assert again.column("event_time").to_pylist() == [100, 404, 200, None, 100]
    assert lookup.stats.round_trips == 2 and lookup.stats.hits == 2
    assert lookup.stats.fetched == 4
    clock.now = 11  # expired: fetched again, the update of s1 is seen
    fresh = lookup.lookup(stream)
    assert fresh.column("event_time").to_pylist() == [111, 404, 200, None, 111]
    assert lookup.stats.round_trips == 3

    # bounded: never more than cache_size entries, the least recently used go first
    sink.write(rows(["d5"] * 4, ["a", "b", "c", "d"], [1, 2, 3, 4]))
    lookup.lookup(
        {"sensitivity": pa.array(["d5"] * 4), "signature": pa.array(["a", "b", "c", "d"])}
    )
    assert len(lookup) == 3 and lookup.stats.evictions >= 4
    lookup.close()
    sink.close()


def test_lookup_with_typed_keys_and_bad_json(
    rt_id: str, redis_conn: ClusterConnection, r: Any
) -> None:
    schema = [("id", "long"), ("name", "string")]
    cfg = config(rt_id, "join", keys=["id"])
    with RedisSink(cfg, schema, redis_conn) as sink:
        sink.write(pa.table({"id": pa.array([7, 8], pa.int64()), "name": ["seven", "eight"]}))
    r.set(f"{rt_id}:9", b"not json")
    lookup = RedisKvLookup(JoinTable.from_storage(cfg, schema), redis_conn, cache_ttl_s=0)
    out = lookup.lookup([pa.array([8, 9, 7, 1], pa.int64())])
    assert out.column("name").to_pylist() == ["eight", None, "seven", None]
    assert lookup.lookup([pa.array([], pa.int64())]).num_rows == 0
    lookup.close()


def test_lookup_connection_loss_is_retryable(
    rt_id: str, redis_conn: ClusterConnection, proxy_for: Any
) -> None:
    cfg = config(rt_id, "join", keys=["signature"])
    with RedisSink(cfg, SCHEMA, redis_conn) as sink:
        sink.write(rows(["a"], ["s1"], [1]))
    proxy: FaultProxy = proxy_for(6379)
    via = parse_dsn("redis", "p", f"redis://127.0.0.1:{proxy.port}/0")
    lookup = RedisKvLookup(JoinTable.from_storage(cfg, SCHEMA), via, cache_ttl_s=0)
    lookup.open()
    proxy.down()
    with pytest.raises(RetryableError):
        lookup.lookup([pa.array(["s1"])])
    proxy.up()
    assert lookup.lookup([pa.array(["s1"])]).column("event_time").to_pylist() == [1]
    lookup.close()
