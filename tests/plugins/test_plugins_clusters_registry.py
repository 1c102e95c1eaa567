"""Cluster DSNs (parsing, masking, resolution order) and the node type -> sink registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.model.errors import NodeValidError, ParamsError
from sluice.model.nodes.storages.mysql import MysqlStorageConfig
from sluice.plugins.clusters import ClusterNotFoundError, ClusterRegistry, mask_dsn, parse_dsn
from sluice.plugins.registry import REFUSED, SINKS, create_sink, sink_class
from sluice.plugins.sinks.mysql import MysqlSink


def test_parse_and_mask() -> None:
    c = parse_dsn("mysql", "main", "mysql://app:s3cr%40t@db.local:3307/logs?ssl=1&password=x")
    assert (c.host, c.port, c.user, c.password, c.database) == (
        "db.local",
        3307,
        "app",
        "s3cr@t",
        "logs",
    )
    assert "s3cr" not in repr(c) and "s3cr" not in c.masked_dsn
    assert c.masked_dsn == "mysql://app:***@db.local:3307/logs?ssl=1&password=***"
    assert mask_dsn("redis://:pw@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert mask_dsn("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


@pytest.mark.parametrize(
    ("ctype", "dsn", "why"),
    [
        ("mysql", "postgresql://h/db", "starts with mysql"),
        ("redis", "redis:///0", "no host"),
        ("es", "http://h:notaport", "Port"),
        ("ignite", "http://h", "Unsupported cluster type"),
    ],
)
def test_bad_dsns_are_refused_with_the_password_masked(ctype: str, dsn: str, why: str) -> None:
    with pytest.raises(ParamsError) as info:
        parse_dsn(ctype, "x", dsn.replace("//", "//u:topsecret@") if "@" not in dsn else dsn)
    message = info.value.message("en")
    assert why.lower() in message.lower()
    assert "topsecret" not in message


def test_resolution_order_env_file_store_and_family(tmp_path: Path) -> None:
    path = tmp_path / "clusters.toml"
    path.write_text('[mysql]\ndefault = "mysql://root@file-host:3306/test"\n')
    asked: list[tuple[str, str]] = []

    def lookup(ctype: str, name: str) -> str | None:
        asked.append((ctype, name))
        return "redis://store-host:6379/2" if (ctype, name) == ("redis", "cache") else None

    env = {
        "SLUICE_CLUSTERS_FILE": str(path),
        "SLUICE_CLUSTER_MYSQL_OTHER_ONE": "mysql://env-host/x",
    }
    reg = ClusterRegistry.from_env(env, lookup=lookup)
    assert reg.resolve("mysql", "default").host == "file-host"
    assert reg.resolve("mysql", "other-one").host == "env-host"
    assert reg.resolve("tspider", "default").host == "file-host"  # tspider falls back to mysql
    assert reg.resolve("tredis", "cache").database == "2"  # tredis falls back to redis
    with pytest.raises(ClusterNotFoundError, match="SLUICE_CLUSTER_POSTGRESQL_NONE"):
        reg.resolve("postgresql", "none")
    assert sorted((t, n, s) for t, n, _, s in reg.static_entries()) == [
        ("mysql", "default", "file"),
        ("mysql", "other_one", "env"),
    ]


def test_bad_clusters_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"mysql": {"x": "redis://h"}}')
    with pytest.raises(ParamsError, match="mysql"):
        ClusterRegistry.from_env({"SLUICE_CLUSTERS_FILE": str(path)})


def test_registry_names_and_refusals() -> None:
    assert sorted(SINKS) == [
        "clickhouse_storage",
        "elastic_storage",
        "mysql_storage",
        "pgsql_storage",
        "redis_storage",
        "tredis_storage",
        "tspider_storage",
    ]
    assert sink_class("tspider_storage") is MysqlSink
    with pytest.raises(NodeValidError, match="ignite") as info:
        sink_class("ignite")
    assert info.value.message("en") == REFUSED["ignite"].get("en")
    with pytest.raises(NodeValidError, match="valid types: clickhouse_storage"):
        sink_class("hbase_storage")


def test_create_sink_resolves_the_cluster() -> None:
    reg = ClusterRegistry({"tspider": {"shard": "mysql://root@127.0.0.1:3306/test"}}, environ={})
    cfg = MysqlStorageConfig(
        result_table_id="591_x",
        cluster="shard",
        expires=-1,
        bk_biz_id=591,
        name="n",
        from_result_table_ids=["591_x"],
    )
    sink = create_sink("tspider_storage", cfg, [("a", "long")], reg)
    assert isinstance(sink, MysqlSink) and sink.connection.name == "shard"
    with pytest.raises(ClusterNotFoundError):
        create_sink("mysql_storage", cfg.model_copy(update={"cluster": "nope"}), [], reg)
