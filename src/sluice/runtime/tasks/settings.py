"""Settings of the streaming runtime: micro-batch bounds, partitions, storage roots."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RuntimeSettings"]


class RuntimeSettings(BaseModel):
    """How node tasks read, batch and write. Inert: nothing happens until a task starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(description="The server's data dir; local storages write under it.")
    partitions: int = Field(
        default=4, ge=1, le=1024, description="Partitions of RT topics Sluice creates."
    )
    batch_records: int = Field(
        default=50_000, ge=1, description="A micro-batch ends after this many input records."
    )
    batch_ms: int = Field(
        default=200,
        ge=1,
        description="A micro-batch ends this many ms after its first record arrived.",
    )
    fetch_wait_ms: int = Field(
        default=50, ge=0, description="How long an idle task waits on a partition for data."
    )
    storage_batch_records: int = Field(
        default=500_000,
        ge=1,
        description="Micro-batch bound of file storages (hdfs_storage): records per file.",
    )
    storage_batch_ms: int = Field(
        default=2_000,
        ge=1,
        description="Micro-batch bound of file storages: ms a file stays open at most.",
    )
    timezone: str = Field(
        default="UTC", description="IANA zone of dtEventTime, localTime, thedate and HDFS hours."
    )
    dlq_retention_days: int = Field(
        default=7, ge=-1, description="Retention of dead-letter topics (-1 keeps them forever)."
    )
    prefetch: bool = Field(
        default=True,
        description="Fetch (and decode) the next micro-batch while the current one is "
        "processed; offsets and checkpoints still follow processed batches only.",
    )
    stop_timeout_s: float = Field(
        default=30.0, gt=0, description="How long a stop waits for the in-flight batch to drain."
    )
