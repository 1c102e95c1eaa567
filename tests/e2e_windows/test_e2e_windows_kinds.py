"""Windowed nodes beyond plain counts: HAVING and expressions, sessions, an edited SQL.

- HAVING and expressions around aggregates (a DECIMAL literal makes the SQL layer wrap the
  projection in a type conversion) filter and shape window rows; the rows keep their window
  start as event time.
- A ``session`` node (``session_gap`` s) emits one row per key and burst of activity.
- After an edit that changes an aggregate, ``restart`` cannot restore the stored windows (their
  shape changed): the node starts with empty windows from the checkpoint's offsets and runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_windows_helpers import WinServer, wait_until

SRC = "591_wkind_src"
T0 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000
BEAT = {"service": "beat", "latency": 0, "dtEventTimeStamp": T0 + 86_400_000}


def _flow(server: WinServer, sql: str, **window: Any) -> int:
    nodes = [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "src",
         "result_table_id": SRC, "from_nodes": []},
        {"id": 2, "node_type": "realtime", "bk_biz_id": 591, "name": "win",
         "table_name": "wkind_out", "sql": sql, **window,
         "from_nodes": [{"id": 1, "from_result_table_ids": [SRC]}]},
        {"id": 3, "node_type": "queue_storage", "bk_biz_id": 591, "name": "out(queue)",
         "result_table_id": "591_wkind_out", "cluster": "default", "expires": 1,
         "from_nodes": [{"id": 2, "from_result_table_ids": ["591_wkind_out"]}]},
    ]  # fmt: skip
    server.make_table(591, "wkind_src", [("service", "string"), ("latency", "long")])
    return server.create_flow("kinds", nodes)


def _drain(server: WinServer, want: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def done() -> bool:
        nonlocal rows
        server.produce(SRC, [BEAT])
        rows = server.records("591_wkind_out")
        return len(rows) >= want

    wait_until(done, what=f"{want} window rows")
    return rows


def test_having_and_expressions_over_window_aggregates(win_server: WinServer) -> None:
    sql = (f"select service, count(*) * 1.5 as weighted, max(latency) - min(latency) as spread "
           f"from {SRC} group by service having count(*) > 10")  # fmt: skip
    flow_id = _flow(win_server, sql, window_type="scroll", count_freq=60, waiting_time=0)
    records = []
    for i in range(180):  # 3 minutes; service "rare" has 3 records per minute
        service = "rare" if i % 20 == 0 else "busy"
        records.append({"service": service, "latency": i % 50, "dtEventTimeStamp": T0 + i * 1000})
    win_server.produce(SRC, records)
    assert win_server.deploy(flow_id, "start")["status"] == "success"
    expected = []
    for minute in range(3):
        busy = [r["latency"] for r in records[minute * 60 : minute * 60 + 60]
                if r["service"] == "busy"]  # fmt: skip
        expected.append((T0 + minute * 60_000, "busy", len(busy) * 1.5, max(busy) - min(busy)))
    rows = _drain(win_server, 3)
    got = sorted((r["dtEventTimeStamp"], r["service"], r["weighted"], r["spread"]) for r in rows)
    assert got == expected
    assert all(isinstance(r["weighted"], float) for r in rows)


def test_session_windows_split_on_gaps(win_server: WinServer) -> None:
    sql = f"select service, count(*) as cnt, min(latency) as first_latency from {SRC} group by service"
    flow_id = _flow(win_server, sql, window_type="session", session_gap=30, expired_time=0,
                    waiting_time=0)  # fmt: skip
    bursts = [(0, 5), (100, 3), (400, 4)]  # (start s, records 5 s apart): gaps > 30 s
    records = [
        {"service": "a", "latency": start + k, "dtEventTimeStamp": T0 + (start + 5 * k) * 1000}
        for start, count in bursts
        for k in range(count)
    ]
    win_server.produce(SRC, records)
    assert win_server.deploy(flow_id, "start")["status"] == "success"
    rows = _drain(win_server, len(bursts))
    got = sorted((r["dtEventTimeStamp"], r["cnt"], r["first_latency"]) for r in rows)
    assert got == [(T0 + start * 1000, count, start) for start, count in bursts]


def test_restart_after_an_aggregate_edit_starts_with_empty_windows(win_server: WinServer) -> None:
    sql = f"select service, count(*) as cnt, max(latency) as lat from {SRC} group by service"
    flow_id = _flow(win_server, sql, window_type="scroll", count_freq=60, waiting_time=0)
    first = [{"service": "a", "latency": i, "dtEventTimeStamp": T0 + i * 1000} for i in range(90)]
    win_server.produce(SRC, first)
    assert win_server.deploy(flow_id, "start")["status"] == "success"
    wait_until(lambda: len(win_server.records("591_wkind_out")) == 1, what="the first window")
    node_id = {n["node_name"]: n["node_id"] for n in
               win_server.ok("GET", f"flows/{flow_id}/graph/")["nodes"]}["win"]  # fmt: skip
    edited = sql.replace("max(latency)", "min(latency)")
    win_server.ok("PATCH", f"flows/{flow_id}/nodes/{node_id}/", {"sql": edited})
    record = win_server.deploy(flow_id, "restart")
    assert record["status"] == "success", record["logs"]
    later = [
        {"service": "a", "latency": i, "dtEventTimeStamp": T0 + i * 1000} for i in range(90, 240)
    ]
    win_server.produce(SRC, later)
    rows = _drain(win_server, 4)
    by_window = {r["dtEventTimeStamp"]: (r["cnt"], r["lat"]) for r in rows}
    assert by_window[T0] == (60, 59)  # fired before the edit: max
    assert by_window[T0 + 60_000] == (30, 90)  # open at the edit: restarted empty, then min
    assert by_window[T0 + 120_000] == (60, 120)
    assert by_window[T0 + 180_000] == (60, 180)


def test_a_slow_reader_never_makes_unread_records_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1 ms of idleness, 20-record micro-batches: partitions with unread records still hold
    the watermark, so the backlog of the later partitions is counted, not dead-lettered."""
    monkeypatch.setenv("SLUICE_WINDOW_IDLE_TIMEOUT_MS", "1")
    server = WinServer(tmp_path / "slow", batch_records=20)
    try:
        sql = f"select service, count(*) as cnt from {SRC} group by service"
        flow_id = _flow(server, sql, window_type="scroll", count_freq=60, waiting_time=0)
        records = [
            {"service": f"s{i % 3}", "latency": i, "dtEventTimeStamp": T0 + i * 500}
            for i in range(480)  # 4 minutes
        ]
        for chunk in range(4):  # keyless produce calls land on one partition each
            server.produce(SRC, records[chunk::4])
        assert server.deploy(flow_id, "start")["status"] == "success"
        rows = _drain(server, 12)
        got = sorted((r["dtEventTimeStamp"], r["service"], r["cnt"]) for r in rows)
        assert got == [(T0 + m * 60_000, f"s{s}", 40) for m in range(4) for s in range(3)]
        assert server.records("591_wkind_out_dlq") == []
    finally:
        server.close()
