"""The log platform's online clustering flow (``bk-monitor/predict_flow.json``) runs end to end.

The template is rendered with ``tests/api/bklog_params.py`` (the successor's arguments:
``st_list`` 0.875 / ``max_dist_list`` 0.5, no predefined variables, whitespace delimiter,
depth 7). Its Elasticsearch storage becomes a ``queue_storage`` node (no Elasticsearch
here); everything else is as rendered: the filtering ``realtime`` node, the
``model_ts_custom`` node, and ``format_signature`` with ``udf_single_signature_format_java``.
"""

from __future__ import annotations

import json
from typing import Any

import bklog_params as P

from sluice.model.templates import render_template
from sluice.testing import InProcessServer, wait_until

SHAPES = (
    "error connection refused by upstream server while reading {n}",
    "error timeout after waiting for the lock on table {n}",
    "error disk quota exceeded for user {n} on volume data",
)


def rendered(source_rt: str) -> list[dict[str, Any]]:
    text = (P.TEMPLATES / "bk-monitor" / "predict_flow.json").read_text(encoding="utf-8")
    nodes: list[dict[str, Any]] = render_template(text, P.predict(source_rt))
    for i, node in enumerate(nodes):
        if node["node_type"] == "elastic_storage":
            nodes[i] = {
                "id": node["id"], "node_type": "queue_storage", "name": "clustered(queue)",
                "bk_biz_id": node["bk_biz_id"], "result_table_id": node["result_table_id"],
                "cluster": "default", "expires": 1, "from_nodes": node["from_nodes"],
            }  # fmt: skip
    return nodes


def test_online_predict_flow_clusters_and_flattens_signatures(server: InProcessServer) -> None:
    source_rt = server.make_table(P.BIZ, "bklog_demo_clean", P.source_fields)
    flow_id = server.create_flow("dev_2_7_online_flow", rendered(source_rt))
    records = [
        {"log": SHAPES[i % 3].replace("{n}", str(1000 + i)), "ip": f"10.0.0.{i % 5}",
         "serverIp": "10.1.1.1", "path": "/var/log/app.log", "gseIndex": i, "iterationIndex": 0}
        for i in range(90)
    ] + [{"log": "all good here", "ip": "10.0.0.9", "serverIp": "10.1.1.1", "path": "/x",
          "gseIndex": 99, "iterationIndex": 0}]  # fmt: skip
    server.produce(source_rt, records)
    assert server.deploy(flow_id, "start", consuming_mode="from_head")["status"] == "success"

    model_rt = f"{P.BIZ}_bklog_7_clustering_output"
    clustered_rt = f"{P.BIZ}_bklog_7_clustered"
    wait_until(lambda: len(server.tail(clustered_rt)) == 90, what="90 clustered records")
    model_rows = server.tail(model_rt)
    assert len(model_rows) == 90  # the filter keeps the lines with "error"
    assert {r["pattern"] for r in model_rows} == {
        "error connection refused by upstream server while reading #*#",
        "error timeout after waiting for the lock on table #*#",
        "error disk quota exceeded for user #*# on volume data",
    }
    by_log = {r["log"]: json.loads(r["log_signature"])["05"] for r in model_rows}
    assert len(set(by_log.values())) == 3
    clustered = server.tail(clustered_rt)
    assert {r["log"]: r["__dist_05"] for r in clustered} == by_log
    assert all(set(r) >= {"log", "ip", "__dist_05"} for r in clustered)
    assert server.deploy(flow_id, "stop")["status"] == "success"
