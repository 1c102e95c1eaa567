"""Windowed realtime nodes joining two stream inputs within 60-second scroll windows.

Records of both streams are assigned to windows by ``dtEventTimeStamp``; the node's SQL
(inner join, left join, join + GROUP BY) runs on each window's rows when the watermark of
both inputs passes the window's end, so rows of different windows never join. Output rows
carry the window start as event time. Late records go to the DLQ, and a stop/``continue``
in the middle of a window neither loses nor repeats a joined row.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from e2e_windows_helpers import WinServer, wait_until

from sluice.runtime.tasks.checkpoint import state_dir
from sluice.windows import read_checkpoint

LEFT, RIGHT = "591_wj_left", "591_wj_right"
INNER, OUTER, AGG = "591_wj_inner", "591_wj_outer", "591_wj_agg"
T0 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000
S = 1_000
FAR = T0 + 86_400_000
SYSTEM = {"dtEventTime", "dtEventTimeStamp", "localTime", "thedate"}


@pytest.fixture(autouse=True)
def _slow_idleness(win_server: WinServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """6 s before a silent partition stops holding the watermark (the fixture's 2 s).

    On a loaded machine one input's first batch can come seconds after the other's; with a
    short idle timeout the partitions of the late input would turn idle first, let the
    watermark pass its windows and make its records late (idleness works that way).
    """
    monkeypatch.setenv("SLUICE_WINDOW_IDLE_TIMEOUT_MS", "6000")


def _setup(server: WinServer) -> None:
    server.make_table(591, "wj_left", [("k", "string"), ("x", "long")])
    server.make_table(591, "wj_right", [("k", "string"), ("y", "long")])


def _join_node(node_id: int, table: str, sql: str, **window: Any) -> dict[str, Any]:
    settings = {"window_type": "scroll", "count_freq": 60, "waiting_time": 10, **window}
    return {"id": node_id, "node_type": "realtime", "bk_biz_id": 591, "name": table,
            "table_name": table, "sql": sql, **settings,
            "from_nodes": [{"id": 1, "from_result_table_ids": [LEFT]},
                           {"id": 2, "from_result_table_ids": [RIGHT]}]}  # fmt: skip


def _sources() -> list[dict[str, Any]]:
    return [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "left",
         "result_table_id": LEFT, "from_nodes": []},
        {"id": 2, "node_type": "stream_source", "bk_biz_id": 591, "name": "right",
         "result_table_id": RIGHT, "from_nodes": []},
    ]  # fmt: skip


def _queue(node_id: int, parent: int, rt: str) -> dict[str, Any]:
    return {"id": node_id, "node_type": "queue_storage", "bk_biz_id": 591, "name": f"{rt}(q)",
            "result_table_id": rt, "cluster": "default", "expires": 1,
            "from_nodes": [{"id": parent, "from_result_table_ids": [rt]}]}  # fmt: skip


def _beat(server: WinServer) -> None:
    """Far-future records on both inputs (keys that never match) move the watermark on."""
    server.produce(LEFT, [{"k": "beat-l", "x": 0, "dtEventTimeStamp": FAR}])
    server.produce(RIGHT, [{"k": "beat-r", "y": 0, "dtEventTimeStamp": FAR}])


def _wait_rows(server: WinServer, rt: str, want: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def done() -> bool:
        nonlocal rows
        _beat(server)
        rows = server.records(rt)
        return len(rows) >= want

    wait_until(done, what=f"{want} rows in {rt}")
    return rows


def _l(k: str, x: int, t: int) -> dict[str, Any]:
    return {"k": k, "x": x, "dtEventTimeStamp": t}


def _r(k: str, y: int, t: int) -> dict[str, Any]:
    return {"k": k, "y": y, "dtEventTimeStamp": t}


def test_inner_left_and_aggregate_joins_stay_within_their_window(win_server: WinServer) -> None:
    _setup(win_server)
    nodes = [
        *_sources(),
        _join_node(3, "wj_inner",
                   f"select a.k, a.x, b.y from {LEFT} a join {RIGHT} b on a.k = b.k"),
        _join_node(4, "wj_outer",
                   f"select a.k, a.x, b.y from {LEFT} a LEFT JOIN {RIGHT} b on a.k = b.k"),
        _join_node(5, "wj_agg",
                   f"select a.k, count(*) as cnt, sum(b.y) as s from {LEFT} a "
                   f"join {RIGHT} b on a.k = b.k and b.y > 0 group by a.k"),
        _queue(6, 3, INNER), _queue(7, 4, OUTER), _queue(8, 5, AGG),
    ]  # fmt: skip
    flow_id = win_server.create_flow("wjoin", nodes)
    assert win_server.deploy(flow_id, "start")["status"] == "success"
    # Window W0 = [T0, T0+60 s), W1 = [T0+60 s, T0+120 s); interleaved and out of order
    # within waiting_time (10 s).
    win_server.produce(LEFT, [_l("a", 1, T0 + 5 * S), _l("b", 2, T0 + 50 * S)])
    win_server.produce(RIGHT, [_r("a", 10, T0 + 58 * S), _r("a", 11, T0 + 61 * S)])
    win_server.produce(LEFT, [_l("a", 3, T0 + 65 * S), _l("c", 4, T0 + 70 * S)])
    # b's right record is in W1 while b's left record is in W0: they must not join.
    # The right a=12 comes after W1 records but belongs to W0 (within waiting_time).
    win_server.produce(RIGHT, [_r("b", 20, T0 + 62 * S), _r("a", 12, T0 + 30 * S)])
    win_server.produce(RIGHT, [_r("c", -1, T0 + 75 * S)])

    w0, w1 = T0, T0 + 60 * S
    inner = _wait_rows(win_server, INNER, 4)
    outer = _wait_rows(win_server, OUTER, 5)
    agg = _wait_rows(win_server, AGG, 2)

    def rows(found: list[dict[str, Any]], *cols: str) -> Counter[tuple[Any, ...]]:
        return Counter((r["dtEventTimeStamp"], *(r[c] for c in cols)) for r in found)

    assert rows(inner, "k", "x", "y") == Counter(
        [(w0, "a", 1, 10), (w0, "a", 1, 12), (w1, "a", 3, 11), (w1, "c", 4, -1)]
    )
    assert rows(outer, "k", "x", "y") == Counter(
        [(w0, "a", 1, 10), (w0, "a", 1, 12), (w0, "b", 2, None), (w1, "a", 3, 11),
         (w1, "c", 4, -1)]
    )  # fmt: skip
    assert rows(agg, "k", "cnt", "s") == Counter([(w0, "a", 2, 22), (w1, "a", 1, 11)])
    for row in inner + outer + agg:
        assert row["dtEventTime"] == _utc(row["dtEventTimeStamp"])
        assert set(row) >= SYSTEM
    assert set(inner[0]) == {"k", "x", "y", *SYSTEM}

    # A record of a window that already fired is late: it goes to the DLQ with its origin.
    win_server.produce(RIGHT, [_r("a", 99, T0 + 1 * S)])
    dlq: list[dict[str, Any]] = []

    def dead() -> bool:
        nonlocal dlq
        dlq = win_server.records(f"{INNER}_dlq")
        return len(dlq) >= 1

    wait_until(dead, what="a late record in the DLQ")
    assert dlq[0]["reason"].startswith("late: event time ")
    assert dlq[0]["input_rt"] == RIGHT
    assert json.loads(dlq[0]["value"])["y"] == 99
    assert rows(win_server.records(INNER), "k", "x", "y")[(w0, "a", 1, 99)] == 0


def _stream(first: int, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Left and right records every 0.5 s from ``first``; keys k0..k4, right lags 7 s."""
    left = [_l(f"k{i % 5}", i, T0 + i * 500) for i in range(first, first + count)]
    right = [_r(f"k{i % 5}", i, T0 + i * 500 - 7 * S) for i in range(first, first + count)]
    return left, right


def _expected(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> Counter[Any]:
    out: Counter[Any] = Counter()
    for a in left:
        for b in right:
            wa = a["dtEventTimeStamp"] // 60_000 * 60_000
            if a["k"] == b["k"] and wa == b["dtEventTimeStamp"] // 60_000 * 60_000:
                out[(wa, a["k"], a["x"], b["y"])] += 1
    return out


def test_continue_mid_window_neither_loses_nor_repeats_a_joined_row(
    win_server: WinServer,
) -> None:
    _setup(win_server)
    sql = f"select a.k, a.x, b.y from {LEFT} a join {RIGHT} b on a.k = b.k"
    flow_id = win_server.create_flow(
        "wjoin-resume", [*_sources(), _join_node(3, "wj_inner", sql), _queue(4, 3, INNER)]
    )
    left1, right1 = _stream(0, 300)  # 150 s: the third window is open at the stop
    win_server.produce(LEFT, left1)
    win_server.produce(RIGHT, right1)
    assert win_server.deploy(flow_id, "start")["status"] == "success"
    wait_until(lambda: win_server.inputs(flow_id)["wj_inner"] >= 600, what="first records read")
    # Silent partitions turn idle (6 s), so the first two windows fire before the stop.
    first_two = _expected(left1, right1)
    first_two = Counter({k: v for k, v in first_two.items() if k[0] < T0 + 120 * S})
    wait_until(lambda: len(win_server.records(INNER)) >= first_two.total(), what="W0 and W1")
    assert win_server.deploy(flow_id, "stop")["status"] == "success"
    before = win_server.records(INNER)
    # The final checkpoint holds the buffered open window with the offsets of both inputs.
    graph = win_server.ok("GET", f"flows/{flow_id}/graph/")["nodes"]
    node_id = {n["node_name"]: n["node_id"] for n in graph}["wj_inner"]
    stored = read_checkpoint(state_dir(win_server.data_dir, flow_id, node_id))
    assert stored is not None
    read: Counter[str] = Counter()
    for key, offset in stored.offsets.items():
        read[key.rpartition(":")[0]] += offset
    assert read == {f"table_{LEFT}": 300, f"table_{RIGHT}": 300}
    assert Counter((r["dtEventTimeStamp"], r["k"], r["x"], r["y"]) for r in before) == first_two
    left2, right2 = _stream(300, 200)  # also lands in the window open at the stop
    win_server.produce(RIGHT, right2)
    win_server.produce(LEFT, left2)
    assert win_server.deploy(flow_id, "start", consuming_mode="continue")["status"] == "success"
    expected = _expected(left1 + left2, right1 + right2)
    rows = _wait_rows(win_server, INNER, sum(expected.values()))
    got = Counter((r["dtEventTimeStamp"], r["k"], r["x"], r["y"]) for r in rows)
    assert got == expected


def test_a_slow_reader_never_makes_unread_records_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idleness is for silent partitions only: one with unread records holds the watermark.

    1 ms of idleness and 20-record micro-batches: the loop reads the left input's backlog
    long before the right one's, and every partition is silent far longer than 1 ms between
    its reads. Yet no record is late, and each window joins all its records.
    """
    monkeypatch.setenv("SLUICE_WINDOW_IDLE_TIMEOUT_MS", "1")
    server = WinServer(tmp_path / "slow", batch_records=20)
    try:
        _setup(server)
        sql = f"select a.k, a.x, b.y from {LEFT} a join {RIGHT} b on a.k = b.k"
        flow_id = server.create_flow(
            "wjoin-slow", [*_sources(), _join_node(3, "wj_inner", sql), _queue(4, 3, INNER)]
        )
        left, right = _stream(0, 300)
        server.produce(LEFT, left)
        server.produce(RIGHT, right)
        assert server.deploy(flow_id, "start")["status"] == "success"
        expected = _expected(left, right)
        rows = _wait_rows(server, INNER, sum(expected.values()))
        assert Counter((r["dtEventTimeStamp"], r["k"], r["x"], r["y"]) for r in rows) == expected
        assert server.records(f"{INNER}_dlq") == []
    finally:
        server.close()


def test_two_streams_on_a_slide_window_fail_the_start(win_server: WinServer) -> None:
    _setup(win_server)
    sql = f"select a.k, b.y from {LEFT} a join {RIGHT} b on a.k = b.k"
    node = _join_node(3, "wj_inner", sql, window_type="slide", window_time=2)
    flow_id = win_server.create_flow("wjoin-slide", [*_sources(), node, _queue(4, 3, INNER)])
    record = win_server.deploy(flow_id, "start")
    assert record["status"] == "failure"
    assert "supports scroll windows only" in str(record["logs"])


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
