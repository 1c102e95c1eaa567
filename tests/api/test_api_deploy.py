"""Start, stop and restart: synchronous checks, deploy records, statuses and logs.

The real task runners are exercised end to end in ``tests/e2e``; here the engine's runners
for realtime and storage types are in-process doubles that record what they are asked to
do, and one injects a failure. Source nodes use the engine's real source runner.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from flowkit import SOURCE_FIELDS, basic_flow, realtime, source, storage

from conftest import Api
from sluice.runtime.engine import FlowTaskError, LocalEngine, NodeTask
from sluice.runtime.manager import FlowManager
from sluice.store.common import now
from sluice.store.db import Database
from sluice.store.tables import DeployRecord


class RecordingRunner:
    """Records start/stop calls; fails the start of tasks named in ``fail``."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.started: list[NodeTask] = []
        self.stopped: list[NodeTask] = []
        self.fail = fail or set()

    def start(self, task: NodeTask) -> None:
        if task.name in self.fail:
            raise FlowTaskError(f"injected failure of {task.name}")
        self.started.append(task)

    def stop(self, task: NodeTask) -> None:
        self.stopped.append(task)


@pytest.fixture
def runner(engine: LocalEngine) -> RecordingRunner:
    recording = RecordingRunner()
    engine.register("realtime", recording)
    engine.register("hdfs_storage", recording)
    engine.register("queue_storage", recording)
    return recording


def wait_done(api: Api, flow_id: int, manager: FlowManager, task_id: int) -> dict[str, Any]:
    manager.wait(task_id, timeout=30)
    record = api.ok("GET", f"flows/{flow_id}/latest_deploy_data/")
    assert record["id"] == task_id
    return dict(record)


def test_unrunnable_type_is_refused_before_deploy(api: Api, runner: RecordingRunner) -> None:
    api.make_table(591, "src", SOURCE_FIELDS)
    created = api.ok(
        "POST",
        "flows/create/",
        {
            "bk_username": "alice",
            "project_id": 1,
            "flow_name": "to_mysql",
            "nodes": [
                source(1, "591_src"),
                realtime(2, 1, "591_src", "clean"),
                storage(3, 2, "591_clean", node_type="mysql_storage"),
            ],
        },
    )
    flow_id = created["flow_id"]
    error = api.fail(
        "POST", f"flows/{flow_id}/start/", {"bk_username": "a"}, code="1500024", lang="en"
    )
    assert (
        error["message"]
        == "Node (591_clean(mysql_storage)) cannot be started: Sluice cannot run mysql_storage "
        "nodes yet (runnable: hdfs_storage, kv_source, queue_storage, realtime, redis_kv_source, "
        "stream_source, unified_kv_source)"
    )
    assert api.ok("GET", f"flows/{flow_id}/latest_deploy_data/") is None
    assert runner.started == []


def test_topology_checks(api: Api, runner: RecordingRunner) -> None:
    empty = api.ok("POST", "flows/", {"project_id": 1, "flow_name": "empty"})["flow_id"]
    assert api.fail("POST", f"flows/{empty}/start/", code="1500024")["message"] == "空任务不能启动"
    api.make_table(591, "src", SOURCE_FIELDS)
    only = api.ok(
        "POST",
        "flows/create/",
        {"project_id": 1, "flow_name": "only", "nodes": [source(1, "591_src")]},
    )["flow_id"]
    assert (
        api.fail("POST", f"flows/{only}/start/", code="1500024", lang="en")["message"]
        == "Only source nodes, cannot be started"
    )
    flow = basic_flow(api, "g")
    api.ok("DELETE", f"flows/{flow['flow_id']}/nodes/{flow['storage']}/")
    assert (
        api.fail("POST", f"flows/{flow['flow_id']}/start/", code="1500024", lang="en")["message"]
        == "No sink node, cannot be started"
    )
    api.fail(
        "POST", f"flows/{flow['flow_id']}/start/", {"consuming_mode": "sideways"}, code="1500004"
    )


