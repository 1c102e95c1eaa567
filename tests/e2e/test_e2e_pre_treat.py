"""The log platform's ``pre_treat_flow.json`` run end to end, for each consuming mode.

Records produced into the source RT must come out of both ``hdfs_storage`` outputs with
exactly the rows and fields the two SQL statements define, plus BKData's system fields.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import bklog_params as P
import pytest

from conftest import Server, wait_until
from sluice.model.templates import render_template

SOURCE = f"{P.BIZ}_bklog_source"
SAMPLE = f"{P.BIZ}_pre_treat_sample_set_{P.TS}"
NOT_CLUSTERING = f"{P.BIZ}_pre_treat_not_clustering_{P.TS}"
DECLARED = [name for name, _ in P.source_fields]
SYSTEM = ["dtEventTime", "dtEventTimeStamp", "localTime", "thedate"]
DISTS = ["dist_01", "dist_03", "dist_05", "dist_07", "dist_09"]
BASE_MS = 1_795_000_000_000
_LOGS = ["disk error on sda", "all good", None, "e", "error", "ERROR upper", "x error y"]


def records(first: int, count: int) -> list[dict[str, Any]]:
    """Events with unique ``gseIndex`` values ``first .. first+count-1``."""
    return [
        {
            "log": _LOGS[i % len(_LOGS)],
            "ip": f"10.0.0.{i % 7}",
            "serverIp": "127.0.0.1",
            "path": f"/var/log/app{i % 3}.log",
            "gseIndex": i,
            "iterationIndex": i % 5,
            "dtEventTimeStamp": BASE_MS + i * 1000,
        }
        for i in range(first, first + count)
    ]


def is_sample(record: dict[str, Any]) -> bool:
    """The sample-set filter: log not null, longer than 1, containing ``error``."""
    log = record["log"]
    return log is not None and len(log) > 1 and "error" in log


def start_pre_treat(server: Server) -> int:
    server.make_table(P.BIZ, "bklog_source", P.source_fields)
    template = (P.TEMPLATES / "pre_treat_flow.json").read_text(encoding="utf-8")
    nodes = render_template(template, P.pre_treat(SOURCE))
    return server.create_flow("pre_treat", nodes)


def check_rows(server: Server, sent: list[dict[str, Any]], expected: Counter[int]) -> None:
    """Both outputs hold exactly the expected events (by gseIndex, with multiplicity)."""
    by_index = {r["gseIndex"]: r for r in sent}
    for rt, keep, extra in ((SAMPLE, True, []), (NOT_CLUSTERING, False, DISTS)):
        table = server.hdfs_table(rt, "hdfs-default")
        assert table.column_names == DECLARED + extra + SYSTEM
        rows = table.to_pylist()
        want = Counter({i: n for i, n in expected.items() if is_sample(by_index[i]) == keep})
        assert Counter(r["gseIndex"] for r in rows) == want
        for row in rows:
            source = by_index[row["gseIndex"]]
            assert {k: row[k] for k in DECLARED} == {k: source[k] for k in DECLARED}
            assert all(row[d] == "" for d in extra)
            stamp = source["dtEventTimeStamp"]
            moment = datetime.fromtimestamp(stamp / 1000, UTC)
            assert row["dtEventTimeStamp"] == stamp
            assert row["dtEventTime"] == moment.strftime("%Y-%m-%d %H:%M:%S")
            assert row["thedate"] == int(moment.strftime("%Y%m%d"))
            assert len(row["localTime"]) == 19


def wait_rows(server: Server, sent: list[dict[str, Any]], expected: Counter[int]) -> None:
    def total(rt: str) -> int:
        table = server.hdfs_table(rt, "hdfs-default")
        return int(table.num_rows)

    by_index = {r["gseIndex"]: r for r in sent}
    want_sample = sum(n for i, n in expected.items() if is_sample(by_index[i]))
    want_other = sum(expected.values()) - want_sample
    wait_until(
        lambda: total(SAMPLE) >= want_sample and total(NOT_CLUSTERING) >= want_other,
        what=f"{want_sample} + {want_other} rows in the hdfs outputs",
    )
    time.sleep(0.3)  # nothing more may arrive
    check_rows(server, sent, expected)


@pytest.mark.parametrize("mode", ["continue", "from_head", "from_tail"])
def test_pre_treat_flow_end_to_end(server: Server, mode: str) -> None:
    flow_id = start_pre_treat(server)
    first = records(0, 70)
    server.produce(SOURCE, first)
    # The first start: every mode reads what the source holds except from_tail.
    record = server.deploy(flow_id, "start", consuming_mode=mode)
    assert record["status"] == "success", record["logs"]
    later = records(70, 35)
    server.produce(SOURCE, later)
    sent = first + later
    expected = Counter(r["gseIndex"] for r in (later if mode == "from_tail" else sent))
    wait_rows(server, sent, expected)
    assert all(n["status"] == "running" for n in server.nodes(flow_id).values())


@pytest.mark.parametrize("mode", ["continue", "from_head", "from_tail"])
def test_consuming_mode_on_a_second_start(server: Server, mode: str) -> None:
    flow_id = start_pre_treat(server)
    a = records(0, 21)
    server.produce(SOURCE, a)
    assert server.deploy(flow_id, "start")["status"] == "success"
    wait_rows(server, a, Counter(r["gseIndex"] for r in a))
    assert server.deploy(flow_id, "stop")["status"] == "success"
    c = records(100, 14)  # produced while the flow is stopped
    server.produce(SOURCE, c)
    assert server.deploy(flow_id, "start", consuming_mode=mode)["status"] == "success"
    d = records(200, 14)
    server.produce(SOURCE, d)
    ids = {
        "continue": a + c + d,
        "from_head": a + a + c + d,
        "from_tail": a + d,
    }[mode]
    wait_rows(server, a + c + d, Counter(r["gseIndex"] for r in ids))
