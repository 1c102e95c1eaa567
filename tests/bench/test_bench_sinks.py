"""The ``sinks`` workload: its check, its wiring in the suite, its report, and the real runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench.report import render, summarise
from bench.sinks import check_sink
from bench.suite import WORKLOADS, Options, _one_run
from bench.tools import TOOLS, Ready, Tool

from servicecheck import require_service

N = 1000
IDS = N * (N - 1) // 2


def _result(**changes: Any) -> dict[str, Any]:
    base = {"target": "pgsql", "server": "PostgreSQL 15.20", "events": N, "seconds": 0.02,
            "driver_seconds": 0.01, "rows": N, "id_sum": IDS, "driver_rows": N,
            "driver_id_sum": IDS, "sink_rss_kib": 150 * 1024, "driver_rss_kib": 160 * 1024}  # fmt: skip
    return {**base, **changes}


def test_check_passes_when_both_sides_stored_every_event() -> None:
    ok, detail = check_sink(_result(), N)
    assert ok, detail
    assert "1000 rows stored by each side" in detail


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rows": N - 1}, "the Sluice sink stored 999 rows, expected 1000"),
        ({"driver_rows": N + 5}, "the plain driver stored 1005 rows, expected 1000"),
        ({"id_sum": IDS - 7 + 3}, "the Sluice sink's ids sum to"),  # one id lost, one duplicated
        ({"events": 10}, "the runner wrote 10 events, expected 1000"),
    ],
)
def test_check_catches_a_wrong_count(changes: dict[str, Any], expected: str) -> None:
    ok, detail = check_sink(_result(**changes), N)
    assert not ok
    assert expected in detail


def test_check_requires_the_read_back_fields() -> None:
    result = _result()
    del result["driver_id_sum"]
    ok, detail = check_sink(result, N)
    assert not ok and "lacks driver_id_sum" in detail


def test_each_store_is_a_sink_tool_of_the_workload() -> None:
    sinks = {t.target: t for t in TOOLS if "sinks" in t.workloads}
    assert set(sinks) == {"mysql", "pgsql", "redis"}
    assert all(t.kind == "sink" and t.sluice for t in sinks.values())
    assert WORKLOADS["sinks"].n == 1_000_000


def _fake_runner(tmp_path: Path, result: dict[str, Any]) -> tuple[Tool, Ready]:
    """A stand-in runner module that prints ``result`` and records its argv."""
    (tmp_path / "fake_sink_runner.py").write_text(
        "import json, sys\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"print(json.dumps({result!r}))\n"
    )
    tool = Tool("fake-sink", "sink", ("sinks",), module="fake_sink_runner", sluice=True,
                target="pgsql")  # fmt: skip
    return tool, Ready("0", env={"PYTHONPATH": str(tmp_path)})


@pytest.mark.parametrize(("result", "status"), [(_result(), "ok"), (_result(rows=998), "failed")])
def test_the_suite_checks_every_sink_run(
    tmp_path: Path, result: dict[str, Any], status: str
) -> None:
    tool, ready = _fake_runner(tmp_path, result)
    opts = Options(workloads=["sinks"], quick=True, runs=1, cache=tmp_path / "cache", timeout=60)
    row = _one_run(tool, ready, WORKLOADS["sinks"], N, Path(), None, {}, opts, 0)
    assert row["status"] == status, row
    assert json.loads((tmp_path / "argv.json").read_text()) == [
        "--target", "pgsql", "--events", str(N)]  # fmt: skip
    if status == "failed":
        assert "stored 998 rows, expected 1000" in row["check"]


def _run_row(tool: str, run: int, result: dict[str, Any], status: str = "ok") -> dict[str, Any]:
    return {"run_id": "20261121T230000Z", "quick": False, "type": "run", "workload": "sinks",
            "tool": tool, "label": tool, "sluice": True, "n": N, "input_bytes": 0, "run": run,
            "status": status, "command": f"python -m bench.runners.sluice_sinks --target {tool}",
            "max_rss_kib": 200 * 1024, "result": result,
            "check": "" if status == "ok" else "the Sluice sink stored 999 rows, expected 1000"}  # fmt: skip


def test_report_has_a_table_per_target_with_rates_ratio_and_rss() -> None:
    meta = {"run_id": "20261121T230000Z", "quick": False, "type": "meta", "runs": 3,
            "date": "2026-11-21T23:00:00", "machine": {"cpu": "AMD EPYC"},
            "versions": {"sluice-sink-pgsql": "0.1.0"}}  # fmt: skip
    rows = [
        _run_row("sluice-sink-pgsql", i, _result(seconds=s, driver_seconds=d))
        for i, (s, d) in enumerate([(0.01, 0.009), (0.02, 0.01), (0.005, 0.005)])
    ]
    rows.append(_run_row("sluice-sink-mysql", 0, _result(target="mysql", rows=N - 1), "failed"))
    rows.append(meta)
    summaries, _ = summarise(rows)
    pg = next(s for s in summaries["sinks"] if s.tool == "sluice-sink-pgsql")
    assert pg.extra["ratio"] == pytest.approx(
        (0.9, 0.5, 1.0)
    )  # per-run driver seconds / sink seconds
    text = render(rows)
    assert "## Sinks: MariaDB, PostgreSQL, Redis" in text
    assert "### PostgreSQL" in text and "PostgreSQL 15.20." in text
    # sink: 1000 events in 0.005 / 0.01 / 0.02 s; driver: 0.005 / 0.009 / 0.01 s
    assert (
        "| **Sluice sink** | 100,000 | 50,000 – 200,000 | 150 | **0.90×** (0.50 – 1.00) |" in text
    )
    assert "| Plain driver | 111,111 | 100,000 – 200,000 | 160 | – |" in text
    assert "### MariaDB" in text
    assert "failed: the Sluice sink stored 999 rows, expected 1000" in text
    assert "3 runs per tool" in text


@pytest.mark.parametrize(
    ("target", "service", "port"),
    [("mysql", "MariaDB", 3306), ("pgsql", "PostgreSQL", 5432), ("redis", "Redis", 6379)],
)
def test_the_real_runner_stores_and_reads_back_every_event(
    tmp_path: Path, target: str, service: str, port: int
) -> None:
    require_service(service, "127.0.0.1", port)
    tool = next(t for t in TOOLS if t.target == target)
    opts = Options(workloads=["sinks"], quick=True, runs=1, cache=tmp_path, timeout=120)
    row = _one_run(tool, Ready("0"), WORKLOADS["sinks"], 2000, Path(), None, {}, opts, 0)
    assert row["status"] == "ok", row
    result = row["result"]
    assert result["rows"] == result["driver_rows"] == 2000
    assert result["server"].split()[0] in {"MariaDB", "MySQL", "PostgreSQL", "Redis"}