def test_start_stop_restart_lifecycle(
    api: Api, manager: FlowManager, runner: RecordingRunner
) -> None:
    flow = basic_flow(api)
    fid = flow["flow_id"]
    api.fail("POST", f"flows/{fid}/stop/", code="1500007")
    assert (
        api.fail("POST", f"flows/{fid}/restart/", code="1500007", lang="en")["message"]
        == "In non-running state, cannot be restarted"
    )
    task = api.ok(
        "POST",
        f"flows/{fid}/start/",
        {"bk_username": "alice", "consuming_mode": "from_head", "cluster_group": "default"},
    )["task_id"]
    record = wait_done(api, fid, manager, task)
    assert (
        record["status"] == "success"
        and record["progress"] == "100.0"
        and record["action"] == "start"
    )
    assert json.loads(record["context"]) == {
        "consuming_mode": "from_head",
        "cluster_group": "default",
        "progress": 100.0,
    }
    assert record["version"].startswith("V") and record["created_by"] == "alice"
    messages = [line["message"] for line in record["logs"]]
    assert messages[0] == "锁定任务" and messages[-1] == "解锁任务"
    assert "更新节点状态，状态=running" in messages
    assert [t.name for t in runner.started] == ["clean", "591_clean(hdfs_storage)"]
    assert runner.started[0].consuming_mode == "from_head"
    graph = api.ok("GET", f"flows/{fid}/graph/")
    assert {n["status"] for n in graph["nodes"]} == {"running"}
    assert api.ok("GET", f"flows/{fid}/")["status"] == "running"
    assert (
        api.fail("POST", f"flows/{fid}/start/", code="1500007")["message"]
        == "处于运行状态，不能启动"
    )
    assert (
        api.fail("POST", f"flows/{fid}/restart/", code="1500024", lang="en")["message"]
        == "Flow unchanged, no restart required"
    )
    api.fail("DELETE", f"flows/{fid}/", code="1500011")
    api.fail("DELETE", f"flows/{fid}/nodes/{flow['storage']}/", code="1500010")

    # a running node edited shows warning/has_modify; restart restarts it and its downstream only
    api.ok("PATCH", f"flows/{fid}/nodes/{flow['realtime']}/", {"sql": "select ip from 591_src"})
    node = api.ok("GET", f"flows/{fid}/nodes/{flow['realtime']}/")
    assert node["status"] == "warning" and node["has_modify"] is True
    runner.started.clear()
    task = api.ok("POST", f"flows/{fid}/restart/", {"bk_username": "alice"})["task_id"]
    record = wait_done(api, fid, manager, task)
    assert record["status"] == "success", record["logs"]
    assert [t.name for t in runner.stopped] == ["591_clean(hdfs_storage)", "clean"]
    assert [t.name for t in runner.started] == ["clean", "591_clean(hdfs_storage)"]
    assert api.ok("GET", f"flows/{fid}/nodes/{flow['realtime']}/")["has_modify"] is False

    task = api.ok("POST", f"flows/{fid}/stop/", {"bk_username": "alice"})["task_id"]
    record = wait_done(api, fid, manager, task)
    assert record["status"] == "success" and record["version"] is None
    assert api.ok("GET", f"flows/{fid}/")["status"] == "no-start"
    history = api.ok("GET", f"flows/{fid}/deploy_data/", params={"page": 1, "page_size": 2})
    assert history["count"] == 3 and [r["action"] for r in history["results"]] == [
        "stop",
        "restart",
    ]
    one = api.ok("GET", f"flows/{fid}/tasks/{task}/", lang="en")
    assert "progress" not in one and one["logs"][0] == {
        "level": "INFO",
        "time": one["logs"][0]["time"],
        "message": "Lock task",
        "progress": "10.0",
    }
    assert api.ok("GET", f"flows/{fid}/tasks/999999/") is None


