"""Helpers of the windowed-node end-to-end tests: :class:`sluice.testing.InProcessServer`
with the windowed tasks' settings.

Windowed tasks read ``SLUICE_WINDOW_*`` when they start, so the fixture sets a short idle
timeout, tick and checkpoint interval (:data:`WINDOW_ENV`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sluice.testing import InProcessServer, fast_settings, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

__all__ = ["WINDOW_ENV", "WinServer", "wait_until"]

WINDOW_ENV = {
    "SLUICE_WINDOW_IDLE_TIMEOUT_MS": "2000",
    "SLUICE_WINDOW_TICK_MS": "50",
    "SLUICE_WINDOW_CHECKPOINT_INTERVAL_MS": "200",
}
"""Task settings of windowed nodes in these tests (see ``WindowTaskSettings``)."""


class WinServer(InProcessServer):
    """The in-process server with ``batch_records`` input records per micro-batch at most."""

    def __init__(self, data_dir: Path, batch_records: int = 50_000) -> None:
        super().__init__(data_dir, fast_settings(data_dir, batch_records=batch_records))
