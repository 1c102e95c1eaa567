"""SIGKILL a child process windowing a file in the middle of open windows; restart it from its
last atomic checkpoint until it finishes; the final output must equal an uninterrupted run's.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("windows_crash_child.py")
BASE = 1_793_491_200_000


def write_input(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    clock = BASE
    with open(path, "w", encoding="utf-8") as handle:
        for _ in range(n):
            clock += rng.randrange(0, 400)
            lag = rng.choice([0] * 30 + [60_000, 900_000, 5 * 3_600_000])
            record = {
                "dtEventTimeStamp": clock - rng.randrange(0, 8_000) - lag,
                "k": rng.choice(["a", "b", "c", "d", None]),
                "v": rng.choice([None, *range(-30, 30)]),
            }
            handle.write(json.dumps(record) + "\n")


def run_child(source: Path, workdir: Path, kind: str, pause: float) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(CHILD), str(source), str(workdir), kind, "100", str(pause)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("kind", ["scroll", "session"])
def test_sigkill_mid_window_resumes_exactly(tmp_path: Path, kind: str) -> None:
    source = tmp_path / "events.jsonl"
    write_input(source, 2_000, seed=7)
    clean = tmp_path / "clean"
    clean.mkdir()
    child = run_child(source, clean, kind, 0.0)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    expected = sorted((clean / "out.jsonl").read_text().splitlines())
    assert any('"kind": "row"' in line for line in expected)

    crashed = tmp_path / "crashed"
    crashed.mkdir()
    rng = random.Random(11)
    kills = 0
    while True:
        child = run_child(source, crashed, kind, 0.1)
        if kills < 4:
            time.sleep(rng.uniform(0.4, 1.2))
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=30)
                kills += 1
                continue
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
        break
    assert kills >= 2
    assert (crashed / "window.ckpt").exists()
    got = sorted((crashed / "out.jsonl").read_text().splitlines())
    assert got == expected
