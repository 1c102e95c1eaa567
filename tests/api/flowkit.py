"""Builders of small flows for the API tests."""

from __future__ import annotations

from typing import Any

from conftest import Api

__all__ = ["SOURCE_FIELDS", "basic_flow", "realtime", "source", "storage"]

SOURCE_FIELDS = [("ip", "string"), ("status", "int"), ("log", "string")]


def source(node_id: int, rt: str, biz: int = 591) -> dict[str, Any]:
    return {
        "id": node_id,
        "node_type": "stream_source",
        "bk_biz_id": biz,
        "name": rt,
        "result_table_id": rt,
        "from_nodes": [],
    }


def realtime(
    node_id: int, parent: int, parent_rt: str, table: str, sql: str | None = None, biz: int = 591
) -> dict[str, Any]:
    return {
        "id": node_id,
        "node_type": "realtime",
        "bk_biz_id": biz,
        "name": table,
        "table_name": table,
        "sql": sql or f"select ip, status from {parent_rt}",
        "window_type": "none",
        "from_nodes": [{"id": parent, "from_result_table_ids": [parent_rt]}],
    }


def storage(
    node_id: int, parent: int, rt: str, node_type: str = "hdfs_storage", biz: int = 591
) -> dict[str, Any]:
    return {
        "id": node_id,
        "node_type": node_type,
        "bk_biz_id": biz,
        "name": f"{rt}({node_type})",
        "cluster": "default",
        "expires": 3,
        "from_nodes": [{"id": parent, "from_result_table_ids": [rt]}],
    }


def basic_flow(api: Api, name: str = "f1", table: str = "clean") -> dict[str, Any]:
    """source(591_src) -> realtime(591_<table>) -> hdfs_storage; returns ids and table names."""
    src = "591_src"
    if api.call("GET", f"/v3/sluice/result_tables/{src}/")["result"] is False:
        api.make_table(591, "src", SOURCE_FIELDS)
    out = f"591_{table}"
    created = api.ok(
        "POST",
        "flows/create/",
        {
            "bk_username": "alice",
            "project_id": 1,
            "flow_name": name,
            "nodes": [source(1, src), realtime(2, 1, src, table), storage(3, 2, out)],
        },
    )
    ids = created["node_ids"]
    return {
        "flow_id": created["flow_id"],
        "source": ids[0],
        "realtime": ids[1],
        "storage": ids[2],
        "src": src,
        "out": out,
    }
