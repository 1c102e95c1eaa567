"""Crash safety: a producing child is killed with SIGKILL at random points, again and again.

After each kill the log is reopened: every batch the child saw acknowledged (fsync ``always``)
must be there and intact, and the log must hold whole batches only (nothing torn is visible).
The default run does a dozen kills; ``-m slow`` runs two hundred.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sluice.bus import EmbeddedBus, EmbeddedConfig

CHILD = r"""
import random, sys
from sluice.bus import EmbeddedBus, EmbeddedConfig, Records
path, seed = sys.argv[1], int(sys.argv[2])
bus = EmbeddedBus(EmbeddedConfig(path=path, fsync="always", segment_bytes=512 * 1024)).open()
if "t" not in bus.list_topics():
    bus.create_topic("t")
rng = random.Random(seed)
print("ready", flush=True)
i = 0
while True:
    n = rng.randint(1, 300)
    pad = b"." * rng.randint(0, 3000)
    values = [b"%d:%d:%d:%d:" % (seed, i, n, j) + pad for j in range(n)]
    span = bus.produce("t", 0, Records(values)).spans[0]
    print(span.base_offset, n, seed, i, flush=True)
    i += 1
"""


def run_and_kill(path: Path, seed: int, rng: random.Random) -> list[tuple[int, int, int, int]]:
    """Start a producing child, kill it at a random moment, return the acks it printed."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(seed)],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(b"ready"):
                ready.set()
            else:
                lines.append(line)
        ready.set()

    reader = threading.Thread(target=pump)
    reader.start()
    assert ready.wait(30), "the producing child did not start"
    time.sleep(rng.uniform(0.0, 0.25))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    acks = []
    for line in lines:
        parts = line.split()
        if len(parts) == 4:  # a line cut by the kill is not an acknowledgement
            base, n, s, i = map(int, parts)
            acks.append((base, n, s, i))
    return acks


def check_log(path: Path, acked: list[tuple[int, int, int, int]]) -> None:
    """Every acked batch is intact; the whole log is made of whole batches."""
    with EmbeddedBus(EmbeddedConfig(path=path, fsync="os")) as bus:
        end = bus.latest_offset("t", 0)
        values: list[bytes] = []
        offset = 0
        while offset < end:
            part = bus.fetch("t", 0, offset, max_records=1_000_000)
            values += part.values()
            offset = part.next_offset
        assert len(values) == end
        info = bus.describe_topic("t").partitions[0]
        on_disk = sum(p.stat().st_size for p in (path / "topics" / "t-0").glob("*.log"))
        assert info.size_bytes == on_disk, "the torn tail was not truncated"
    at = 0
    while at < len(values):
        seed, i, n, j = map(int, values[at].split(b":")[:4])
        assert j == 0, f"a batch starts in the middle at offset {at}"
        batch = values[at : at + n]
        assert len(batch) == n, f"batch {seed}:{i} at offset {at} is incomplete"
        for k, value in enumerate(batch):
            assert value.startswith(b"%d:%d:%d:%d:" % (seed, i, n, k))
        at += n
    for base, n, seed, i in acked:
        assert base + n <= len(values), f"acknowledged batch {seed}:{i} is missing"
        assert values[base].startswith(b"%d:%d:%d:0:" % (seed, i, n))
        assert values[base + n - 1].startswith(b"%d:%d:%d:%d:" % (seed, i, n, n - 1))


def crash_many(path: Path, rounds: int, per_log: int = 20) -> None:
    """``rounds`` kills; every ``per_log`` kills start a fresh log, so checks stay linear."""
    rng = random.Random(20240601)
    acked: list[tuple[int, int, int, int]] = []
    total = 0
    for seed in range(rounds):
        log_dir = path / f"log-{seed // per_log}"
        if seed % per_log == 0:
            acked = []
        acked += run_and_kill(log_dir, seed, rng)
        total += len(acked)
        check_log(log_dir, acked)
    assert total, "no batch was ever acknowledged: the kills came too early to test anything"


def test_sigkill_during_produce_loses_nothing_acknowledged(tmp_path: Path) -> None:
    crash_many(tmp_path, rounds=12)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_sigkill_during_produce_many_times(tmp_path: Path) -> None:
    crash_many(tmp_path, rounds=200)
