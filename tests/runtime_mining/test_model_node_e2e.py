"""A flow with a ``model_ts_custom`` node, created and started through the API, end to end."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from sluice.testing import InProcessServer, wait_until

SRC = "591_app_logs"
OUT = "591_app_clustered"
FIELDS = [("host", "string"), ("log", "string"), ("level", "string")]
SHAPES = (
    "user {n} logged in from 10.0.{n}.1",
    "payment {n} failed: card declined by bank {n}",
    "GET /api/items/{n} took {n}ms",
)


def _arg(name: str, value: Any, kind: str = "string") -> dict[str, Any]:
    return {"field_name": name, "field_type": kind, "value": value, "default_value": value}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def model_node(predict_args: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The node as the log platform's ``predict_flow.json`` renders it (trimmed)."""
    inputs = [
        {"field_name": "__index__", "field_type": "int", "roles": {"index": True}},
        {"field_name": "log", "data_field_name": "log", "field_type": "text",
         "roles": {"feature": True}},
        {"field_name": "host", "field_type": "string", "roles": {"passthrough": True}},
    ]  # fmt: skip
    outputs = [
        {"field_name": "host", "field_type": "string", "roles": {"passthrough": True}},
        {"field_name": "log", "field_type": "text", "roles": {"passthrough": True}},
        {"field_name": "log_signature", "field_type": "text", "roles": {"predict_result": True}},
        {"field_name": "pattern", "field_type": "text", "roles": {"predict_result": True}},
        {"field_name": "is_new", "field_type": "int", "roles": {"predict_result": True}},
        {"field_name": "event_time", "field_type": "long", "roles": {"timestamp": True}},
    ]
    args = predict_args if predict_args is not None else [
        _arg("st_list", "0.875"),
        _arg("max_dist_list", "0.5"),
        _arg("predefined_variables", _b64(json.dumps(["IP:\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b",
                                                      "NUMBER:\\b\\d+"]))),
        _arg("delimeter", _b64(r"[\s:/]")),
        _arg("max_log_length", 1000, "int"),
        _arg("is_case_sensitive", 0, "int"),
        _arg("depth", 7, "int"),
        _arg("max_child", 100, "int"),
    ]  # fmt: skip
    return {
        "id": 2, "node_type": "model_ts_custom", "bk_biz_id": 591, "name": "clustering",
        "table_name": "app_clustered", "output_name": "clustered",
        "model_id": "bklog_online_591", "model_release_id": 12, "serving_mode": "realtime",
        "scene_name": "custom",
        "input_config": {"input_node": {"fields": inputs, "input_result_table": SRC}},
        "output_config": {"output_node": {"fields": outputs, "table_name": "app_clustered",
                                          "bk_biz_id": 591}},
        "schedule_config": {"serving_scheduler_params": {"period": 1, "period_unit": "day"}},
        "model_extra_config": {"predict_args": args},
        "from_nodes": [{"id": 1, "from_result_table_ids": [SRC]}],
    }  # fmt: skip


def make_flow(server: InProcessServer, node: dict[str, Any] | None = None) -> int:
    server.make_table(591, "app_logs", FIELDS)
    source = {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "app logs",
              "result_table_id": SRC, "from_nodes": []}  # fmt: skip
    queue = {"id": 3, "node_type": "queue_storage", "bk_biz_id": 591, "name": "out(queue)",
             "result_table_id": OUT, "cluster": "default", "expires": 2,
             "from_nodes": [{"id": 2, "from_result_table_ids": [OUT]}]}  # fmt: skip
    return server.create_flow("clustering", [source, node or model_node(), queue])


def logs(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"host": f"h{i % 3}", "level": "INFO",
         "log": SHAPES[i % len(SHAPES)].replace("{n}", str(i * 7 + 3), 1).replace("{n}", str(i))}
        for i in range(first, first + count)
    ]  # fmt: skip


def outputs(server: InProcessServer) -> list[dict[str, Any]]:
    return [v for v in server.tail(OUT, 1000) if isinstance(v, dict)]


