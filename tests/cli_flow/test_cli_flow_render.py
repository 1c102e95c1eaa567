"""``sluice flow render`` on the real templates, through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "bklog-templates"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sluice.cli.main", "flow", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_render_pre_treat(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
    import bklog_params

    params = tmp_path / "params.json"
    params.write_text(json.dumps(bklog_params.pre_treat("2_src")), encoding="utf-8")
    result = run("render", str(TEMPLATES / "pre_treat_flow.json"), "--params", str(params))
    assert result.returncode == 0, result.stderr
    nodes = json.loads(result.stdout)
    assert [n["node_type"] for n in nodes] == [
        "stream_source",
        "realtime",
        "hdfs_storage",
        "realtime",
        "hdfs_storage",
    ]
    assert nodes[0]["result_table_id"] == "2_src"


def test_render_missing_parameter_fails_clearly(tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"pre_treat": {}}), encoding="utf-8")
    result = run("render", str(TEMPLATES / "pre_treat_flow.json"), "--params", str(params))
    assert result.returncode == 1
    assert "has no attribute 'stream_source'" in result.stderr
