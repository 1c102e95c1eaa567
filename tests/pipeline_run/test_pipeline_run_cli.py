"""``sluice pipeline test|check|run`` through the real typer app."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from sluice.cli.main import app

CONFIG = """
filter {
  grok { match => { "message" => "%{WORD:verb} %{NUMBER:code:int}" } }
  date { match => ["when", "ISO8601"] }
}
"""


def _files(tmp_path: Path, expected: list[dict[str, object]]) -> list[str]:
    conf = tmp_path / "p.conf"
    conf.write_text(CONFIG)
    events = tmp_path / "in.jsonl"
    events.write_text(
        '{"message": "GET 200", "when": "2020-01-01T00:00:00+01:00"}\n{"message": "???"}\n'
    )
    expect = tmp_path / "expect.jsonl"
    expect.write_text("".join(orjson.dumps(e).decode() + "\n" for e in expected))
    return ["pipeline", "test", str(conf), "--input", str(events), "--expect", str(expect)]


GOOD = [
    {"message": "GET 200", "verb": "GET", "code": 200, "when": "2020-01-01T00:00:00+01:00",
     "@timestamp": "2019-12-31T23:00:00.000Z"},
    {"message": "???", "tags": ["_grokparsefailure"]},
]  # fmt: skip


def test_pipeline_test_passes(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _files(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    assert "2 events match" in result.output


def test_pipeline_test_reports_each_mismatch(tmp_path: Path) -> None:
    bad = [dict(GOOD[0], code=201), GOOD[1]]
    result = CliRunner().invoke(app, _files(tmp_path, bad))
    assert result.exit_code == 1
    assert "event 1: [code] expected 201, got 200" in result.output


def test_pipeline_check(tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text("filter { mutate { nope => 1 } }")
    result = CliRunner().invoke(app, ["pipeline", "check", str(conf)])
    assert result.exit_code == 1 and "nope" in result.output


def test_pipeline_run_with_a_finite_input(tmp_path: Path) -> None:
    conf = tmp_path / "gen.conf"
    out = tmp_path / "out.jsonl"
    conf.write_text(
        f'input {{ generator {{ count => 5 message => "k=v" }} }} filter {{ kv {{}} }} '
        f'output {{ file {{ path => "{out}" }} }}'
    )
    result = CliRunner().invoke(app, ["pipeline", "run", str(conf), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "5 in, 5 out" in result.output
    rows = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert [r["k"] for r in rows] == ["v"] * 5
