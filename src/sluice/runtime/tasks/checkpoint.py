"""Checkpoints of stateful node tasks: operator state and input offsets in one atomic file.

Who calls it: a stateful processor (the windowed ``realtime`` node,
:mod:`sluice.runtime.tasks.windowed`, the two-stream window join,
:mod:`sluice.runtime.tasks.window_join`, whose positions cover both inputs, and the
clustering model node, :mod:`sluice.runtime.tasks.model_serving`) through
:class:`NodeCheckpointer` (the shared restore/save hooks are
:class:`sluice.runtime.tasks.resumable.Resumable`), and the task loop
(:mod:`sluice.runtime.tasks.loop`) through the :class:`StatefulProcessor` hooks.

A checkpoint lives in ``<data_dir>/state/flow{flow_id}_node{node_id}/window.ckpt`` and holds
the operator snapshot *and* the input positions after the last batch the snapshot includes
(``sluice.windows.write_checkpoint``: write a temporary file, fsync, rename, fsync
the directory). A crash leaves the previous or the new checkpoint, never a mix, so a task
that restarts with ``continue`` restores the state and reads from the stored positions
instead of its group's committed offsets: no record is lost or aggregated twice. Results
emitted after the last checkpoint are emitted again on replay with the same values
(at-least-once output, idempotent per window and keys).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from sluice.bus import TopicPartition
from sluice.runtime.tasks.batch import BatchResult
from sluice.windows import read_checkpoint, write_checkpoint

__all__ = ["NodeCheckpointer", "StatefulProcessor", "StoredState", "state_dir"]

log = logging.getLogger(__name__)


@runtime_checkable
class StatefulProcessor(Protocol):
    """Hooks the task loop calls on processors that keep state across batches.

    All are called on the task's thread. ``start_positions`` runs once in
    ``TaskLoop.start`` (before the thread starts); the others run in the loop.
    """

    #: Seconds between processing-time ticks while no input arrives.
    tick_interval_s: float

    def watch_lag(self, lag: Mapping[TopicPartition, int]) -> None:
        """Receive the loop's live count of unread records per input partition.

        Called once, before ``start_positions``; the loop keeps the mapping current after
        every fetch and every processed batch, counting every record not processed yet
        (those of a batch read ahead included). Windowed processors use it so that a
        partition with unread records never turns idle: on a loaded machine a slow read
        must not look like a silent input.
        """

    def start_positions(
        self, mode: str, positions: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        """Restore state for consuming ``mode`` and return where each partition starts.

        ``positions`` are the loop's own choice (committed offsets for ``continue``); a
        processor returns them changed where its checkpoint says otherwise.
        """

    def tick(self) -> BatchResult:
        """Processing-time tick without input (idle partitions, timers); outputs written."""

    def after_batch(self, positions: Mapping[TopicPartition, int]) -> None:
        """The batch (or tick) is written and committed; ``positions`` follow it (the
        processed records only, never a batch the loop has read ahead)."""

    def finish(self, positions: Mapping[TopicPartition, int]) -> None:
        """The loop stops cleanly after its last batch: store a final checkpoint."""


def state_dir(data_dir: Path, flow_id: int, node_id: int) -> Path:
    """Where a node's checkpoint lives: ``<data_dir>/state/flow{flow_id}_node{node_id}``."""
    return Path(data_dir) / "state" / f"flow{flow_id}_node{node_id}"


def _key(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


@dataclass(frozen=True, slots=True)
class StoredState:
    """A checkpoint read back: the operator snapshot, positions, and writer fingerprint."""

    state: bytes
    positions: dict[TopicPartition, int]
    fingerprint: str


class NodeCheckpointer:
    """Writes and reads one node's checkpoint, at most every ``interval_ms``.

    Args:
        directory: the node's state directory (see :func:`state_dir`).
        interval_ms: minimum time between two periodic checkpoints (``due``).
        fingerprint: identifies the node's configuration (SQL, window settings); stored in
            the checkpoint so a reader can tell whether it was written for the same node.
    """

    def __init__(self, directory: Path, interval_ms: int, fingerprint: str) -> None:
        self.directory = directory
        self.interval_s = interval_ms / 1000
        self.fingerprint = fingerprint
        self._last = time.monotonic()
        self.writes = 0
        self.last_bytes = 0

    def due(self) -> bool:
        """Whether ``interval_ms`` passed since the last checkpoint."""
        return time.monotonic() - self._last >= self.interval_s

    def load(self) -> StoredState | None:
        """The stored checkpoint, or None when the node has none.

        Raises:
            sluice.windows.CheckpointError: the file is corrupt or foreign.
        """
        found = read_checkpoint(self.directory)
        if found is None:
            return None
        positions: dict[TopicPartition, int] = {}
        for key, offset in found.offsets.items():
            topic, _, partition = key.rpartition(":")
            positions[TopicPartition(topic, int(partition))] = offset
        return StoredState(found.state, positions, str(found.meta.get("fingerprint", "")))

    def save(self, state: bytes, positions: Mapping[TopicPartition, int]) -> None:
        """Atomically replace the checkpoint with ``state`` and ``positions``."""
        started = time.perf_counter()
        offsets = {_key(tp): int(offset) for tp, offset in positions.items()}
        meta = {"fingerprint": self.fingerprint, "written_ms": int(time.time() * 1000)}
        write_checkpoint(self.directory, state, offsets, meta)
        self._last = time.monotonic()
        self.writes += 1
        self.last_bytes = len(state)
        log.debug(
            "Checkpoint %s written: %d bytes of state in %.1f ms.",
            self.directory,
            len(state),
            (time.perf_counter() - started) * 1000,
        )
