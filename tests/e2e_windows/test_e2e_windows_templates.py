"""The log platform's windowed nodes run end to end with their template window settings.

- ``bk-monitor/log_count_aggregation_flow.json`` rendered with ``bklog_params``: the source
  is the model-output-like RT (``log_signature``, ``pattern``, ``log``, ``event_time``); the
  ``日志数量统计`` node (scroll 60 s, waiting 300 s) counts logs per signature and minute,
  ``Signature 提取`` (no window) feeds ``Pattern 提取`` (scroll 60 s, waiting 120 s, ``last``).
  The MySQL storages become ``queue_storage`` nodes, so outputs are read from the result
  tables' topics (the MySQL sink has its own tests).
- The ``预聚合节点`` (``group_by``) of ``after_treat_flow.json`` with its input node (the
  ``udf_deal_model_json`` flattening) and its downstream ``format_signature`` node, reading a
  stream source in place of the model node, so the windows see known signatures (the model
  node itself runs end to end in ``tests/runtime_mining``).

Windows close when later records move the watermark: after the data, a "heartbeat" record far
in the future is produced repeatedly until every expected window is out (silent partitions
turn idle and stop holding the watermark).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import bklog_params as P
from e2e_windows_helpers import WinServer, wait_until

from sluice.model.templates import render_template

T0 = 1_795_000_020_000 - 1_795_000_020_000 % 3_600_000  # a whole hour
HEARTBEAT = T0 + 86_400_000
MODEL_FIELDS = [
    ("log", "string"), ("log_signature", "text"), ("pattern", "text"),
    ("is_new", "int"), ("event_time", "long"),
]  # fmt: skip


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def heartbeat(server: WinServer, rt: str, record: dict[str, Any]) -> Iterator[None]:
    """Produce ``record`` (stamped ``HEARTBEAT``) every 100 ms while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            server.produce(rt, [{**record, "dtEventTimeStamp": HEARTBEAT}])
            stop.wait(0.1)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _wait_rows(
    server: WinServer, rt: str, done: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def check() -> bool:
        nonlocal rows
        rows = server.records(rt)
        return done(rows)

    wait_until(check, what=what)
    return rows


def _model_events() -> list[dict[str, Any]]:
    """Model output over 5 minutes: signatures as JSON objects, plain text, or missing."""
    events = []
    for i in range(150):
        at = T0 + i * 2_000 - (45_000 if i % 10 == 3 else 0)  # some 45 s out of order
        kind = i % 6
        if kind == 5:
            signature = None  # no row from the UDTF: not counted
        elif kind == 4:
            signature = "plain pattern text"  # passes through the UDTF unchanged
        else:
            signature = json.dumps({"dist_01": "coarse", "dist_05": f"sig{kind}"})
        minute = (at - T0) // 60_000
        events.append({
            "log": f"log of {kind} in minute {minute}", "log_signature": signature,
            "pattern": f"pattern {kind}", "is_new": 0, "event_time": at,
            "dtEventTimeStamp": at,
        })  # fmt: skip
    return events


def _as_queue(node: dict[str, Any]) -> dict[str, Any]:
    """A template storage node as a ``queue_storage`` node on the same result table."""
    keep = ("id", "name", "bk_biz_id", "result_table_id", "expires", "from_nodes")
    return {**{k: node[k] for k in keep}, "node_type": "queue_storage", "cluster": "default"}


def _signature(event: dict[str, Any]) -> str | None:
    raw = event["log_signature"]
    if raw is None or not raw.startswith("{"):
        return raw
    return str(json.loads(raw)["dist_05"])


def test_log_count_aggregation_template(win_server: WinServer) -> None:
    source = win_server.make_table(P.BIZ, "bklog_7_model", MODEL_FIELDS)
    template = (P.TEMPLATES / "bk-monitor" / "log_count_aggregation_flow.json").read_text()
    nodes = render_template(template, P.log_count_aggregation(source))
    nodes = [_as_queue(n) if n["node_type"].endswith("_storage") else n for n in nodes]
    assert {n["name"]: n.get("window_type") for n in nodes if n["node_type"] == "realtime"} == {
        "日志数量统计": "scroll", "Signature 提取": "none", "Pattern 提取": "scroll",
    }  # fmt: skip
    flow_id = win_server.create_flow("log_count_aggregation", nodes)
    events = _model_events()
    for i in range(0, len(events), 40):
        win_server.produce(source, events[i : i + 40])
    record = win_server.deploy(flow_id, "start", consuming_mode="from_head")
    assert record["status"] == "success", record["logs"]

    counts: Counter[tuple[int, str]] = Counter()
    last: dict[tuple[int, str], tuple[str, str]] = {}
    for event in events:
        signature = _signature(event)
        if signature is not None:
            start = event["dtEventTimeStamp"] // 60_000 * 60_000
            counts[(start, signature)] += 1
            last[(start, signature)] = (event["pattern"], event["log"])
    wait_until(
        lambda: win_server.inputs(flow_id)["日志数量统计"] >= len(events), what="all events read"
    )
    agg_rt, pattern_rt = f"{P.BIZ}_bklog_7_agg", f"{P.BIZ}_bklog_7_pattern"
    beat = {"log": "beat", "log_signature": "beat", "pattern": "beat", "event_time": 0}
    with heartbeat(win_server, source, beat):
        agg = _wait_rows(win_server, agg_rt, lambda r: len(r) >= len(counts), "count windows")
        patterns = _wait_rows(
            win_server, pattern_rt, lambda r: len(r) >= len(last), "pattern windows"
        )
    got = {(r["dtEventTimeStamp"], r["signature"]): r["log_count"] for r in agg}
    assert len(agg) == len(counts)
    assert got == dict(counts)
    for row in agg:
        assert row["sensitivity"] == "__dist_05"
        assert row["dtEventTime"] == _utc(row["dtEventTimeStamp"])
        assert row["thedate"] == int(_utc(row["dtEventTimeStamp"])[:10].replace("-", ""))
        assert set(row) == {"log_count", "sensitivity", "signature", *SYSTEM}
    got_patterns = {
        (r["dtEventTimeStamp"], r["signature"]): (r["pattern"], r["log"]) for r in patterns
    }
    assert got_patterns == last

    # A record older than every open window is late: it goes to the DLQ with its origin.
    late = {**events[0], "log": "too late"}
    win_server.produce(source, [late])
    dlq = _wait_rows(win_server, f"{agg_rt}_dlq", lambda r: len(r) >= 1, "a late record")
    assert dlq[0]["reason"].startswith("late: event time ")
    assert dlq[0]["input_rt"] == source
    assert json.loads(dlq[0]["value"])["log"] == "too late"
    assert {(r["dtEventTimeStamp"], r["signature"]) for r in win_server.records(agg_rt)} == set(
        counts
    )


SYSTEM = {"dtEventTime", "dtEventTimeStamp", "localTime", "thedate"}
FLATTEN, GROUP_BY, AFTER = "将signature打平成为一个字段", "预聚合节点", "format_signature"


def test_after_treat_group_by_node(win_server: WinServer) -> None:
    model_rt = win_server.make_table(P.BIZ, f"after_treat_model_{P.TS}", MODEL_FIELDS)
    template = (P.TEMPLATES / "after_treat_flow.json").read_text()
    rendered = render_template(template, P.after_treat("2_a", "2_b", bkdata=True))
    by_name = {n["name"]: n for n in rendered}
    model = by_name["聚类模型应用"]
    source = {"id": model["id"], "node_type": "stream_source", "bk_biz_id": P.BIZ,
              "name": "model output", "result_table_id": model_rt, "from_nodes": []}  # fmt: skip
    join_rt = f"{P.BIZ}_after_treat_join_signature_{P.TS}"
    store = {"id": 1, "name": "queue", "bk_biz_id": P.BIZ, "result_table_id": join_rt,
             "expires": 1, "from_nodes": [{"id": by_name[AFTER]["id"],
                                           "from_result_table_ids": [join_rt]}]}  # fmt: skip
    nodes = [source, by_name[FLATTEN], by_name[GROUP_BY], by_name[AFTER], _as_queue(store)]
    group_by = by_name[GROUP_BY]
    assert (group_by["window_type"], group_by["count_freq"], group_by["waiting_time"]) == (
        "scroll", 300, 0,
    )  # fmt: skip
    flow_id = win_server.create_flow("after_treat_group_by", nodes)
    events = []
    for i in range(120):  # 20 minutes, one record every 10 s
        at = T0 + i * 10_000
        levels = {"dist_01": f"c{i % 2}", "dist_05": f"f{i % 3}"}
        events.append({"log": f"l{i}", "log_signature": json.dumps(levels), "pattern": "p",
                       "is_new": 0, "event_time": at + 7, "dtEventTimeStamp": at})  # fmt: skip
    for i in range(0, len(events), 30):
        win_server.produce(model_rt, events[i : i + 30])
    assert win_server.deploy(flow_id, "start")["status"] == "success"
    expected: dict[tuple[int, str, str], int] = {}
    for event in events:
        start = event["dtEventTimeStamp"] // 300_000 * 300_000
        for level, signature in json.loads(event["log_signature"]).items():
            key = (start, level, signature)
            expected[key] = max(expected.get(key, 0), event["event_time"])
    wait_until(lambda: win_server.inputs(flow_id)[GROUP_BY] >= 2 * len(events), what="input")
    group_rt = f"{P.BIZ}_after_treat_group_by_{P.TS}"
    beat = {"log": "b", "log_signature": json.dumps({"dist_01": "b"}), "event_time": 0}
    with heartbeat(win_server, model_rt, beat):
        rows = _wait_rows(win_server, group_rt, lambda r: len(r) >= len(expected), "group_by")
        joined = _wait_rows(win_server, join_rt, lambda r: len(r) >= len(expected), "join")
    got = {(r["dtEventTimeStamp"], r["sensitivity"], r["signature"]): r["event_time"] for r in rows}
    assert len(rows) == len(expected)
    assert got == expected
    assert all(r["dtEventTime"] == _utc(r["dtEventTimeStamp"]) for r in rows)
    # The downstream non-windowed node keeps the window start as the records' event time.
    assert {
        (r["dtEventTimeStamp"], r["sensitivity"], r["signature"]): (
            r["event_time"],
            r["history_time"],
        )
        for r in joined
    } == {k: (v, v) for k, v in expected.items()}
