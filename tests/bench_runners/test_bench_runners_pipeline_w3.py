"""The sluice-pipeline runner's W3 row (window filter, through the real server) gives the
reference answer (what the suite checks), end-of-input marker left out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.check import check_output, reference_answer

from bench import gen

ROOT = Path(__file__).resolve().parents[2]


def test_w3_pipeline_runner_matches_the_reference(tmp_path: Path) -> None:
    events = gen.ensure_dataset(tmp_path / "data", "events", 6000, seed=3)
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "bench.runners.sluice_pipeline", "--workload", "w3",
         "--input", str(events), "--output", str(out), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["events"] == 6000 and result["seconds"] > 0
    verdict = check_output("w3", out, events, reference_answer("w3", events, tmp_path / "ref"))
    assert verdict.ok, verdict.detail
