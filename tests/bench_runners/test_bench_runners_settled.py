"""The end-of-run rule of the server-measured runners: output that stopped growing."""

from __future__ import annotations

import time

from bench.runners._server import settled


def test_a_slow_first_output_is_waited_for_then_the_last_growth_is_the_end() -> None:
    calls = [0]

    def count() -> int:  # no output for 30 polls (longer than ``settle``), then 3, then 5
        calls[0] += 1
        return 0 if calls[0] <= 30 else 3 if calls[0] == 31 else 5

    start = time.perf_counter()
    last, changed = settled(count, settle=1.0, first_wait=60)
    assert last == 5 and calls[0] > 32
    assert time.perf_counter() - changed >= 1.0  # it ended after a quiet ``settle``
    assert changed - start >= 1.5  # the silent start (30 polls of 50 ms) was waited out


def test_no_output_at_all_ends_after_first_wait() -> None:
    start = time.perf_counter()
    last, _ = settled(lambda: 0, settle=0.1, first_wait=0.3)
    assert last == 0
    assert time.perf_counter() - start >= 0.3
