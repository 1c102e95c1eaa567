"""The bklog flow templates' windowed nodes, driven with exactly their window settings.

The node dicts below are copied from ``reference/bklog-templates`` (Jinja placeholders
removed): ``bk-monitor/log_count_aggregation_flow.json`` (the ``日志数量统计`` aggregation and
the ``Pattern 提取`` node) and the ``group_by`` node (``预聚合节点``) of ``after_treat_flow.json``.
The SQL layer turns their SQL into these group keys and aggregates; the constant
``'__dist_05' as sensitivity`` is a post-projection and not the engine's business.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sluice.windows import AggSpec, WindowConfig, WindowOperator, WindowOutput

LATENESS = {"allowed_lateness": False, "lateness_time": 1, "lateness_count_freq": 60}
LOG_COUNT_NODE: dict[str, Any] = {
    "count_freq": 60, "waiting_time": 300, "window_time": None, "window_type": "scroll",
    "counter": None, "session_gap": None, "expired_time": None, "window_lateness": LATENESS,
}  # fmt: skip
PATTERN_NODE: dict[str, Any] = {**LOG_COUNT_NODE, "waiting_time": 120}
GROUP_BY_NODE: dict[str, Any] = {**LOG_COUNT_NODE, "count_freq": 300, "waiting_time": 0}
T0 = 1_793_491_200_000  # a whole hour


def feed(op: WindowOperator, events: list[dict[str, Any]], size: int = 3) -> list[WindowOutput]:
    outs = []
    for i in range(0, len(events), size):
        outs.append(op.process(pa.Table.from_pylist(events[i : i + size]), 0, now_ms=0))
    return outs


def rows(outs: list[WindowOutput]) -> list[dict[str, Any]]:
    return [r for out in outs for r in out.rows.to_pylist()]


def test_log_count_aggregation_counts_per_signature_and_minute() -> None:
    config = WindowConfig.from_node_config(LOG_COUNT_NODE)
    assert (config.count_freq, config.waiting_time, config.window_time) == (60, 300, 0)
    op = WindowOperator(config, ["signature"], [AggSpec(func="count", alias="log_count")])
    at = [  # (seconds after T0, signature): out of order by up to 290 s, within waiting_time
        (5, "s1"), (59, "s2"), (70, "s1"), (10, "s1"), (61, "s2"), (300, "s3"),
        (20, "s2"), (30, "s1"), (65, "s1"), (12, "s1"), (340, "s1"), (50, "s2"),
    ]  # fmt: skip
    events = [{"dtEventTimeStamp": T0 + s * 1000, "signature": sig} for s, sig in at]
    outs = feed(op, events)
    assert rows(outs) == []  # max event time 340 s: no window ended 300 s before it
    outs += feed(op, [{"dtEventTimeStamp": T0 + 360_000, "signature": "s9"}])
    first = {(r["dtEventTimeStamp"], r["signature"]): r["log_count"] for r in rows(outs)}
    assert first == {(T0, "s1"): 4, (T0, "s2"): 3}
    late = feed(op, [{"dtEventTimeStamp": T0 + 1_000, "signature": "s1"}])
    assert late[0].late.num_rows == 1 and late[0].rows.num_rows == 0
    outs.append(op.flush())
    got = {(r["dtEventTimeStamp"], r["signature"]): r["log_count"] for r in rows(outs)}
    assert got == {
        (T0, "s1"): 4,
        (T0, "s2"): 3,
        (T0 + 60_000, "s1"): 2,
        (T0 + 60_000, "s2"): 1,
        (T0 + 300_000, "s3"): 1,
        (T0 + 300_000, "s1"): 1,
        (T0 + 360_000, "s9"): 1,
    }
    window = next(r for r in rows(outs) if r["dtEventTimeStamp"] == T0)
    assert window["_startTime_"] == "2026-11-01 00:00:00"
    assert window["_endTime_"] == "2026-11-01 00:01:00"
    assert window["dtEventTime"] == "2026-11-01 00:00:00"


def test_pattern_node_keeps_last_pattern_and_log_by_arrival() -> None:
    op = WindowOperator(
        WindowConfig.from_node_config(PATTERN_NODE),
        ["signature"],
        [
            AggSpec(func="last", column="pattern", alias="pattern"),
            AggSpec(func="last", column="log", alias="log"),
        ],
    )
    events = [
        {"dtEventTimeStamp": T0 + 30_000, "signature": "a", "pattern": "p1", "log": "l1"},
        {"dtEventTimeStamp": T0 + 10_000, "signature": "a", "pattern": "p2", "log": "l2"},
        {"dtEventTimeStamp": T0 + 20_000, "signature": "a", "pattern": None, "log": "l3"},
        {"dtEventTimeStamp": T0 + 40_000, "signature": "b", "pattern": "q1", "log": "m1"},
    ]
    outs = feed(op, events, size=2)
    outs.append(op.flush())
    got = {r["signature"]: (r["pattern"], r["log"]) for r in rows(outs)}
    assert got == {"a": ("p2", "l3"), "b": ("q1", "m1")}


def test_after_treat_group_by_node_max_event_time() -> None:
    config = WindowConfig.from_node_config(GROUP_BY_NODE)
    op = WindowOperator(
        config,
        ["sensitivity", "signature"],
        [
            AggSpec(func="max", column="event_time", alias="event_time"),
            AggSpec(func="count", alias="cnt"),
        ],
    )
    events = []
    for i in range(90):
        t = T0 + i * 10_000  # 15 minutes, one record every 10 s
        events.append(
            {
                "dtEventTimeStamp": t,
                "sensitivity": "__dist_05" if i % 3 else "__dist_01",
                "signature": f"sig{i % 2}",
                "event_time": t // 1000,
            }
        )
    outs = feed(op, events, size=7)
    # waiting_time 0: the first two 5-minute windows fired as soon as later records arrived
    assert {r["dtEventTimeStamp"] for r in rows(outs)} == {T0, T0 + 300_000}
    outs.append(op.flush())
    got = {
        (r["dtEventTimeStamp"], r["sensitivity"], r["signature"]): (r["event_time"], r["cnt"])
        for r in rows(outs)
    }
    assert len(got) == 3 * 4
    assert sum(cnt for _, cnt in got.values()) == 90
    assert got[(T0, "__dist_05", "sig1")] == ((T0 + 290_000) // 1000, 10)
    assert got[(T0, "__dist_01", "sig0")] == ((T0 + 240_000) // 1000, 5)
    assert got[(T0 + 600_000, "__dist_05", "sig0")] == ((T0 + 880_000) // 1000, 10)