def test_failing_node_fails_the_deploy(
    api: Api, manager: FlowManager, runner: RecordingRunner
) -> None:
    runner.fail.add("591_clean(hdfs_storage)")
    flow = basic_flow(api)
    task = api.ok("POST", f"flows/{flow['flow_id']}/start/", lang="en")["task_id"]
    record = wait_done(api, flow["flow_id"], manager, task)
    assert record["status"] == "failure"
    errors = [line for line in record["logs"] if line["level"] == "ERROR"]
    assert "injected failure of 591_clean(hdfs_storage)" in errors[0]["message"]
    statuses = {
        n["node_id"]: n["status"] for n in api.ok("GET", f"flows/{flow['flow_id']}/graph/")["nodes"]
    }
    assert statuses[flow["storage"]] == "failure" and statuses[flow["realtime"]] == "running"
    detail = api.ok("GET", f"flows/{flow['flow_id']}/", params={"add_exception_info": 1})
    assert (
        detail["status"] == "running"
        and detail["has_exception"] is True
        and detail["is_locked"] == 0
    )


def test_multi_actions(api: Api, manager: FlowManager, runner: RecordingRunner) -> None:
    a = basic_flow(api, "a", "ta")
    result = api.ok("POST", "flows/multi_start/", {"flow_ids": [a["flow_id"], 424242]})
    assert list(result["success_flows"]) == [str(a["flow_id"])] and list(result["fail_flows"]) == [
        "424242"
    ]
    wait_done(api, a["flow_id"], manager, result["success_flows"][str(a["flow_id"])])
    stopped = api.ok("POST", "flows/multi_stop/", {"flow_ids": [a["flow_id"]]})
    wait_done(api, a["flow_id"], manager, stopped["success_flows"][str(a["flow_id"])])
    restarted = api.ok("POST", "flows/multi_restart/", {"flow_ids": [a["flow_id"]]}, lang="en")
    assert restarted["fail_flows"] == {
        str(a["flow_id"]): "In non-running state, cannot be restarted"
    }


def test_sixty_minute_timeout_rule(
    api: Api, database: Database, manager: FlowManager, runner: RecordingRunner
) -> None:
    flow = basic_flow(api)
    task = api.ok("POST", f"flows/{flow['flow_id']}/start/")["task_id"]
    wait_done(api, flow["flow_id"], manager, task)
    with database.session() as session:
        record = session.get(DeployRecord, task)
        assert record is not None
        record.status, record.end_time, record.start_time = (
            "running",
            None,
            now() - timedelta(minutes=61),
        )
    first = api.ok("GET", f"flows/{flow['flow_id']}/latest_deploy_data/")
    assert first["status"] == "running"  # built before the timeout handling, as in BKData
    deadline = time.monotonic() + 5
    second = api.ok("GET", f"flows/{flow['flow_id']}/latest_deploy_data/")
    while second["status"] != "failure" and time.monotonic() < deadline:
        second = api.ok("GET", f"flows/{flow['flow_id']}/latest_deploy_data/")
    assert second["status"] == "failure"
    assert second["logs"][-1]["message"] == "时间过长，强制中止部署流程"


def test_monitor_endpoints(api: Api, runner: RecordingRunner) -> None:
    flow = basic_flow(api)
    data = api.ok("GET", f"flows/{flow['flow_id']}/monitor_data/")
    assert set(data) == {"dmonitor_alerts", "data_loss_io_total", "rt_status"}
    assert data["data_loss_io_total"][str(flow["realtime"])]["node_type"] == "realtime"
    node = api.ok(
        "GET",
        f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/monitor_data/",
        params={"monitor_type": "data_trend"},
    )
    assert list(node["data_trend"]) == [flow["out"]]
    error = api.fail(
        "GET",
        f"flows/{flow['flow_id']}/nodes/{flow['realtime']}/monitor_data/",
        params={"monitor_type": "rt_status"},
        code="1500001",
    )
    assert error["message"] == "当前节点仅支持监控类型[data_delay_max, data_trend]"
    empty = api.ok("POST", "flows/", {"project_id": 1, "flow_name": "e"})["flow_id"]
    api.fail("GET", f"flows/{empty}/monitor_data/", code="1500001")
    assert (
        api.ok("GET", f"flows/{flow['flow_id']}/cluster_groups/")[0]["cluster_group_id"]
        == "default"
    )
    assert api.ok("GET", f"flows/{flow['flow_id']}/list_rt_by_flowid/")["result_table_dict"][
        "stream"
    ]
    assert api.ok("GET", f"flows/{flow['flow_id']}/get_graph_extra_info/") == {}


