"""W3's memory check: the bound it checks, its report line, and one real (small) run."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.memory import (
    QUICK_KEYS,
    WINDOWS,
    check_memory,
    memory_lines,
    run_memory_check,
)
from bench.tools import REPO


def test_state_above_two_windows_of_keys_fails_the_check() -> None:
    keys = 1000
    ok, detail = check_memory({"events": keys * WINDOWS, "peak_state_rows": 1125}, keys)
    assert ok and "bounded" in detail
    ok, detail = check_memory({"events": keys * WINDOWS, "peak_state_rows": 4000}, keys)
    assert not ok and "not dropped" in detail
    ok, _ = check_memory({"events": 10, "peak_state_rows": 5}, keys)
    assert not ok  # the runner did not feed every window


def test_the_report_shows_the_latest_check_of_its_kind() -> None:
    base = {"type": "memory", "workload": "w3", "keys": 1000, "quick": False}
    rows = [
        {**base, "run_id": "20261101T000000Z", "status": "failed", "reason": "old"},
        {**base, "run_id": "20261102T000000Z", "status": "ok", "check": "bounded: fine",
         "max_rss_kib": 2048, "result": {"events": 4000, "seconds": 0.5,
                                         "peak_state_rows": 1125, "peak_state_bytes": 2**20}},
        {**base, "run_id": "20261103T000000Z", "quick": True, "status": "failed", "reason": "q"},
    ]  # fmt: skip
    [line, _] = memory_lines(rows, quick=False)
    assert "20261102T000000Z" in line and "8,000 events/s" in line
    assert "1,125 partial rows (1 MiB of Arrow), peak RSS 2 MiB" in line
    assert memory_lines(rows, quick=True)[0].endswith("failed: q")
    assert memory_lines([], quick=False) == []


def test_a_quick_run_of_the_real_runner_is_bounded(tmp_path: Path) -> None:
    row = run_memory_check(sys.executable, REPO, tmp_path, quick=True, timeout=300)
    assert row["status"] == "ok", row
    assert row["keys"] == QUICK_KEYS
    assert row["result"]["events"] == QUICK_KEYS * WINDOWS
    assert row["result"]["peak_state_rows"] <= 2 * QUICK_KEYS
