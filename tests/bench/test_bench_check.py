"""The correctness checks accept the reference answer and catch wrong outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.check import Digest, check_output, reference_answer, reference_lines

from bench import gen

N = 3000


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("data")
    for kind in gen.KINDS:
        gen.ensure_dataset(cache, kind, N, seed=11)
    return cache


def _events(data: Path) -> Path:
    return gen.dataset_path(data, "events", N, 11)


def _w1_rows(data: Path) -> list[dict[str, object]]:
    rows = []
    for line in _events(data).read_text().splitlines():
        ev = json.loads(line)
        if ev["level"] in ("WARN", "ERROR") or ev["status"] >= 500:
            rows.append({"ts": ev["ts"], "host": ev["host"], "service": ev["service"],
                         "level": ev["level"], "status": ev["status"],
                         "latency_us": ev["latency_ms"] * 1000})  # fmt: skip
    return rows


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_digest_ignores_order() -> None:
    a, b = Digest(), Digest()
    for x in ("x", "y", "z"):
        a.add(x)
    for x in ("z", "x", "y"):
        b.add(x)
    assert a == b
    b.add("x")
    assert a != b


def test_w1_correct_output_passes_in_any_order(data: Path, tmp_path: Path) -> None:
    rows = _w1_rows(data)[::-1]
    for r in rows[:50]:  # integral microseconds written as integers are fine
        r["latency_us"] = round(float(str(r["latency_us"])))
    ref = reference_answer("w1", _events(data), tmp_path)
    result = check_output("w1", _write(tmp_path / "o", rows), _events(data), ref)
    assert result.ok, result.detail


@pytest.mark.parametrize("mutation", ["value", "drop", "extra_field", "string_status", "dup"])
def test_w1_wrong_output_fails(data: Path, tmp_path: Path, mutation: str) -> None:
    rows = _w1_rows(data)
    if mutation == "value":
        rows[3]["status"] = 418
    elif mutation == "drop":
        rows.pop()
    elif mutation == "extra_field":
        rows[0]["extra"] = 1
    elif mutation == "string_status":
        rows[0]["status"] = str(rows[0]["status"])
    else:
        rows.append(rows[0])
    ref = reference_answer("w1", _events(data), tmp_path)
    result = check_output("w1", _write(tmp_path / "o", rows), _events(data), ref)
    assert not result.ok
    assert result.detail


def test_w0_and_w2_references_match_their_inputs(data: Path, tmp_path: Path) -> None:
    events = _events(data)
    out = tmp_path / "w0"
    out.write_bytes(events.read_bytes())
    assert check_output("w0", out, events, reference_answer("w0", events, tmp_path)).ok
    out.write_bytes(events.read_bytes().replace(b'"INFO"', b'"info"', 1))
    assert not check_output("w0", out, events, reference_answer("w0", events, tmp_path)).ok
    combined = gen.dataset_path(data, "combined", N, 11)
    lines = list(reference_lines("w2", combined))
    assert len(lines) == N
    out.write_text("\n".join(lines) + "\n")
    assert check_output("w2", out, combined, reference_answer("w2", combined, tmp_path)).ok


def test_w3_checks_every_window(data: Path, tmp_path: Path) -> None:
    ref = reference_answer("w3", _events(data), tmp_path)
    rows = [{"window_start": r[0], "service": r[1], "level": r[2], "count": r[3],
             "avg_latency_ms": r[4], "max_latency_ms": r[5]} for r in ref["rows"]]  # fmt: skip
    assert check_output("w3", _write(tmp_path / "o", rows), _events(data), ref).ok
    bad_count = [dict(r) for r in rows]
    bad_count[0]["count"] = int(str(bad_count[0]["count"])) + 1
    assert not check_output("w3", _write(tmp_path / "o", bad_count), _events(data), ref).ok
    assert not check_output("w3", _write(tmp_path / "o", rows[1:]), _events(data), ref).ok
    assert not check_output("w3", _write(tmp_path / "o", [*rows, rows[0]]), _events(data), ref).ok


def test_w4_requires_exactly_the_templates(data: Path, tmp_path: Path) -> None:
    templates = gen.dataset_path(data, "templates", N, 11)
    truth = list(templates.read_bytes())
    out = tmp_path / "ids"
    out.write_text("".join(f"{t + 1000}\n" for t in truth))
    ok = check_output("w4", out, _events(data), {}, templates=templates)
    assert ok.ok, ok.detail
    merged = [min(t, 1) for t in truth]  # many templates folded into one cluster
    out.write_text("".join(f"{t}\n" for t in merged))
    assert not check_output("w4", out, _events(data), {}, templates=templates).ok
    out.write_text("".join(f"{t}-{i % 2}\n" for i, t in enumerate(truth)))  # split clusters
    assert not check_output("w4", out, _events(data), {}, templates=templates).ok


def test_missing_output_fails(data: Path, tmp_path: Path) -> None:
    result = check_output("w1", tmp_path / "none", _events(data), {"count": 0, "total": 0})
    assert not result.ok
    assert "no output file" in result.detail