def test_links_between_running_nodes(
    api: Api, manager: FlowManager, runner: RecordingRunner
) -> None:
    flow = basic_flow(api)
    fid = flow["flow_id"]
    wait_done(api, fid, manager, api.ok("POST", f"flows/{fid}/start/")["task_id"])
    link = {"from_node_id": flow["realtime"], "to_node_id": flow["storage"]}
    error = api.fail(
        "PUT",
        f"flows/{fid}/graph/",
        {"action": "delete_lines", "data": [link]},
        code="1500013",
        lang="en",
    )
    assert error["message"] == "A link between running nodes cannot be removed"
    error = api.fail(
        "PUT",
        f"flows/{fid}/graph/",
        {"action": "create_lines", "data": [{**link, "frontend_info": {}}]},
        code="1500018",
    )
    assert error["message"] == "运行中的节点不能连线"


def test_cycles_and_isolated_nodes_fail_the_deploy(
    api: Api, manager: FlowManager, runner: RecordingRunner
) -> None:
    flow = basic_flow(api)
    fid = flow["flow_id"]
    second = {
        "node_type": "realtime",
        "from_links": [{"source": {"node_id": flow["realtime"]}}],
        "config": {
            "bk_biz_id": 591,
            "name": "again",
            "table_name": "again",
            "sql": f"select ip from {flow['out']}",
            "from_result_table_ids": [flow["out"]],
        },
    }
    again = api.ok("POST", f"flows/{fid}/nodes/", second)["node_id"]
    store = {
        "node_type": "queue_storage",
        "from_links": [{"source": {"node_id": again}}],
        "config": {
            "bk_biz_id": 591,
            "name": "q",
            "result_table_id": "591_again",
            "cluster": "c",
            "expires": 1,
        },
    }
    api.ok("POST", f"flows/{fid}/nodes/", store)
    api.ok(
        "PUT",
        f"flows/{fid}/graph/",
        {
            "action": "create_lines",
            "data": [{"from_node_id": again, "to_node_id": flow["realtime"], "frontend_info": {}}],
        },
    )
    record = wait_done(api, fid, manager, api.ok("POST", f"flows/{fid}/start/")["task_id"])
    assert record["status"] == "failure"
    assert any(
        "存在回路节点" in line["message"] and line["level"] == "ERROR" for line in record["logs"]
    )
    assert runner.started == []

    api.ok(
        "PUT",
        f"flows/{fid}/graph/",
        {
            "action": "delete_lines",
            "data": [{"from_node_id": again, "to_node_id": flow["realtime"]}],
        },
    )
    api.ok(
        "PUT",
        f"flows/{fid}/graph/",
        {
            "action": "delete_lines",
            "data": [{"from_node_id": flow["source"], "to_node_id": flow["realtime"]}],
        },
    )
    record = wait_done(
        api, fid, manager, api.ok("POST", f"flows/{fid}/start/", lang="en")["task_id"]
    )
    assert record["status"] == "failure"
    assert any(
        "isolated" in line["message"]
        for line in api.ok("GET", f"flows/{fid}/latest_deploy_data/", lang="en")["logs"]
    )
    assert api.ok("GET", f"flows/{fid}/")["status"] == "no-start" and runner.started == []
