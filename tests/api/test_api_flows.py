"""Flow CRUD, list filters, pagination, versions and the envelope."""

from __future__ import annotations

import re

from flowkit import basic_flow

from conftest import Api


def test_create_retrieve_patch_delete(api: Api) -> None:
    flow = api.ok("POST", "flows/", {"project_id": 3, "flow_name": "alpha", "bk_username": "bob"})
    assert flow["status"] == "no-start" and flow["created_by"] == "bob" and flow["is_locked"] == 0
    assert flow["latest_version"] is None and flow["tdw_conf"] == "{}" and flow["active"] is True
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", flow["created_at"])
    got = api.ok("GET", f"flows/{flow['flow_id']}/", params={"add_exception_info": 1})
    assert got["custom_calculate"] == {"status": "none", "config": {}, "message": ""}
    assert got["has_exception"] is False
    patched = api.ok(
        "PATCH", f"flows/{flow['flow_id']}/", {"flow_name": "beta", "description": "d"}
    )
    assert (patched["flow_name"], patched["description"], patched["project_id"]) == ("beta", "d", 3)
    assert api.ok("DELETE", f"flows/{flow['flow_id']}/") is None
    api.fail("GET", f"flows/{flow['flow_id']}/", code="1500404")


def test_duplicate_name_in_project(api: Api) -> None:
    api.ok("POST", "flows/", {"project_id": 1, "flow_name": "same"})
    error = api.fail("POST", "flows/", {"project_id": 1, "flow_name": "same"}, code="1500400")
    assert error["message"] == "项目底下存在同名任务"
    error = api.fail(
        "POST", "flows/", {"project_id": 1, "flow_name": "same"}, code="1500400", lang="en"
    )
    assert error["message"] == "A flow with the same name exists in the project"
    api.ok("POST", "flows/", {"project_id": 2, "flow_name": "same"})


def test_list_filters_search_ordering_pagination(api: Api) -> None:
    for i in range(5):
        api.ok(
            "POST",
            "flows/",
            {
                "project_id": 1 + i % 2,
                "flow_name": f"flow-{i}",
                "bk_username": "carol" if i == 4 else "dave",
            },
        )
    assert len(api.ok("GET", "flows/")) == 5
    assert {f["flow_name"] for f in api.ok("GET", "flows/", params={"project_id": 1})} == {
        "flow-0",
        "flow-2",
        "flow-4",
    }
    both = api.ok("GET", "flows/", params=[("project_id", "1"), ("project_id", "2")])
    assert len(both) == 5
    assert [f["flow_name"] for f in api.ok("GET", "flows/", params={"search": "carol"})] == [
        "flow-4"
    ]
    assert [
        f["flow_name"] for f in api.ok("GET", "flows/", params={"flow_name__startswith": "flow-3"})
    ] == ["flow-3"]
    ordered = api.ok("GET", "flows/", params={"ordering": "-flow_id"})
    assert [f["flow_id"] for f in ordered] == sorted((f["flow_id"] for f in ordered), reverse=True)
    page = api.ok("GET", "flows/", params={"page": 2, "page_size": 2, "ordering": "flow_id"})
    assert page["count"] == 5 and [f["flow_name"] for f in page["results"]] == ["flow-2", "flow-3"]
    counted = api.ok(
        "GET",
        "flows/",
        params={"add_node_count_info": 1, "add_process_status_info": 1, "project_id": 2},
    )
    assert all(f["node_count"] == 0 and f["process_status"] == "no-status" for f in counted)
    api.fail("GET", "flows/", params={"project_id": "x"}, code="1500001")
    api.fail("GET", "flows/", params={"page_size": "0"}, code="1500001")


