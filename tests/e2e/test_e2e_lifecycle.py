"""Stop, restart, resume, dead letters, failures and monitoring on running flows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from conftest import Server, wait_until

FIELDS = [("id", "long"), ("ip", "string"), ("status", "int"), ("log", "string")]
SRC = "591_events"
OUT = "591_events_out"


def events(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "ip": f"10.1.0.{i % 9}", "status": (200, 404, 500, 503)[i % 4], "log": f"l{i}"}
        for i in range(first, first + count)
    ]


def nodes(sql: str, storages: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    storages = storages or [
        {"node_type": "queue_storage", "name": "out(queue)", "cluster": "default", "expires": 2}
    ]
    result: list[dict[str, Any]] = [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "events",
         "result_table_id": SRC, "from_nodes": []},
        {"id": 2, "node_type": "realtime", "bk_biz_id": 591, "name": "filter",
         "table_name": "events_out", "sql": sql, "window_type": "none",
         "from_nodes": [{"id": 1, "from_result_table_ids": [SRC]}]},
    ]  # fmt: skip
    for index, extra in enumerate(storages):
        result.append(
            {"id": 3 + index, "bk_biz_id": 591, "result_table_id": OUT,
             "from_nodes": [{"id": 2, "from_result_table_ids": [OUT]}], **extra}
        )  # fmt: skip
    return result


def queue_values(server: Server) -> list[dict[str, Any]]:
    bus = server.components.bus
    topic = f"queue_{OUT}"
    if not bus.topic_exists(topic):
        return []
    import orjson

    out = []
    for part in bus.describe_topic(topic).partitions:
        offset = part.earliest
        while offset < part.latest:
            result = bus.fetch(topic, part.partition, offset)
            out += [orjson.loads(v) for v in result.values()]
            offset = result.next_offset
    return out


def make_flow(server: Server, sql: str, storages: list[dict[str, Any]] | None = None) -> int:
    server.make_table(591, "events", FIELDS)
    return server.create_flow("lifecycle", nodes(sql, storages))


def test_stop_drains_and_commits_then_continue_loses_and_repeats_nothing(server: Server) -> None:
    flow_id = make_flow(server, f"select id, ip, status from {SRC}")
    sent = events(0, 30_000)
    server.produce(SRC, sent[:15_000])
    server.produce(SRC, sent[15_000:])
    assert server.deploy(flow_id, "start")["status"] == "success"
    wait_until(lambda: len(queue_values(server)) > 0, what="the first output")
    assert server.deploy(flow_id, "stop")["status"] == "success"
    bus = server.components.bus
    realtime = next(n for n in server.nodes(flow_id).values() if n["node_type"] == "realtime")
    committed = bus.committed_offsets(f"sluice_flow{flow_id}_node{realtime['node_id']}")
    produced_out = sum(p.latest for p in bus.describe_topic(f"table_{OUT}").partitions)
    assert sum(committed.values()) == produced_out  # every committed input was written
    assert server.deploy(flow_id, "start")["status"] == "success"
    wait_until(lambda: len(queue_values(server)) >= 30_000, what="30,000 outputs")
    ids = Counter(v["id"] for v in queue_values(server))
    assert ids == Counter(range(30_000))  # a clean stop repeats nothing


def test_restart_applies_an_edited_sql_from_that_point_on(server: Server) -> None:
    flow_id = make_flow(server, f"select id, status from {SRC} where status >= 500")
    assert server.deploy(flow_id, "start")["status"] == "success"
    first = events(0, 40)
    server.produce(SRC, first)
    wait_until(lambda: len(queue_values(server)) == 20, what="20 server errors")
    realtime = server.nodes(flow_id)["filter"]
    server.ok(
        "PATCH",
        f"flows/{flow_id}/nodes/{realtime['node_id']}/",
        {"sql": f"select id, status from {SRC} where status < 500"},
    )
    assert server.nodes(flow_id)["filter"]["status"] == "warning"
    record = server.deploy(flow_id, "restart")
    assert record["status"] == "success", record["logs"]
    second = events(100, 40)
    server.produce(SRC, second)
    wait_until(lambda: len(queue_values(server)) == 40, what="20 more outputs")
    got = sorted((v["id"], v["status"]) for v in queue_values(server))
    want = sorted(
        [(e["id"], e["status"]) for e in first if e["status"] >= 500]
        + [(e["id"], e["status"]) for e in second if e["status"] < 500]
    )
    assert got == want
    refused = server.call(
        "POST", f"flows/{flow_id}/restart/", {}, headers={"Blueking-Language": "en"}
    )
    assert refused["code"] == "1500024"
    assert refused["message"] == "Flow unchanged, no restart required"


def test_bad_records_go_to_the_dead_letter_table_with_reasons(server: Server) -> None:
    flow_id = make_flow(server, f"select id, ip, status from {SRC}")
    assert server.deploy(flow_id, "start")["status"] == "success"
    server.produce(
        SRC,
        events(0, 5),
        values=['{"id": 9, "status": "five hundred"}', "not json", "[1, 2]", '{"id": 10}'],
    )
    wait_until(lambda: len(server.tail(f"{OUT}_dlq")) == 3, what="3 dead letters")
    wait_until(lambda: len(queue_values(server)) == 6, what="6 good outputs")
    dead = server.tail(f"{OUT}_dlq")
    reasons = sorted(d["reason"] for d in dead)
    assert any("status" in r and "five hundred" in r for r in reasons), reasons
    assert any("invalid JSON" in r for r in reasons), reasons
    assert any("not a JSON object" in r for r in reasons), reasons
    bus = server.components.bus
    for letter in dead:
        assert letter["input_rt"] == SRC and letter["topic"] == f"table_{SRC}"
        raw = bus.fetch(letter["topic"], letter["partition"], letter["offset"], max_records=1)
        assert raw.values()[0].decode() == letter["value"]
    realtime = server.nodes(flow_id)["filter"]
    monitor = server.ok("GET", f"flows/{flow_id}/monitor_data/")["data_loss_io_total"]
    assert monitor[str(realtime["node_id"])]["dead_lettered"] == 3
    assert monitor[str(realtime["node_id"])]["input"] == 9
    metrics = server.client.get("/metrics").text
    label = f'flow_id="{flow_id}",node_id="{realtime["node_id"]}",node_type="realtime"'
    assert f"sluice_node_records_dead_lettered_total{{{label}}} 3.0" in metrics
    assert f"sluice_node_records_in_total{{{label}}} 9.0" in metrics
    assert f"sluice_node_records_out_total{{{label}}} 6.0" in metrics


def test_a_failing_node_shows_failure_and_the_others_keep_running(server: Server) -> None:
    blocked = server.data_dir / "hdfs" / "blocked"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the storage needs a directory")
    storages = [
        {"node_type": "hdfs_storage", "name": "out(hdfs)", "cluster": "blocked", "expires": 3},
        {"node_type": "queue_storage", "name": "out(queue)", "cluster": "default", "expires": 2},
    ]
    flow_id = make_flow(server, f"select id, status from {SRC}", storages)
    assert server.deploy(flow_id, "start")["status"] == "success"
    server.produce(SRC, events(0, 10))
    wait_until(
        lambda: server.nodes(flow_id)["out(hdfs)"]["status"] == "failure",
        what="the hdfs node to fail",
    )
    statuses = {name: n["status"] for name, n in server.nodes(flow_id).items()}
    assert statuses == {
        "events": "running",
        "filter": "running",
        "out(hdfs)": "failure",
        "out(queue)": "running",
    }
    record = server.ok(
        "GET", f"flows/{flow_id}/latest_deploy_data/", headers={"Blueking-Language": "en"}
    )
    errors = [line["message"] for line in record["logs"] if line["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("Node (out(hdfs)) failed while running")
    server.produce(SRC, events(10, 10))
    wait_until(lambda: len(queue_values(server)) == 20, what="the queue to keep going")
    flow = server.ok("GET", f"flows/{flow_id}/")
    assert flow["status"] == "running"


def test_running_flows_resume_after_a_server_restart(server: Server, tmp_path: Path) -> None:
    flow_id = make_flow(server, f"select id from {SRC} where status = 200")
    assert server.deploy(flow_id, "start")["status"] == "success"
    server.produce(SRC, events(0, 8))
    wait_until(lambda: len(queue_values(server)) == 2, what="2 outputs")
    server.close()
    again = Server(server.data_dir)
    try:
        assert all(n["status"] == "running" for n in again.nodes(flow_id).values())
        again.produce(SRC, events(8, 8))
        wait_until(lambda: len(queue_values(again)) == 4, what="outputs after the restart")
        assert sorted(v["id"] for v in queue_values(again)) == [0, 4, 8, 12]
    finally:
        again.close()
        server.components = again.components  # the fixture closes it again (idempotent)


def test_queue_storage_topic_has_its_own_retention(server: Server) -> None:
    flow_id = make_flow(server, f"select id from {SRC}")
    assert server.deploy(flow_id, "start")["status"] == "success"
    info = server.components.bus.describe_topic(f"queue_{OUT}")
    assert info.retention_ms == 2 * 86_400_000
    assert info.partition_count == 4
    ids = {n["node_type"]: n["node_id"] for n in server.nodes(flow_id).values()}
    groups = server.components.bus.list_groups()
    assert f"sluice_flow{flow_id}_node{ids['realtime']}" in groups
    assert f"sluice_flow{flow_id}_node{ids['queue_storage']}" in groups


def test_input_system_fields_are_decoded_when_the_query_reads_them(server: Server) -> None:
    sql = f"select id, dtEventTime as event_text, thedate as event_day from {SRC}"
    flow_id = make_flow(server, sql)
    assert server.deploy(flow_id, "start")["status"] == "success"
    moment = 1_600_000_000_000  # 2020-09-13 12:26:40 UTC
    rows = [{**e, "dtEventTimeStamp": moment + e["id"] * 1000} for e in events(0, 3)]
    server.produce(SRC, rows)
    wait_until(lambda: len(queue_values(server)) == 3, what="3 outputs")
    got = sorted(queue_values(server), key=lambda v: v["id"])
    assert [v["event_text"] for v in got] == [f"2020-09-13 12:26:4{i}" for i in range(3)]
    assert [v["event_day"] for v in got] == [20200913] * 3
    assert [v["dtEventTimeStamp"] for v in got] == [moment + i * 1000 for i in range(3)]


def test_a_query_without_system_fields_keeps_the_input_event_time(server: Server) -> None:
    flow_id = make_flow(server, f"select id from {SRC} where status >= 500")
    assert server.deploy(flow_id, "start")["status"] == "success"
    moment = 1_600_000_000_000
    server.produce(SRC, [{**e, "dtEventTimeStamp": moment + e["id"]} for e in events(0, 8)])
    wait_until(lambda: len(queue_values(server)) == 4, what="4 outputs")
    got = sorted(queue_values(server), key=lambda v: v["id"])
    assert [(v["id"], v["dtEventTimeStamp"]) for v in got] == [
        (i, moment + i) for i in (2, 3, 6, 7)
    ]
    assert {(v["dtEventTime"][:10], v["thedate"]) for v in got} == {("2020-09-13", 20200913)}
