"""Error paths of node and import operations: each with BKData's code and message."""

from __future__ import annotations

from flowkit import SOURCE_FIELDS, basic_flow, realtime, source, storage

from conftest import Api
from sluice.store import locks


def test_unknown_node_type(api: Api) -> None:
    flow = basic_flow(api)
    zh = api.fail(
        "POST",
        f"flows/{flow['flow_id']}/nodes/",
        {"node_type": "offline", "from_links": [], "config": {}},
        code="1500004",
    )
    assert zh["message"].startswith("非法操作(node_type=offline)，目前仅支持节点类型(stream_source")
    en = api.fail(
        "POST",
        f"flows/{flow['flow_id']}/nodes/",
        {"node_type": "tdw_source", "from_links": [], "config": {}},
        code="1500004",
        lang="en",
    )
    assert (
        "Illegal operation (node_type=tdw_source)" in en["message"]
        and "redis_kv_source" in en["message"]
    )
    api.make_table(591, "other", SOURCE_FIELDS)
    create = {
        "project_id": 1,
        "flow_name": "x",
        "nodes": [{**source(1, "591_other"), "node_type": "druid_magic"}],
    }
    api.fail("POST", "flows/create/", create, code="1500004")


def test_bad_table_name_both_languages(api: Api) -> None:
    flow = basic_flow(api)
    body = {
        "node_type": "realtime",
        "from_links": [
            {
                "source": {"node_id": flow["source"], "id": "ch_1", "arrow": "Right"},
                "target": {"id": "ch_2", "arrow": "Left"},
            }
        ],
        "config": {
            "bk_biz_id": 591,
            "name": "bad",
            "table_name": "bad__name",
            "sql": "select ip from 591_src",
            "from_result_table_ids": ["591_src"],
        },
        "frontend_info": {"x": 1, "y": 2},
    }
    zh = api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500001")
    assert (
        zh["message"]
        == "数据输出，由英文字母、下划线或数字组成，且以字母开头，不支持连续下划线或以下划线结尾"
    )
    en = api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500001", lang="en")
    assert en["message"].startswith("Table name, Consists of letters")


