"""The data generator is deterministic and has the documented shape and distributions."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
from bench.check import COMBINED_RE

from bench import gen


@pytest.mark.parametrize("kind", ["events", "combined", "templates"])
def test_same_seed_same_bytes(tmp_path: Path, kind: str) -> None:
    a = gen.ensure_dataset(tmp_path / "a", kind, 3000, seed=7)
    b = gen.ensure_dataset(tmp_path / "b", kind, 3000, seed=7)
    assert a.read_bytes() == b.read_bytes()
    c = gen.ensure_dataset(tmp_path / "c", kind, 3000, seed=8)
    assert c.read_bytes() != a.read_bytes()


def test_dataset_is_cached_and_named_by_n_and_seed(tmp_path: Path) -> None:
    path = gen.ensure_dataset(tmp_path, "events", 10, seed=1)
    assert path.name == "events-10-1.jsonl"
    path.write_text("sentinel\n")
    assert gen.ensure_dataset(tmp_path, "events", 10, seed=1).read_text() == "sentinel\n"
    with pytest.raises(ValueError, match="unknown dataset kind"):
        gen.dataset_path(tmp_path, "parquet", 10, 1)


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    short = [gen.json_line(e.record) for e in gen.events(200, seed=3)]
    long = [gen.json_line(e.record) for e in gen.events(500, seed=3)]
    assert long[:200] == short


def test_distributions() -> None:
    evs = [e.record for e in gen.events(20_000, seed=42)]
    levels = Counter(e["level"] for e in evs)
    shares = {k: v / len(evs) for k, v in levels.items()}
    assert shares["DEBUG"] == pytest.approx(0.08, abs=0.015)
    assert shares["INFO"] == pytest.approx(0.80, abs=0.02)
    assert shares["WARN"] == pytest.approx(0.08, abs=0.015)
    assert shares["ERROR"] == pytest.approx(0.04, abs=0.01)
    services = Counter(e["service"] for e in evs).most_common()
    assert {s for s, _ in services} == set(gen.SERVICES)
    assert services[0][1] > 5 * services[-1][1]  # skewed
    assert len(gen.TEMPLATES) == 100


def test_events_are_slightly_out_of_order_and_consistent() -> None:
    evs = [e.record for e in gen.events(5000, seed=42)]
    ts = [int(str(e["ts_ms"])) for e in evs]
    backwards = sum(1 for a, b in itertools.pairwise(ts) if b < a)
    assert backwards > 100
    running_max, worst = ts[0], 0
    for t in ts:
        running_max = max(running_max, t)
        worst = max(worst, running_max - t)
    assert 1000 < worst <= 2100
    first = evs[0]
    assert str(first["ts"]).endswith("Z") and len(str(first["ts"])) == 24
    assert set(first) >= {"ts", "ts_ms", "host", "service", "level", "status", "method", "path",
                          "latency_ms", "bytes", "user_id", "client_ip", "ua", "trace_id",
                          "message"}  # fmt: skip
    assert json.loads(gen.json_line(first)) == first


def test_combined_lines_carry_the_same_event() -> None:
    for ev in gen.events(300, seed=5):
        m = COMBINED_RE.match(gen.combined_line(ev.record).rstrip("\n"))
        assert m is not None
        assert m["clientip"] == ev.record["client_ip"]
        assert int(m["response"]) == ev.record["status"]
        assert int(m["bytes"]) == ev.record["bytes"]
        assert m["request"] == ev.record["path"]
