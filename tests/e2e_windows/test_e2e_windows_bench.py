"""The W3 bench runner: both modes give the reference answer (what the suite checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.check import check_output, reference_answer

from bench import gen

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["node", "operator"])
def test_w3_runner_matches_the_reference(tmp_path: Path, mode: str) -> None:
    events = gen.ensure_dataset(tmp_path / "data", "events", 6000, seed=3)
    out = tmp_path / f"out-{mode}.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "bench.runners.sluice_window_w3", "--input", str(events),
         "--output", str(out), "--workdir", str(tmp_path / "work"), "--mode", mode],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["events"] == 6000
    if mode == "node":
        assert result["dead_lettered"] == 0
        assert result["mode"] == "node"
    ref = reference_answer("w3", events, tmp_path / "ref")
    verdict = check_output("w3", out, events, ref, result=result)
    assert verdict.ok, verdict.detail
