"""Fixtures of the mining tests: the whole server in-process over a temp data dir
(:class:`sluice.testing.InProcessServer`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice.testing import InProcessServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))  # bklog_params


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    with InProcessServer(tmp_path / "data") as srv:
        yield srv
