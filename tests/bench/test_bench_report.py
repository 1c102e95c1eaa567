"""BENCHMARKS.md rendering from a fixture results file."""

from __future__ import annotations

from pathlib import Path

from bench.report import load_rows, render, summarise

FIXTURE = Path(__file__).parent / "fixtures" / "bench_results.jsonl"


def test_summaries_use_the_latest_full_run() -> None:
    summaries, metas = summarise(load_rows(FIXTURE))
    assert metas["w1"]["run_id"] == "20261121T120000Z"
    by_tool = {s.tool: s for s in summaries["w1"]}
    py = by_tool["python-json"]
    assert py.rate == (20_000.0, 1000 / 0.06, 25_000.0)  # median, min, max over 3 runs
    assert py.rss_mib == 30.0
    assert by_tool["bytewax"].status == "skipped"
    assert by_tool["rsyslog"].status == "failed"
    assert "2 expected lines missing" in by_tool["rsyslog"].reason


def test_render_has_machine_tables_ratios_versions_and_commands() -> None:
    text = render(load_rows(FIXTURE))
    assert "| AMD EPYC | 2 | 23.5 GiB |" in text
    assert "Old CPU" not in text
    assert "## W1 json-filter-project" in text
    # Sluice median 100,000 ev/s vs Python's 20,000 ev/s
    assert "| Python loop + json | 20,000 | 16,667 – 25,000 |" in text
    assert "5.00×" in text
    assert "skipped: pip install bytewax failed: no wheel" in text
    assert "failed: 2 expected lines missing" in text
    assert "## Bus produce/consume" in text
    assert "500,000 (500,000 – 500,000)" in text  # produce rec/s
    assert "| sluice-flow | 0.1.0 |" in text
    assert "`python -m bench.runners.sluice_bus --records 5000`" in text


def test_quick_rows_render_separately() -> None:
    text = render(load_rows(FIXTURE), quick=True)
    assert "Quick run" in text
    assert "| Python loop + json | 1 |" in text


def test_each_tool_keeps_its_latest_run() -> None:
    summaries, metas = summarise(load_rows(FIXTURE))
    by_tool = {s.tool: s for s in summaries["w1"]}
    assert by_tool["duckdb"].run_id == "20260101T000000Z"  # not re-run since: kept
    assert by_tool["python-json"].run_id == "20261121T120000Z"  # re-run: replaced
    assert metas["w1"]["run_ids"] == ["20260101T000000Z", "20261121T120000Z"]
    assert metas["w1"]["versions"]["duckdb"] == "2.0.0"
    text = render(load_rows(FIXTURE))
    assert "| DuckDB | 500,000 |" in text
    assert "run `20260101T000000Z`, run `20261121T120000Z`" in text
