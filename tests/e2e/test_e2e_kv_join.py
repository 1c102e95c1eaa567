"""The after-treat flow's stream-table join, on plain realtime nodes, through the runtime.

A ``redis_storage`` (``storage_type: join``) stores one branch's output; a ``redis_kv_source``
reads that table back, and a realtime node LEFT JOINs the stream with it (the log platform's
``modify_flow`` SQL). A key seen for the first time misses (``history_time`` falls back to
the event's own time); once stored, the same key hits and brings back the stored record.
"""

from __future__ import annotations

import secrets

import redis

from conftest import Server, wait_until
from servicecheck import require_service


def test_left_join_against_the_redis_join_table(server: Server) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    tag = secrets.token_hex(3)
    server.ok(
        "POST",
        "/v3/sluice/clusters/",
        {"cluster_type": "redis", "cluster_name": "kvjoin", "dsn": "redis://127.0.0.1:6379/0"},
    )
    src = server.make_table(
        591,
        f"sig_{tag}",
        [("signature", "string"), ("sensitivity", "string"), ("event_time", "long")],
    )
    grp, joined, tmp = f"591_grp_{tag}", f"591_joined_{tag}", f"591_tmp_{tag}"
    nodes = [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "src", "result_table_id": src, "from_nodes": []},
        {"id": 2, "node_type": "realtime", "bk_biz_id": 591, "name": "group_by", "table_name": f"grp_{tag}",
         "sql": f"select event_time, signature, sensitivity from {src}", "window_type": "none",
         "from_nodes": [{"id": 1, "from_result_table_ids": [src]}]},
        {"id": 3, "node_type": "realtime", "bk_biz_id": 591, "name": "format_signature", "table_name": f"joined_{tag}",
         "sql": f"select a.event_time, a.event_time as history_time, a.signature, a.sensitivity from {grp} a",
         "window_type": "none", "from_nodes": [{"id": 2, "from_result_table_ids": [grp]}]},
        {"id": 4, "node_type": "realtime", "bk_biz_id": 591, "name": "tmp", "table_name": f"tmp_{tag}",
         "sql": f"select event_time, signature, history_time, sensitivity from {joined}", "window_type": "none",
         "from_nodes": [{"id": 3, "from_result_table_ids": [joined]}]},
        {"id": 5, "node_type": "redis_storage", "bk_biz_id": 591, "name": "cache", "cluster": "kvjoin", "expires": -1,
         "expires_unit": "", "storage_type": "join", "keys": ["sensitivity", "signature"], "separator": ":",
         "key_separator": "_", "from_nodes": [{"id": 4, "from_result_table_ids": [tmp]}]},
    ]  # fmt: skip
    flow_id = server.create_flow(f"kvjoin_{tag}", nodes)
    kv = server.ok("POST", f"flows/{flow_id}/nodes/", {
        "node_type": "redis_kv_source", "from_links": [], "frontend_info": {"x": 1, "y": 2},
        "config": {"bk_biz_id": 591, "name": "join signature cache", "result_table_id": tmp, "from_result_table_ids": [tmp]},
    })  # fmt: skip
    ids = {
        n["node_name"]: n["node_id"] for n in server.ok("GET", f"flows/{flow_id}/graph/")["nodes"]
    }
    sql = (
        "select a.event_time, if(b.event_time is null, a.event_time, b.event_time) as history_time, "
        f"a.signature, a.sensitivity from {grp} a LEFT join {tmp} b "
        "on a.signature = b.signature and a.sensitivity = b.sensitivity"
    )
    server.ok("PUT", f"flows/{flow_id}/nodes/{ids['format_signature']}/", {
        "from_links": [{"source": {"node_id": ids["group_by"]}}, {"source": {"node_id": kv["node_id"]}}],
        "config": {"bk_biz_id": 591, "name": "format_signature", "table_name": f"joined_{tag}", "sql": sql,
                   "window_type": "none", "from_result_table_ids": [grp, tmp]},
    })  # fmt: skip
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        record = server.deploy(flow_id, "start", consuming_mode="from_head")
        assert record["status"] == "success", record["logs"]
        server.produce(src, [{"signature": "s1", "sensitivity": "dist_05", "event_time": 1000}])
        wait_until(
            lambda: client.get(f"{tmp}:dist_05_s1") is not None, what="s1 stored in the join table"
        )
        server.produce(
            src,
            [
                {"signature": "s1", "sensitivity": "dist_05", "event_time": 5000},
                {"signature": "s2", "sensitivity": "dist_05", "event_time": 6000},
            ],
        )
        wait_until(lambda: len(server.tail(joined)) == 3, what="three joined records")
        rows = sorted(
            (r["signature"], r["event_time"], r["history_time"]) for r in server.tail(joined)
        )
        # s1 first: a miss (history = its own time); s1 again: a hit (the stored 1000); s2: a miss
        assert rows == [("s1", 1000, 1000), ("s1", 5000, 1000), ("s2", 6000, 6000)]
        graph = {
            n["node_name"]: n["status"]
            for n in server.ok("GET", f"flows/{flow_id}/graph/")["nodes"]
        }
        assert set(graph.values()) == {"running"}
    finally:
        server.deploy(flow_id, "stop")
        for key in client.scan_iter(f"{tmp}:*"):
            client.delete(key)
        client.close()
