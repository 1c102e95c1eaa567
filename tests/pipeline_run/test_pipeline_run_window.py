"""The ``window`` filter through the real pipeline runner: late events in the DLQ, windows
closed by an idle input, and window state that survives a stop and a SIGKILL (checkpointed
with the input offset): the results equal an uninterrupted run's, nothing lost or counted
twice. No test depends on timing: each waits (generously) for a state it can observe."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from pipeline_run_helpers import read_topic, wait_for

from sluice.bus import Bus, EmbeddedBus, EmbeddedConfig
from sluice.pipeline.run import PipelineRunner
from sluice.pipeline.run.filter_state import CHECKPOINT_NAME, FilterCheckpoint
from sluice.windows import read_checkpoint

BASE = 1_793_491_200_000
WINDOW = (
    'window {{ size => 60 waiting_time => 5 timestamp => "ts_ms" idle_timeout => {idle} '
    "checkpoint_interval => {checkpoint} "
    'group_by => ["service", "level"] aggregates => {{ "count" => "count(*)" '
    '"avg_latency_ms" => "avg(latency_ms)" "max_latency_ms" => "max(latency_ms)" }} }}'
)
Key = tuple[int, str, str]


def _config(src: Path, out: Path, idle: int = 0, checkpoint: int = 0) -> str:
    return (
        f'input {{ file {{ path => "{src}" start_position => "beginning" codec => json '
        'stat_interval => "50 ms" sincedb_write_interval => 0 } }\n'
        f"filter {{ {WINDOW.format(idle=idle, checkpoint=checkpoint)} }}\n"
        f'output {{ file {{ path => "{out}" codec => json_lines flush_interval => 0 }} }}\n'
    )


def _events(n: int, seed: int, start_ms: int = BASE) -> list[dict[str, Any]]:
    """``n`` events over n/10 seconds, out of order by up to 2 s (within waiting_time)."""
    rng = random.Random(seed)
    return [
        {"ts_ms": start_ms + i * 100 + rng.randint(-2000, 2000),
         "service": rng.choice(["api", "db", "web"]), "level": rng.choice(["INFO", "ERROR"]),
         "latency_ms": rng.randint(1, 999)}
        for i in range(n)
    ]  # fmt: skip


def _marker(after: list[dict[str, Any]]) -> dict[str, Any]:
    """An event far past the last one: its watermark closes every earlier window."""
    top = max(e["ts_ms"] for e in after)
    return {"ts_ms": top + 600_000, "service": "marker", "level": "INFO", "latency_ms": 0}


def _append(path: Path, events: list[dict[str, Any]]) -> None:
    with path.open("ab") as fh:
        fh.write(b"".join(orjson.dumps(e) + b"\n" for e in events))


def _results(out: Path) -> dict[Key, tuple[int, float, float]]:
    """Window results by (window start, service, level). Replayed duplicates (at-least-once
    outputs) must be identical; two different results for one window fail the test."""
    got: dict[Key, tuple[int, float, float]] = {}
    if not out.exists():
        return got
    for line in out.read_bytes().splitlines():
        row = orjson.loads(line)
        key = (row["dtEventTimeStamp"], row["service"], row["level"])
        value = (row["count"], round(row["avg_latency_ms"], 9), row["max_latency_ms"])
        assert got.setdefault(key, value) == value, f"window {key} emitted {value} and {got[key]}"
    return got


def _expected(events: list[dict[str, Any]]) -> dict[Key, tuple[int, float, float]]:
    groups: dict[Key, list[float]] = {}
    for e in events:
        groups.setdefault((e["ts_ms"] // 60_000 * 60_000, e["service"], e["level"]), []).append(
            e["latency_ms"]
        )
    return {k: (len(v), round(sum(v) / len(v), 9), max(v)) for k, v in groups.items()}


def test_late_events_go_to_the_dlq_and_an_idle_input_closes_windows(
    bus: Bus, tmp_path: Path
) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    on_time = [
        {"ts_ms": BASE + 1000, "service": "a", "level": "INFO", "latency_ms": 2},
        # the second minute's last second: idle, the watermark (then 114 s) needs 6 s more
        {"ts_ms": BASE + 119_000, "service": "a", "level": "INFO", "latency_ms": 4},
    ]
    _append(src, on_time)
    with PipelineRunner("win_idle", _config(src, out, idle=1), bus, tmp_path / "state") as runner:
        assert wait_for(lambda: len(_results(out)) == 1, timeout=60)  # the first minute
        _append(src, [{"ts_ms": BASE + 5, "service": "a", "level": "INFO", "latency_ms": 9}])
        assert wait_for(lambda: runner.status()["dead_letters"] == 1, timeout=60)
        # nothing more arrives: after idle_timeout the second minute closes on the wall clock
        assert wait_for(lambda: len(_results(out)) == 2, timeout=60)
        assert wait_for(lambda: runner.lag() == 0, timeout=60)
    assert _results(out) == _expected(on_time)
    [dead] = read_topic(bus, "pipeline_win_idle_dlq")
    assert dead["plugin"] == "window_1" and dead["reason"].startswith("late: event time")
    assert dead["event"]["ts_ms"] == BASE + 5 and dead["event"]["latency_ms"] == 9


def test_stateless_pipelines_write_no_filter_checkpoint(bus: Bus, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _append(src, _events(50, seed=3))
    config = (
        f'input {{ file {{ path => "{src}" start_position => "beginning" codec => json '
        'stat_interval => "50 ms" } }\n'
        f'output {{ file {{ path => "{out}" codec => json_lines flush_interval => 0 }} }}\n'
    )
    with PipelineRunner("win_none", config, bus, tmp_path / "state") as runner:
        assert wait_for(lambda: runner.status()["events_out"] == 50 and runner.lag() == 0)
    assert not (tmp_path / "state" / CHECKPOINT_NAME).exists()


def test_a_stop_mid_stream_neither_loses_nor_double_counts(tmp_path: Path) -> None:
    first, second = _events(3000, seed=1), _events(2000, seed=2, start_ms=BASE + 300_000)
    everything = [*first, *second, _marker(second)]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    state = tmp_path / "state"
    _append(src, first)
    bus = EmbeddedBus(EmbeddedConfig(path=tmp_path / "data")).open()
    try:
        with PipelineRunner("win_stop", _config(src, out), bus, state) as runner:
            assert wait_for(lambda: runner.status()["events_in"] == 3000 and runner.lag() == 0,
                            timeout=120)  # fmt: skip
        stored = read_checkpoint(state, name=CHECKPOINT_NAME)
        assert stored is not None and stored.offsets  # windows of the last minutes are open
        closed = len(_results(out))
        assert 0 < closed < len(_expected(first))
        _append(src, [*second, _marker(second)])
        with PipelineRunner("win_stop", _config(src, out), bus, state) as runner:
            assert wait_for(lambda: runner.status()["events_in"] == 2001 and runner.lag() == 0,
                            timeout=120)  # fmt: skip
    finally:
        bus.close()
    assert _results(out) == _expected(everything[:-1])
    assert len(out.read_bytes().splitlines()) == len(_expected(everything[:-1]))  # no replay


def _spawn(config: Path, data: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("sluice")), "pipeline", "run", str(config),
         "--data-dir", str(data), "--name", "win_kill", "--batch-size", "3"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT, env={**os.environ},
    )  # fmt: skip


def test_a_sigkill_mid_stream_neither_loses_nor_double_counts(tmp_path: Path) -> None:
    first, second = _events(40_000, seed=4), _events(5000, seed=5, start_ms=BASE + 4_000_000)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    config = tmp_path / "win.conf"
    config.write_text(_config(src, out), encoding="utf-8")
    data, log = tmp_path / "data", tmp_path / "pipeline.log"
    sincedb = data / "pipelines" / "win_kill" / "sincedb_file_1.json"
    _append(src, first)
    size = src.stat().st_size
    proc = _spawn(config, data, log)
    try:
        # the input has stored all of `first` (so it is not read twice) and some windows
        # closed; the worker is wherever it is (windows of the last minutes are open at
        # least): kill it there, with no chance to finish a batch or a checkpoint
        def read_all() -> bool:
            if not sincedb.exists():
                return False
            try:
                positions = orjson.loads(sincedb.read_bytes())
            except orjson.JSONDecodeError:
                return False
            return any(p.get("offset") == size for p in positions.values())

        assert wait_for(lambda: read_all() and len(_results(out)) > 0, timeout=180), log.read_text()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _append(src, [*second, _marker(second)])
    proc = _spawn(config, data, log)
    expected = _expected([*first, *second])
    try:
        assert wait_for(lambda: set(_results(out)) == set(expected), timeout=180), log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert _results(out) == expected


def _in_steps(runner: PipelineRunner, src: Path, events: list[dict[str, Any]], steps: int) -> None:
    """Append ``events`` in ``steps`` parts, each processed before the next (one batch or
    more each)."""
    size = -(-len(events) // steps)
    for i in range(0, len(events), size):
        _append(src, events[i : i + size])
        done = i + len(events[i : i + size])
        assert wait_for(
            lambda n=done: runner.status()["events_in"] == n and runner.lag() == 0, timeout=120
        )


@pytest.mark.parametrize("crash", [False, True])
def test_a_checkpoint_interval_stores_less_and_keeps_the_state_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash: bool
) -> None:
    """``checkpoint_interval``: the first batch's state is stored, then none until the
    interval passes; a stop stores the last one (a restart repeats nothing); a crash (the
    fake below drops the stores after the first, as a killed process would never make
    them) restarts from the first checkpoint: windows are emitted again, identical."""
    first, second = _events(3000, seed=6), _events(2000, seed=7, start_ms=BASE + 300_000)
    src, out, state = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "state"
    config = _config(src, out, checkpoint=3600)
    saves: list[int] = []
    real_save = FilterCheckpoint.save

    def counted(self: FilterCheckpoint, blob: bytes, next_offset: int) -> None:
        saves.append(next_offset)
        if not (crash and len(saves) > 1):  # the fake: a crash loses every later store
            real_save(self, blob, next_offset)

    monkeypatch.setattr(FilterCheckpoint, "save", counted)
    bus = EmbeddedBus(EmbeddedConfig(path=tmp_path / "data")).open()
    try:
        with PipelineRunner("win_interval", config, bus, state) as runner:
            _in_steps(runner, src, first, steps=3)
            assert len(saves) == 1  # the first batch only: the interval has not passed
        assert len(saves) == 2  # the stop stored the last delivered batch's state
        stored = read_checkpoint(state, name=CHECKPOINT_NAME)
        assert stored is not None
        assert list(stored.offsets.values()) == [saves[0] if crash else saves[-1]]
        monkeypatch.setattr(FilterCheckpoint, "save", real_save)
        _append(src, [*second, _marker(second)])
        with PipelineRunner("win_interval", config, bus, state) as runner:
            assert wait_for(lambda: runner.status()["events_in"] >= 2001 and runner.lag() == 0,
                            timeout=120)  # fmt: skip
    finally:
        bus.close()
    expected = _expected([*first, *second])
    assert _results(out) == expected  # identical results, whatever was replayed
    emitted = len(out.read_bytes().splitlines())
    assert emitted > len(expected) if crash else emitted == len(expected)
