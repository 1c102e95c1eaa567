"""Fixtures of the bus tests: one ``bus`` per backend, and a real tansu broker for Kafka.

Every behaviour test takes ``bus`` and so runs against memory, embedded and Kafka. The Kafka
backend talks to a tansu broker started once per session on a free 127.0.0.1 port; when the
binary is missing those tests skip (fail under ``SLUICE_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluice.bus import Bus, EmbeddedBus, EmbeddedConfig, MemoryBus
from sluice.bus.tansu import TansuBroker, TansuNotFoundError

BACKENDS = ("memory", "embedded", "kafka")


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    """A tansu broker for the whole session."""
    try:
        broker = TansuBroker().start()
    except (TansuNotFoundError, RuntimeError) as exc:
        if os.environ.get("SLUICE_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"The tansu Kafka-protocol broker is not available: {exc}")
    yield broker
    broker.stop()


def make_bus(kind: str, path: Path, request: pytest.FixtureRequest) -> Bus:
    """Open a bus of ``kind`` (embedded under ``path``; Kafka on the session's broker)."""
    if kind == "memory":
        return MemoryBus()
    if kind == "embedded":
        return EmbeddedBus(EmbeddedConfig(path=path, fsync="os", segment_bytes=64 * 1024)).open()
    from sluice.bus.kafka import KafkaBus, KafkaConfig

    broker: TansuBroker = request.getfixturevalue("tansu")
    return KafkaBus(KafkaConfig(bootstrap=broker.bootstrap, timeout_ms=10_000)).open()


@pytest.fixture(params=BACKENDS)
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    """One bus per backend."""
    b = make_bus(request.param, tmp_path / "data", request)
    yield b
    b.close()


@pytest.fixture
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Bus], Bus]:
    """Close a bus and open it again on the same storage (memory keeps its object)."""

    def _reopen(b: Bus) -> Bus:
        if b.kind == "memory":
            return b
        b.close()
        new = make_bus(b.kind, tmp_path / "data", request)
        request.addfinalizer(new.close)
        return new

    return _reopen


@pytest.fixture
def topic() -> str:
    """A fresh topic name (the Kafka broker is shared by the whole session)."""
    return f"t-{uuid.uuid4().hex[:10]}"
