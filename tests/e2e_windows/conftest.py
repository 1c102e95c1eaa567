"""Fixtures of the windowed-node end-to-end tests (helpers in ``e2e_windows_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_windows_helpers import WINDOW_ENV, WinServer


@pytest.fixture
def win_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WinServer]:
    for name, value in WINDOW_ENV.items():
        monkeypatch.setenv(name, value)
    srv = WinServer(tmp_path / "data")
    yield srv
    srv.close()
