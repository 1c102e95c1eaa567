"""Fixtures of the ``sluice topic``/``sluice group`` CLI tests: a runner and a tansu broker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluice.bus.tansu import TansuBroker, TansuNotFoundError

Run = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    """A tansu Kafka-protocol broker for the session (skips when the binary is missing)."""
    try:
        broker = TansuBroker().start()
    except (TansuNotFoundError, RuntimeError) as exc:
        if os.environ.get("SLUICE_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"The tansu Kafka-protocol broker is not available: {exc}")
    yield broker
    broker.stop()


@pytest.fixture
def sluice(tmp_path: Path) -> Run:
    """Run ``python -m sluice.cli.main ARGS`` with ``SLUICE_DATA_DIR`` under ``tmp_path``."""
    env = dict(os.environ, SLUICE_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")

    def run(
        *args: str, stdin: bytes = b"", check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            [sys.executable, "-m", "sluice.cli.main", *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"sluice {' '.join(args)} exited {proc.returncode}: {proc.stderr.decode()}"
            )
        return proc

    return run
