"""Errors raised by every bus backend.

They are plain exceptions of the bus layer (``bus`` stands alone and imports nothing of
Sluice); the API and CLI translate them into client errors. Each message is a full sentence
naming the topic, partition or directory involved.
"""

from __future__ import annotations

__all__ = [
    "BusClosedError",
    "BusError",
    "CorruptBatchError",
    "GroupError",
    "OffsetOutOfRangeError",
    "PartitionNotFoundError",
    "ReadOnlyBusError",
    "TopicExistsError",
    "TopicNotFoundError",
    "UnsupportedOperationError",
    "WriterLockedError",
]


class BusError(Exception):
    """Base of every bus error."""


class TopicNotFoundError(BusError):
    """The named topic does not exist."""


class TopicExistsError(BusError):
    """``create_topic`` was asked for a name that already exists."""


class PartitionNotFoundError(BusError):
    """The partition number is outside ``0 .. partitions-1`` of the topic."""


class OffsetOutOfRangeError(BusError):
    """A fetch asked for an offset below the log start (deleted by retention) or above the end.

    Consumers handle it like Kafka's ``auto.offset.reset``: restart from ``earliest_offset`` or
    ``latest_offset``.
    """


class CorruptBatchError(BusError):
    """Bytes on disk do not form a whole batch with a valid CRC32C."""


class WriterLockedError(BusError):
    """Another process holds the writer lock of the embedded log directory."""


class ReadOnlyBusError(BusError):
    """A write (produce, commit, admin) was asked of a bus opened read-only."""


class BusClosedError(BusError):
    """The bus was used after ``close()``."""


class GroupError(BusError):
    """A consumer-group operation failed (unknown member, inconsistent assignment strategy)."""


class UnsupportedOperationError(BusError):
    """The backend (or the broker behind it) cannot do this operation; the message says why."""