def test_list_by_result_table_and_lookups(api: Api) -> None:
    flow = basic_flow(api)
    assert [
        f["flow_id"] for f in api.ok("GET", "flows/", params={"result_table_id": flow["out"]})
    ] == [flow["flow_id"]]
    assert api.ok("GET", "flows/", params={"result_table_id": flow["src"]}) == []
    rela = api.ok("GET", "flows/list_rela_by_rtid/", params={"result_table_id": flow["out"]})
    assert rela[0]["flow_id"] == flow["flow_id"] and {
        n["node_id"] for n in rela[0]["related_nodes"]
    } == {flow["realtime"], flow["storage"]}
    info = api.ok("GET", "flows/list_flow_monitor_info/", params={"result_table_id": flow["src"]})
    assert info[flow["src"]][0]["is_source"] is True
    counts = api.ok("GET", "flows/projects/count/", params={"project_id": 1})
    assert counts == [
        {
            "project_id": 1,
            "count": 1,
            "running_count": 0,
            "no_start_count": 1,
            "normal_count": 0,
            "exception_count": 0,
        }
    ]
    assert (
        api.ok("GET", "flows/latest_flows/", params={"project_id": 1})[0]["has_exception"] is False
    )
    calc = api.ok("GET", "nodes/calculate_nodes/", params={"result_table_id": flow["out"]})
    assert [n["node_id"] for n in calc] == [flow["realtime"]]
    stores = api.ok("GET", "nodes/storage_nodes/", params={"result_table_id": flow["out"]})
    assert stores[0]["storage_type"] == "hdfs" and stores[0]["flow_name"] == "f1"
    procs = api.ok("GET", "nodes/processing_nodes/", params={"result_table_id": flow["out"]})
    assert procs[0]["related_flow"] == {"status": "no-start", "flow_name": "f1", "project_id": 1}


def test_versions_change_with_nodes(api: Api) -> None:
    flow = basic_flow(api)
    versions = api.ok("GET", f"flows/{flow['flow_id']}/versions/")
    assert len(versions) == 3
    assert all(re.match(r"^V\d{14}#[A-Za-z0-9_-]{20}$", v["version"]) for v in versions)
    graph = api.ok("GET", f"flows/{flow['flow_id']}/graph/")
    assert graph["version"] == versions[0]["version"]
    draft = api.ok("GET", f"flows/{flow['flow_id']}/versions/draft/")
    assert draft["version"] == graph["version"] and len(draft["lines"]) == 2
    assert draft["locations"][0]["node_config"] == {
        "fixed_delay": 0,
        "count_freq": 0,
        "schedule_period": "hour",
    }
    assert (
        api.ok("GET", f"flows/{flow['flow_id']}/versions/anything/graph/")["version"]
        == graph["version"]
    )


def test_multi_destroy(api: Api) -> None:
    a = api.ok("POST", "flows/", {"project_id": 1, "flow_name": "a"})["flow_id"]
    result = api.ok("DELETE", "flows/multi_destroy/", {"flow_ids": [a, 99999]})
    assert result["success_flows"] == {str(a): "ok"} and list(result["fail_flows"]) == ["99999"]


def test_gateway_prefixes_and_plain_root(api: Api) -> None:
    flow_id = api.ok("POST", "flows/", {"project_id": 1, "flow_name": "gw"})["flow_id"]
    for prefix in ("/api/c/compapi/data/v3/dataflow/flow", "/api/bk-base/prod/v3/dataflow/flow"):
        assert Api(api.client, prefix).ok("GET", f"flows/{flow_id}/")["flow_name"] == "gw"
    assert api.client.get("/v3/dataflow/flow/").text == "Hello DataFlow.Flow!"


def test_meta_endpoints(api: Api) -> None:
    palette = api.ok("GET", "node_type_config_v2/", lang="en")
    names = {i["node_type_instance_name"] for g in palette for i in g["instances"]}
    assert {"stream_source", "realtime", "redis_kv_source", "tredis_storage", "ignite"} <= names
    rules = api.ok("GET", "node_link_rules_v2/")
    assert rules["node_rules"]["stream_source"]["stream"]["default"]["upstream_link_limit"] == [
        1,
        2,
    ]
    assert "split" not in rules["node_rules"]
    assert {f["field_type"] for f in api.ok("GET", "field_type_configs/")} >= {
        "int",
        "long",
        "string",
        "double",
    }
    assert {"1500006", "1500024", "1500032"} <= {c["code"] for c in api.ok("GET", "errorcodes/")}
    assert api.ok("GET", "healthz/")["store"]["status"] is True
