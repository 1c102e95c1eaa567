"""Measured runs: result parsing, errors, daemon stop on expected output, peak RSS."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bench.daemons import rsyslog_config, syslog_ng_config
from bench.measure import run_command, run_daemon


def test_run_command_parses_the_last_json_line(tmp_path: Path) -> None:
    code = "print('noise'); b = bytearray(30 << 20); print('{\"events\": 3, \"seconds\": 0.5}')"
    m = run_command([sys.executable, "-c", code], cwd=tmp_path, env=None, timeout=60,
                    logdir=tmp_path / "log")  # fmt: skip
    assert m.error is None
    assert m.result == {"events": 3, "seconds": 0.5}
    assert m.max_rss_kib > 30 * 1024  # the 30 MiB buffer is in the child's peak RSS


@pytest.mark.parametrize(
    ("code", "expected"),
    [("import sys; sys.exit(3)", "exited with code 3"), ("print('hi')", "no JSON result")],
)
def test_run_command_reports_failures(tmp_path: Path, code: str, expected: str) -> None:
    m = run_command([sys.executable, "-c", code], cwd=tmp_path, env=None, timeout=60,
                    logdir=tmp_path / "log")  # fmt: skip
    assert m.error is not None and expected in m.error


def test_run_command_kills_on_timeout(tmp_path: Path) -> None:
    m = run_command([sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path,
                    env=None, timeout=0.5, logdir=tmp_path / "log")  # fmt: skip
    assert m.error is not None and "timed out" in m.error


def test_run_daemon_stops_once_the_output_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    code = (f"import time\nwith open({str(out)!r}, 'w') as f:\n"
            "    for i in range(50): f.write(f'{i}\\n'); f.flush()\n"
            "    time.sleep(600)\n")  # fmt: skip
    m = run_daemon([sys.executable, "-c", code], cwd=tmp_path, env=None, output=out,
                   expected_lines=50, timeout=60, logdir=tmp_path / "log")  # fmt: skip
    assert m.error is None
    assert m.result["events"] == 50
    assert m.wall_seconds < 60


def test_run_daemon_reports_a_short_output(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    code = f"open({str(out)!r}, 'w').write('1\\n2\\n')"
    m = run_daemon([sys.executable, "-c", code], cwd=tmp_path, env=None, output=out,
                   expected_lines=5, timeout=60, logdir=tmp_path / "log")  # fmt: skip
    assert m.error is not None and "2 of 5" in m.error


def test_daemon_configs(tmp_path: Path) -> None:
    conf = rsyslog_config("w1", Path("/in.jsonl"), Path("/out.txt"), tmp_path)
    assert 'load="mmjsonparse"' in conf and 'file="/in.jsonl"' in conf
    assert "imuxsock" not in conf and "imklog" not in conf  # no system sockets
    rsyslog_config("w2", Path("/in.log"), Path("/out.txt"), tmp_path)
    assert "%COMBINED" not in (tmp_path / "combined.rb").read_text()
    sng = syslog_ng_config("w2", Path("/in.log"), Path("/out.txt"), "3.38")
    assert "regexp-parser" in sng and "@version: 3.38" in sng and "system()" not in sng
    with pytest.raises(ValueError, match="no config"):
        syslog_ng_config("w3", Path("/in"), Path("/out"), "3.38")