def test_missing_fields(api: Api) -> None:
    flow = basic_flow(api)
    body = {
        "node_type": "realtime",
        "from_links": [{"source": {"node_id": flow["source"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "n",
            "table_name": "ok_name",
            "from_result_table_ids": ["591_src"],
        },
    }
    assert (
        api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500001")["message"]
        == "SQL，该字段是必填项。"
    )
    body["config"].update(sql="select 1", window_type="scroll")
    assert (
        api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500001", lang="en")[
            "message"
        ]
        == "Count frequency, this field is required."
    )
    missing = api.fail(
        "POST",
        "flows/create/",
        {
            "project_id": 1,
            "flow_name": "y",
            "nodes": [{"id": 1, "from_nodes": [], "node_type": "stream_source", "name": "s"}],
        },
        code="1500001",
    )
    assert missing["message"].startswith("参数校验失败") and "bk_biz_id" in str(missing["errors"])
    api.fail(
        "POST", f"flows/{flow['flow_id']}/nodes/", {"from_links": [], "config": {}}, code="1500001"
    )


def test_link_rule_violations(api: Api) -> None:
    flow = basic_flow(api)
    fid = flow["flow_id"]
    # a second storage of the same type under one parent breaks the 1:1 rule
    second = {
        "node_type": "hdfs_storage",
        "from_links": [{"source": {"node_id": flow["realtime"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "again",
            "result_table_id": flow["out"],
            "cluster": "c",
            "expires": 1,
        },
    }
    error = api.fail("POST", f"flows/{fid}/nodes/", second, code="1500032")
    assert error["message"] == "上游实时计算仅支持连接至多1个下游HDFS存储节点"
    # storage -> realtime is not an allowed link
    bad = {
        "node_type": "realtime",
        "from_links": [{"source": {"node_id": flow["storage"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "n",
            "table_name": "t2",
            "sql": f"select ip from {flow['out']}",
            "from_result_table_ids": [flow["out"]],
        },
    }
    assert (
        api.fail("POST", f"flows/{fid}/nodes/", bad, code="1500032", lang="en")["message"]
        == "No node can be linked downstream of HDFS storage"
    )
    # three stream parents for one realtime node
    api.make_table(591, "two", SOURCE_FIELDS)
    api.make_table(591, "three", SOURCE_FIELDS)
    nodes = [source(1, "591_src"), source(2, "591_two"), source(3, "591_three")]
    joined = {
        "id": 4,
        "node_type": "realtime",
        "bk_biz_id": 591,
        "name": "j",
        "table_name": "joined",
        "sql": "select 1 as x from 591_src",
        "from_nodes": [
            {"id": i, "from_result_table_ids": [rt]}
            for i, rt in ((1, "591_src"), (2, "591_two"), (3, "591_three"))
        ],
    }
    error = api.fail(
        "POST",
        "flows/create/",
        {"project_id": 1, "flow_name": "3p", "nodes": [*nodes, joined]},
        code="1500021",
    )
    assert "下游实时计算仅支持连接至多2个上游实时数据源节点" in error["message"]


def test_inputs_must_match_links(api: Api) -> None:
    flow = basic_flow(api)
    api.make_table(591, "unlinked", SOURCE_FIELDS)
    body = {
        "node_type": "realtime",
        "from_links": [{"source": {"node_id": flow["source"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "n",
            "table_name": "t3",
            "sql": "select ip from 591_unlinked",
            "from_result_table_ids": ["591_unlinked"],
        },
    }
    error = api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500001")
    assert "其上游节点(591_src)的结果表应被当前节点指定使用" in error["message"]
    body["from_links"] = [{"source": {"node_id": 424242}}]
    assert (
        api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500001")["message"]
        == "上游节点与当前节点不在同一画布，不可连接"
    )


def test_cross_business_and_split_rules(api: Api) -> None:
    flow = basic_flow(api)
    body = {
        "node_type": "realtime",
        "from_links": [{"source": {"node_id": flow["source"]}}],
        "config": {
            "bk_biz_id": 100,
            "name": "n",
            "table_name": "t4",
            "sql": "select ip from 591_src",
            "from_result_table_ids": ["591_src"],
        },
    }
    assert api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500001")[
        "message"
    ].startswith("暂不支持不同业务的数据关联操作")
    split = {
        "node_type": "split",
        "from_links": [{"source": {"node_id": flow["source"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "s",
            "table_name": "sp",
            "description": "d",
            "from_result_table_ids": ["591_src"],
            "config": [{"bk_biz_id": 591, "logic_exp": "true"}],
        },
    }
    assert (
        "分流业务不能与当前业务相同"
        in api.fail("POST", f"flows/{flow['flow_id']}/nodes/", split, code="1500001")["message"]
    )
    split["config"]["config"] = [
        {"bk_biz_id": 7, "logic_exp": "ip == '1'"},
        {"bk_biz_id": 8, "logic_exp": "true"},
    ]
    node = api.ok("POST", f"flows/{flow['flow_id']}/nodes/", split)
    assert node["result_table_ids"] == ["7_sp", "8_sp"]


def test_cycle_and_orphans_in_create(api: Api) -> None:
    api.make_table(591, "src", SOURCE_FIELDS)
    a = realtime(2, 3, "591_b", "a")
    b = realtime(3, 2, "591_a", "b")
    error = api.fail(
        "POST",
        "flows/create/",
        {"project_id": 1, "flow_name": "loop", "nodes": [source(1, "591_src"), a, b]},
        code="1500021",
    )
    assert error["message"] == "存在非法节点关系，id=2, 3"
    assert api.ok("GET", "flows/", params={"flow_name": "loop"}) == []  # all or nothing


def test_create_is_all_or_nothing(api: Api) -> None:
    api.make_table(591, "src", SOURCE_FIELDS)
    nodes = [
        source(1, "591_src"),
        realtime(2, 1, "591_src", "good"),
        realtime(3, 2, "591_good", "bad__t"),
    ]
    error = api.fail(
        "POST",
        "flows/create/",
        {"project_id": 1, "flow_name": "atomic", "nodes": nodes},
        code="1500021",
    )
    assert error["message"].startswith("增加节点失败，明细(节点(bad__t)创建失败，数据输出，")
    assert api.ok("GET", "flows/") == []
    assert api.call("GET", "/v3/sluice/result_tables/591_good/")["code"] == "1500020"


def test_locked_flow(api: Api, database: object) -> None:
    flow = basic_flow(api)
    locks.acquire(database, flow["flow_id"], "mallory", locks.LOCK_DEPLOY)  # type: ignore[arg-type]
    error = api.fail(
        "PATCH",
        f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/",
        {"sql": "select ip from 591_src"},
        code="1500006",
    )
    assert error["message"] == "mallory 启停任务中，已被锁定，不可操作，请稍候重试"
    api.fail(
        "DELETE", f"flows/{flow['flow_id']}/nodes/{flow['storage']}/", code="1500006", lang="en"
    )
    locks.release(database, flow["flow_id"])  # type: ignore[arg-type]
    assert api.ok("DELETE", f"flows/{flow['flow_id']}/nodes/{flow['storage']}/") == {"status": {}}


def test_node_not_in_flow_and_storage_table_change(api: Api) -> None:
    flow = basic_flow(api)
    other = api.ok("POST", "flows/", {"project_id": 1, "flow_name": "other"})["flow_id"]
    assert (
        api.fail("GET", f"flows/{other}/nodes/{flow['realtime']}/", code="1500001")["message"]
        == f"节点(id:{flow['realtime']})不属于该Flow"
    )
    api.make_table(591, "elsewhere", SOURCE_FIELDS)
    body = {
        "from_links": [{"source": {"node_id": flow["realtime"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "s",
            "result_table_id": "591_elsewhere",
            "from_result_table_ids": ["591_elsewhere"],
            "cluster": "c",
            "expires": 1,
        },
    }
    assert (
        api.fail("PUT", f"flows/{flow['flow_id']}/nodes/{flow['storage']}/", body, code="1500002")[
            "message"
        ]
        == "存储节点不支持更换结果表，请删除重新保存"
    )


def test_delete_referenced_table(api: Api) -> None:
    flow = basic_flow(api)
    reader = api.ok(
        "POST",
        "flows/create/",
        {
            "project_id": 1,
            "flow_name": "reader",
            "nodes": [source(1, flow["out"]), storage(2, 1, flow["out"], "queue_storage")],
        },
    )
    error = api.fail("DELETE", f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/", code="1500033")
    assert error["message"] == f"结果表({flow['out']})被任务({reader['flow_id']})引用，不允许删除"
    api.fail("DELETE", f"flows/{flow['flow_id']}/", code="1500033")
    api.fail("DELETE", f"/v3/sluice/result_tables/{flow['src']}/", code="1500033")
    api.ok("DELETE", f"flows/{reader['flow_id']}/")
    status = api.ok("DELETE", f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/")
    assert status == {"status": {str(flow["storage"]): "failure"}}  # the storage lost its parent


def test_patch_and_put_update_outputs(api: Api) -> None:
    flow = basic_flow(api)
    config = api.ok(
        "PATCH", f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/", {"table_name": "renamed"}
    )
    assert config["table_name"] == "renamed"
    assert api.call("GET", "/v3/sluice/result_tables/591_clean/")["code"] == "1500020"
    assert (
        api.ok("GET", "/v3/sluice/result_tables/591_renamed/")["producer"]["node_id"]
        == flow["realtime"]
    )
    graph = api.ok("GET", f"flows/{flow['flow_id']}/graph/")
    statuses = {n["node_id"]: n["status"] for n in graph["nodes"]}
    assert statuses[flow["storage"]] == "failure"  # it still stores the old table


def test_graph_actions(api: Api) -> None:
    flow = basic_flow(api)
    fid = flow["flow_id"]
    moved = api.ok(
        "PUT",
        f"flows/{fid}/graph/",
        {
            "action": "update_nodes",
            "data": [{"node_id": flow["storage"], "frontend_info": {"x": 5, "y": 6}}],
        },
    )
    assert moved["version"]
    assert api.ok("GET", f"flows/{fid}/nodes/{flow['storage']}/")["frontend_info"] == {
        "x": 5.0,
        "y": 6.0,
    }
    removed = api.ok(
        "PUT",
        f"flows/{fid}/graph/",
        {
            "action": "delete_lines",
            "data": [{"from_node_id": flow["realtime"], "to_node_id": flow["storage"]}],
        },
    )
    assert removed["status"] == {str(flow["storage"]): "failure"}
    added = api.ok(
        "PUT",
        f"flows/{fid}/graph/",
        {
            "action": "create_lines",
            "data": [
                {
                    "from_node_id": flow["realtime"],
                    "to_node_id": flow["storage"],
                    "frontend_info": {},
                }
            ],
        },
    )
    assert added["status"] == {str(flow["storage"]): "no-start"}
    assert api.fail(
        "PUT", f"flows/{fid}/graph/", {"action": "save_draft", "data": []}, code="1500004"
    )["message"].startswith("非法操作")
    api.fail(
        "PUT",
        f"flows/{fid}/graph/",
        {"action": "create_lines", "data": [{"from_node_id": 1, "to_node_id": 987654}]},
        code="1500001",
    )


def test_sql_is_checked_at_save_and_schemas_inferred(api: Api) -> None:
    flow = basic_flow(api)
    assert [
        (f["field_name"], f["field_type"])
        for f in api.ok("GET", f"/v3/sluice/result_tables/{flow['out']}/")["fields"]
    ] == [
        ("ip", "string"),
        ("status", "int"),
    ]
    error = api.fail(
        "PATCH",
        f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/",
        {"sql": "select nope from 591_src"},
        code="1500001",
        lang="en",
    )
    assert "line 1, column" in error["message"] and "nope" in error["message"]
    config = api.ok(
        "PATCH",
        f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/",
        {"sql": "select ip, status * 2 as twice, 'x' as tag from 591_src"},
    )
    assert config["sql"].endswith("from 591_src")
    fields = api.ok("GET", f"/v3/sluice/result_tables/{flow['out']}/")["fields"]
    assert [(f["field_name"], f["field_type"]) for f in fields] == [
        ("ip", "string"),
        ("twice", "int"),
        ("tag", "string"),
    ]
    merge = {
        "node_type": "merge",
        "from_links": [{"source": {"node_id": flow["realtime"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "m",
            "table_name": "merged",
            "description": "d",
            "from_result_table_ids": [flow["out"]],
        },
    }
    api.ok("POST", f"flows/{flow['flow_id']}/nodes/", merge)
    assert [
        f["field_name"] for f in api.ok("GET", "/v3/sluice/result_tables/591_merged/")["fields"]
    ] == ["ip", "twice", "tag"]


def test_ignite_is_refused_at_create(api: Api) -> None:
    flow = basic_flow(api)
    body = {
        "node_type": "ignite",
        "from_links": [{"source": {"node_id": flow["realtime"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "i",
            "result_table_id": flow["out"],
            "cluster": "c",
            "expires": 1,
            "max_records": 10,
        },
    }
    error = api.fail("POST", f"flows/{flow['flow_id']}/nodes/", body, code="1500004", lang="en")
    assert error["message"].startswith("Sluice does not support ignite storage nodes")
