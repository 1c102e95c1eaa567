"""The embedded backend: the partitioned log as segment files under the data directory."""

from __future__ import annotations

from sluice.bus.embedded.bus import EmbeddedBus
from sluice.bus.embedded.config import EmbeddedConfig

__all__ = ["EmbeddedBus", "EmbeddedConfig"]
