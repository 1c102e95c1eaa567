"""Helpers of the pipeline runtime tests: free ports, reading topics, waiting."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import orjson

from sluice.bus import Bus

__all__ = ["free_port", "read_topic", "wait_for"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_topic(bus: Bus, topic: str) -> list[dict[str, Any]]:
    out = []
    for p in range(bus.describe_topic(topic).partition_count):
        result = bus.fetch(topic, p, bus.earliest_offset(topic, p), max_records=100_000)
        out.extend(orjson.loads(r.value) for r in result.records())
    return out


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
