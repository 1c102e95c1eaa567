"""The W1 tcp pipeline runner streams the events through a real server's tcp input and
gives the reference answer (what the suite checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.check import check_output, reference_answer
from bench.runners.sluice_pipeline_tcp import tcp_config

from bench import gen

ROOT = Path(__file__).resolve().parents[2]


def test_tcp_config_swaps_only_the_input() -> None:
    config = tcp_config("w1", 4321, "/tmp/out.jsonl")
    assert config.startswith(
        'input { tcp { host => "127.0.0.1" port => 4321 codec => json_lines } }\n'
    )
    assert "file {" not in config.split("\n", 1)[0]
    assert 'output { file { path => "/tmp/out.jsonl" codec => json_lines } }' in config


def test_w1_tcp_runner_matches_the_reference(tmp_path: Path) -> None:
    events = gen.ensure_dataset(tmp_path / "data", "events", 5000, seed=5)
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "bench.runners.sluice_pipeline_tcp", "--workload", "w1",
         "--input", str(events), "--output", str(out), "--workdir", str(tmp_path / "work"),
         "--settle", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "skipped" not in result, result
    assert result["events"] == 5000 and result["seconds"] > 0
    verdict = check_output("w1", out, events, reference_answer("w1", events, tmp_path / "ref"))
    assert verdict.ok, verdict.detail
