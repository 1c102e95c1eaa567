"""Replays the log platform's DataFlow calls (bklog-dataflow-client.md) against a real server.

Each step sends what bk-log / bk-monitor send, through their gateway prefixes, and checks
every response field the client reads.
"""

from __future__ import annotations

from typing import Any

import bklog_params as P
import httpx

from conftest import Api
from sluice.model.templates import render_template

BKLOG = "/api/c/compapi/data/v3/dataflow/flow"
BKMONITOR = "/api/bk-base/prod/v3/dataflow/flow"
AUTH = {
    "bk_username": "admin",
    "bk_app_code": "bk_log_search",
    "bk_app_secret": "s3cret",
    "bkdata_authentication_method": "user",
}


def render(name: str, params: dict[str, Any]) -> Any:
    return render_template((P.TEMPLATES / name).read_text(encoding="utf-8"), params)


def graph_index(graph: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    for node in graph["nodes"]:
        for key in (
            "node_id",
            "node_type",
            "node_name",
            "flow_id",
            "result_table_ids",
            "node_config",
            "status",
        ):
            assert key in node, (key, node)
    return {
        (n["result_table_ids"][0], n["node_type"]): n
        for n in graph["nodes"]
        if n["result_table_ids"]
    }


def canonical_export(export: dict[str, Any]) -> list[dict[str, Any]]:
    """The exported nodes with ids replaced by their position, for comparing two exports."""
    position = {node["id"]: index for index, node in enumerate(export["nodes"])}
    result = []
    for node in export["nodes"]:
        node = dict(node)
        node["id"] = position[node["id"]]
        node["from_nodes"] = [
            {"id": position[f["id"]], "from_result_table_ids": f["from_result_table_ids"]}
            for f in node["from_nodes"]
        ]
        result.append(node)
    return result


def export_reimport_identical(api: Api, flow_id: int) -> None:
    exported = api.ok("GET", f"flows/{flow_id}/export/")
    assert set(exported) == {"project_id", "flow_name", "nodes"}
    reimported = api.ok("POST", f"flows/{flow_id}/create/", {**AUTH, "nodes": exported["nodes"]})
    assert reimported["flow_id"] == str(flow_id)
    assert len(reimported["node_ids"]) == len(exported["nodes"])
    again = api.ok("GET", f"flows/{flow_id}/export/")
    assert canonical_export(again) == canonical_export(exported)


def test_bklog_and_bkmonitor_clustering_flows(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as http:
        log_api = Api(http, BKLOG)
        source_rt = log_api.make_table(P.BIZ, "bklog_demo_clean", P.source_fields)

        # --- pre-treat flow (bk-log step A) -----------------------------------------------
        pre_nodes = render("pre_treat_flow.json", P.pre_treat(source_rt))
        name = f"dev_7_pre_treat_flow_{P.TS}"
        created = log_api.ok(
            "POST",
            "flows/create/",
            {**AUTH, "nodes": pre_nodes, "flow_name": name, "project_id": 9},
        )
        pre_id = created["flow_id"]
        assert isinstance(pre_id, int) and len(created["node_ids"]) == 5
        assert log_api.ok("GET", f"flows/{pre_id}/latest_deploy_data/", params=AUTH) is None

        graph = log_api.ok("GET", f"flows/{pre_id}/graph/", params=AUTH)
        assert graph["version"].startswith("V")
        assert len(graph["links"]) == 4
        nodes = graph_index(graph)
        assert all(n["status"] == "no-start" for n in graph["nodes"]), graph["nodes"]
        sample = nodes[(f"{P.BIZ}_pre_treat_sample_set_{P.TS}", "realtime")]
        assert sample["node_config"]["table_name"] == f"pre_treat_sample_set_{P.TS}"
        assert "LIKE '%error%'" in sample["node_config"]["sql"]

        # update_filter_rules: PATCH the sql (split on "where") and read nothing but success
        new_sql = (
            sample["node_config"]["sql"].split("where")[0]
            + " where `log` is not null and length(`log`) > 1"
        )
        patched = log_api.ok(
            "PATCH",
            f"flows/{pre_id}/nodes/{sample['node_id']}/",
            {**AUTH, "flow_id": pre_id, "node_id": sample["node_id"], "sql": new_sql},
        )
        assert patched["sql"] == new_sql
        assert patched["from_nodes"] == [
            {
                "id": nodes[(source_rt, "stream_source")]["node_id"],
                "from_result_table_ids": [source_rt],
            }
        ]
        assert (
            log_api.ok("GET", f"flows/{pre_id}/nodes/{sample['node_id']}/")["node_config"]["sql"]
            == new_sql
        )
        export_reimport_identical(log_api, pre_id)

        # --- after-treat flows (bk-log step B), collector and BKBase variants ------------------
        sample_rt = f"{P.BIZ}_pre_treat_sample_set_{P.TS}"
        not_clustering_rt = f"{P.BIZ}_pre_treat_not_clustering_{P.TS}"
        for template, bkdata in (
            ("after_treat_flow.json", False),
            ("after_treat_flow_bkdata.json", True),
        ):
            params = P.after_treat(sample_rt, not_clustering_rt, bkdata=bkdata)
            if bkdata:  # a second flow needs its own table names
                for value in params["after_treat"].values():
                    if isinstance(value, dict) and "table_name" in value:
                        value["table_name"] += "b"
                        value["result_table_id"] += "b"
            after_nodes = render(template, params)
            flow = log_api.ok(
                "POST",
                "flows/create/",
                {
                    **AUTH,
                    "nodes": after_nodes,
                    "flow_name": f"dev_7_after_treat_flow_{bkdata}",
                    "project_id": 9,
                },
            )
            flow_id = flow["flow_id"]
            tmp_rt = params["after_treat"]["join_signature_tmp"]["result_table_id"]
            added = log_api.ok(
                "POST",
                f"flows/{flow_id}/nodes/",
                {
                    **AUTH,
                    "flow_id": flow_id,
                    "result_table_id": tmp_rt,
                    "from_links": [],
                    "node_type": "redis_kv_source",
                    "frontend_info": {"x": 1247.0, "y": 426.0},
                    "config": {
                        "bk_biz_id": P.BIZ,
                        "from_result_table_ids": [tmp_rt],
                        "name": "join signature缓存",
                        "result_table_id": tmp_rt,
                    },
                },
            )
            assert isinstance(added["node_id"], int) and added["flow_id"] == flow_id
            nodes = graph_index(log_api.ok("GET", f"flows/{flow_id}/graph/"))
            group_by = nodes[(params["after_treat"]["group_by"]["result_table_id"], "realtime")]
            redis = nodes[(tmp_rt, "redis_kv_source")]
            join = nodes[(params["after_treat"]["join_signature"]["result_table_id"], "realtime")]
            assert (
                group_by["node_config"]["window_type"] == "scroll"
                and group_by["node_config"]["count_freq"] == 300
            )

            modify = render("modify_flow.json", P.modify_flow(flow_id, join, group_by, redis))
            put = log_api.ok("PUT", f"flows/{flow_id}/nodes/{join['node_id']}/", {**AUTH, **modify})
            assert put["flow_id"] == flow_id and put["node_id"] == join["node_id"]
            assert "LEFT join" in put["node_config"]["sql"]
            join_rt = log_api.ok("GET", f"/v3/sluice/result_tables/{put['result_table_ids'][0]}/")
            assert [(f["field_name"], f["field_type"]) for f in join_rt["fields"]] == [
                ("event_time", "long"),
                ("history_time", "long"),
                ("signature", "string"),
                ("sensitivity", "string"),
            ]
            assert put["node_config"]["from_result_table_ids"] == [
                group_by["result_table_ids"][0],
                tmp_rt,
            ]
            graph = log_api.ok("GET", f"flows/{flow_id}/graph/")
            parents = sorted(
                link["from_node_id"]
                for link in graph["links"]
                if link["to_node_id"] == join["node_id"]
            )
            assert parents == sorted([group_by["node_id"], redis["node_id"]])
            assert {n["node_id"]: n["status"] for n in graph["nodes"]}[
                join["node_id"]
            ] == "no-start"

            # update_flow: PATCH the model's configs, every realtime sql but format_signature, ES fields
            for node in graph["nodes"]:
                if node["node_type"] == "model_ts_custom":
                    body = {
                        "input_config": node["node_config"]["input_config"],
                        "output_config": {"output_node": {"table_name": "x"}},
                    }
                    assert (
                        log_api.ok(
                            "PATCH", f"flows/{flow_id}/nodes/{node['node_id']}/", {**AUTH, **body}
                        )["output_config"]
                        == body["output_config"]
                    )
                elif node["node_type"] == "realtime" and node["node_name"] != "format_signature":
                    sql = node["node_config"]["sql"] + " "
                    assert (
                        log_api.ok(
                            "PATCH",
                            f"flows/{flow_id}/nodes/{node['node_id']}/",
                            {**AUTH, "sql": sql},
                        )["sql"]
                        == sql
                    )
                elif node["node_type"] == "elastic_storage":
                    body = {
                        "analyzed_fields": ["log"],
                        "date_fields": [],
                        "doc_values_fields": ["__dist_05"],
                        "json_fields": [],
                    }
                    result = log_api.ok(
                        "PATCH", f"flows/{flow_id}/nodes/{node['node_id']}/", {**AUTH, **body}
                    )
                    assert result["doc_values_fields"] == ["__dist_05"]
            export_reimport_identical(log_api, flow_id)

        # --- bk-monitor online flows ----------------------------------------------------------
        mon_api = Api(http, BKMONITOR)
        for template, params, name in (
            ("bk-monitor/predict_flow.json", P.predict(source_rt), "dev_2_7_online_flow"),
            (
                "bk-monitor/log_count_aggregation_flow.json",
                P.log_count_aggregation(f"{P.BIZ}_bklog_7_clustering_output"),
                "dev_2_7_agg_flow",
            ),
        ):
            flow = mon_api.ok(
                "POST",
                "flows/create/",
                {
                    **AUTH,
                    "bk_biz_id": P.BIZ,
                    "nodes": render(template, params),
                    "flow_name": name,
                    "project_id": 11,
                },
            )
            detail = mon_api.ok("GET", f"flows/{flow['flow_id']}/", params=AUTH)
            assert (
                detail["status"] == "no-start"
                and detail["flow_name"] == name
                and detail["project_id"] == 11
            )
            for key in ("flow_id", "created_at", "updated_at"):
                assert detail[key]
            graph = mon_api.ok("GET", f"flows/{flow['flow_id']}/graph/")
            assert len(graph["nodes"]) == len(flow["node_ids"])
            export_reimport_identical(mon_api, flow["flow_id"])
