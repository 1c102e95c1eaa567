"""Configuration of the embedded log (inert: nothing happens until ``EmbeddedBus.open``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EmbeddedConfig"]


class EmbeddedConfig(BaseModel):
    """Where the embedded log lives and how it writes, rolls and syncs its segment files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Field(
        description="Data directory; topics live in <path>/topics/<topic>-<partition>/ and "
        "committed group offsets in <path>/groups/.",
        examples=["./.sluice"],
    )
    segment_bytes: int = Field(
        default=1024**3,
        ge=4096,
        description="Roll to a new segment once the active one would exceed this many bytes.",
    )
    segment_ms: int = Field(
        default=7 * 24 * 3600 * 1000,
        ge=1,
        description="Roll to a new segment once the active one has been written to for this "
        "long (measured from when it became active in this process).",
    )
    index_interval_bytes: int = Field(
        default=4096,
        ge=1,
        description="Bytes of batches between two entries of the sparse offset and time indexes.",
    )
    fsync: Literal["always", "interval", "os"] = Field(
        default="interval",
        description="'always': fsync every produce before acknowledging it; 'interval': a "
        "background thread fsyncs every fsync_interval_ms; 'os': leave it to the OS.",
    )
    fsync_interval_ms: int = Field(
        default=1000, ge=1, description="Period of the background fsync for fsync='interval'."
    )
    retention_check_interval_ms: int = Field(
        default=60_000,
        ge=10,
        description="Period of the background retention check (deletes whole old segments).",
    )
    read_only: bool = Field(
        default=False,
        description="Open without the writer lock: fetch, describe and committed offsets work, "
        "writes raise ReadOnlyBusError. Several processes may read while one writes.",
    )
