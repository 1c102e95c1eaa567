"""Fixtures of the pipeline runtime tests: an embedded bus in a temporary directory and the
Elasticsearch-compatible test server of tests/plugins."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice.bus import Bus, EmbeddedBus, EmbeddedConfig

PLUGINS_TESTS = Path(__file__).resolve().parents[1] / "plugins"


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    b = EmbeddedBus(EmbeddedConfig(path=tmp_path / "data")).open()
    yield b
    b.close()


@pytest.fixture
def fake_es() -> Iterator[Any]:
    """The Elasticsearch-compatible test server of tests/plugins (bulk, index, mapping)."""
    if str(PLUGINS_TESTS) not in sys.path:
        sys.path.insert(0, str(PLUGINS_TESTS))
    from es_server import FakeElasticsearch  # type: ignore[import-not-found]

    server = FakeElasticsearch().start()
    yield server
    server.stop()
