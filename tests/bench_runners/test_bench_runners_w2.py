"""The in-process W2 runners give the reference answer (what the suite checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.check import check_output, reference_answer

from bench import gen

ROOT = Path(__file__).resolve().parents[2]


def test_w2_filter_chain_runner_matches_the_reference(tmp_path: Path) -> None:
    log = gen.ensure_dataset(tmp_path / "data", "combined", 5000, seed=5)
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "bench.runners.sluice_filters_w2", "--workload", "w2",
         "--input", str(log), "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["events"] == 5000 and result["seconds"] > 0
    verdict = check_output("w2", out, log, reference_answer("w2", log, tmp_path / "ref"))
    assert verdict.ok, verdict.detail