def test_model_node_mines_templates_dead_letters_and_keeps_clusters_over_restart(
    server: InProcessServer,
) -> None:
    flow_id = make_flow(server)
    server.produce(SRC, [*logs(0, 300), {"host": "h9", "level": "WARN"}])
    assert server.deploy(flow_id, "start", consuming_mode="from_head")["status"] == "success"
    wait_until(lambda: len(outputs(server)) == 300, what="300 mined records")
    wait_until(lambda: len(server.tail(f"{OUT}_dlq")) == 1, what="the log-less record")
    assert "no `log` field" in server.tail(f"{OUT}_dlq")[0]["reason"]

    rows = outputs(server)
    assert {r["pattern"] for r in rows} == {
        "user #NUMBER# logged in from #IP#",
        "payment #NUMBER# failed: card declined by bank #NUMBER#",
        "GET /api/items/#NUMBER# took #NUMBER#ms",
    }
    assert sum(r["is_new"] for r in rows) == 3
    signatures = {r["pattern"]: json.loads(r["log_signature"])["05"] for r in rows}
    assert len(set(signatures.values())) == 3
    assert all(set(json.loads(r["log_signature"])) == {"05"} for r in rows)
    assert all(r["host"].startswith("h") and isinstance(r["event_time"], int) for r in rows)

    # a stop checkpoints the clusters; continue keeps them: nothing is new any more
    assert server.deploy(flow_id, "stop")["status"] == "success"
    server.produce(SRC, logs(300, 30))
    assert server.deploy(flow_id, "start", consuming_mode="continue")["status"] == "success"
    wait_until(lambda: len(outputs(server)) == 330, what="30 more mined records")
    fresh = {r["log"].lower() for r in logs(300, 30)}
    later = [r for r in outputs(server) if r["log"].lower() in fresh]
    assert len(later) == 30
    assert sum(r["is_new"] for r in later) == 0
    assert {r["pattern"]: json.loads(r["log_signature"])["05"] for r in later} == signatures
    assert server.deploy(flow_id, "stop")["status"] == "success"


def test_model_node_with_bad_arguments_fails_to_start_with_the_reason(
    server: InProcessServer,
) -> None:
    node = model_node([_arg("st_list", "0.9,0.8"), _arg("max_dist_list", "0.5")])
    flow_id = make_flow(server, node)
    record = server.deploy(flow_id, "start")
    assert record["status"] == "failure"
    assert "st_list has 2 values but max_dist_list has 1" in json.dumps(record, ensure_ascii=False)


def test_model_node_whose_feature_field_is_not_an_input_field_fails_to_start(
    server: InProcessServer,
) -> None:
    node = model_node()
    node["input_config"]["input_node"]["fields"][1]["data_field_name"] = "message"
    flow_id = make_flow(server, node)
    record = server.deploy(flow_id, "start")
    assert record["status"] == "failure"
    assert "feature field message is not a field of its input table" in json.dumps(record)


def test_model_node_without_output_fields_writes_the_input_fields_and_predictions(
    server: InProcessServer,
) -> None:
    node = model_node()
    node["output_config"]["output_node"]["fields"] = []
    flow_id = make_flow(server, node)
    server.produce(SRC, logs(0, 6))
    assert server.deploy(flow_id, "start", consuming_mode="from_head")["status"] == "success"
    wait_until(lambda: len(outputs(server)) == 6, what="6 mined records")
    row = outputs(server)[0]
    assert set(row) >= {"host", "log", "level", "log_signature", "pattern", "is_new"}
    assert isinstance(row["dtEventTimeStamp"], int)
    assert server.deploy(flow_id, "stop")["status"] == "success"


def test_periodic_checkpoints_keep_the_clusters_when_no_final_checkpoint_is_written(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sluice.runtime.tasks.model_serving import ModelServingProcessor

    monkeypatch.setenv("SLUICE_MODEL_CHECKPOINT_INTERVAL_MS", "0")  # after every batch
    monkeypatch.setattr(ModelServingProcessor, "finish", lambda self, positions: None)
    flow_id = make_flow(server)
    server.produce(SRC, logs(0, 60))
    assert server.deploy(flow_id, "start", consuming_mode="from_head")["status"] == "success"
    wait_until(lambda: len(outputs(server)) == 60, what="60 mined records")
    assert server.deploy(flow_id, "stop")["status"] == "success"  # as if killed after it
    server.produce(SRC, logs(60, 30))
    assert server.deploy(flow_id, "start", consuming_mode="continue")["status"] == "success"
    wait_until(lambda: len(outputs(server)) == 90, what="30 more mined records")
    assert sum(r["is_new"] for r in outputs(server)) == 3  # no cluster opened twice
    assert server.deploy(flow_id, "stop")["status"] == "success"
