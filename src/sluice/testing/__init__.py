"""In-process doubles for tests of Sluice and of code built on it (DESIGN: doubles ship in
the package). Nothing in ``sluice`` imports this package; tests do."""

from __future__ import annotations

from sluice.testing.server import FLOW, InProcessServer, fast_settings, read_records, wait_until

__all__ = ["FLOW", "InProcessServer", "fast_settings", "read_records", "wait_until"]
