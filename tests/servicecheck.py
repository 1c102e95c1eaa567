"""Shared test helper: skip when a real service is absent, fail under SLUICE_REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import socket

import pytest

__all__ = ["require_service"]


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail in CI) unless ``host:port`` accepts TCP connections."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc})"
        if os.environ.get("SLUICE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}; SLUICE_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
