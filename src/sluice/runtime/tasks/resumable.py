"""The checkpoint hooks every stateful processor shares: restore on ``continue``, store the
state with the positions periodically and at a clean stop.

Who uses it: the windowed ``realtime`` node (:mod:`.windowed`), the two-stream window join
(:mod:`.window_join`) and the clustering model node (:mod:`.model_serving`). Each keeps its
whole state as one snapshot blob and mixes in :class:`Resumable`, which implements the
:class:`~sluice.runtime.tasks.checkpoint.StatefulProcessor` hooks ``start_positions``,
``after_batch`` and ``finish`` on top of four small methods of the processor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

from sluice.bus import TopicPartition
from sluice.runtime.engine import NodeTask
from sluice.runtime.tasks.checkpoint import NodeCheckpointer, StoredState
from sluice.runtime.tasks.context import TaskContext
from sluice.windows import CheckpointError, SnapshotError

__all__ = ["Resumable"]

log = logging.getLogger(__name__)


class Resumable:
    """Checkpoint hooks over ``snapshot``/``restore`` (see the module docstring).

    The processor sets ``ctx``, ``task``, ``checkpointer`` and ``_dirty`` (true when the
    state changed since the last checkpoint) and implements :meth:`snapshot`,
    :meth:`restore`, :meth:`reset_state` and, when it tracks partitions,
    :meth:`declare_inputs`.
    """

    ctx: TaskContext
    task: NodeTask
    checkpointer: NodeCheckpointer
    _dirty: bool
    _lag: Mapping[TopicPartition, int] = MappingProxyType({})

    def watch_lag(self, lag: Mapping[TopicPartition, int]) -> None:
        """Keep the loop's live count of unread records per input partition (see
        :meth:`has_unread`)."""
        self._lag = lag

    def has_unread(self, topic: str, partition: int) -> bool:
        """Whether the loop has unread records of ``topic``'s ``partition`` (windowed
        processors keep such partitions from turning idle)."""
        return self._lag.get(TopicPartition(topic, partition), 0) > 0

    def snapshot(self) -> bytes:
        """The whole state as one blob."""
        raise NotImplementedError

    def restore(self, blob: bytes) -> None:
        """Replace the state with a :meth:`snapshot` blob.

        Raises:
            SnapshotError: the blob is corrupt or was written for another shape of state.
        """
        raise NotImplementedError

    def reset_state(self) -> None:
        """Forget the state (a checkpoint that cannot be restored): start empty."""
        raise NotImplementedError

    def declare_inputs(self, positions: Mapping[TopicPartition, int]) -> None:
        """Make the input partitions known before the first batch (watermarks); no-op here."""

    def state_summary(self, stored: StoredState) -> str:
        """How a resumed state is described in the log line."""
        return f"{len(stored.state)} bytes of state"

    def start_positions(
        self, mode: str, positions: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        """On ``continue``, restore the checkpoint and start from its positions; always store
        a checkpoint at the start (so a later ``continue`` resumes from here).

        A checkpoint that cannot be read, was written for other inputs, or cannot be
        restored is logged and ignored (the state starts empty; a restorable checkpoint of
        other inputs would mix records of different tables).
        """
        start = dict(positions)
        self.declare_inputs(start)
        stored = self._stored(mode, start)
        if stored is not None:
            try:
                self.restore(stored.state)
            except SnapshotError as exc:
                log.warning(
                    "Node %s cannot restore its state (%s); it starts empty from the "
                    "checkpoint's offsets.",
                    self.task.name,
                    exc,
                )
                self.reset_state()
            self.declare_inputs(start)
            bus = self.ctx.bus
            for tp, offset in stored.positions.items():
                if tp in start:
                    start[tp] = min(offset, bus.latest_offset(tp.topic, tp.partition))
            changed = stored.fingerprint != self.checkpointer.fingerprint
            log.info(
                "Node %s resumes from its checkpoint (%s%s) at offsets %s.",
                self.task.name,
                self.state_summary(stored),
                "; the node's settings changed since" if changed else "",
                {f"{tp.topic}:{tp.partition}": o for tp, o in sorted(start.items())},
            )
        self.checkpointer.save(self.snapshot(), start)
        self._dirty = False
        return start

    def _stored(self, mode: str, start: Mapping[TopicPartition, int]) -> StoredState | None:
        """The checkpoint to resume from, if ``mode`` is ``continue`` and one fits."""
        if mode != "continue":
            return None
        try:
            stored = self.checkpointer.load()
        except CheckpointError as exc:
            log.warning("Node %s ignores its unreadable checkpoint: %s", self.task.name, exc)
            return None
        if stored is not None and {tp.topic for tp in stored.positions} != {
            tp.topic for tp in start
        }:
            log.warning(
                "Node %s ignores a checkpoint written for other inputs (%s).",
                self.task.name,
                sorted({tp.topic for tp in stored.positions}),
            )
            return None
        return stored

    def after_batch(self, positions: Mapping[TopicPartition, int]) -> None:
        """Checkpoint when the interval passed and the state changed since the last one."""
        if self._dirty and self.checkpointer.due():
            self.checkpointer.save(self.snapshot(), positions)
            self._dirty = False

    def finish(self, positions: Mapping[TopicPartition, int]) -> None:
        """Store the final checkpoint at a clean stop."""
        self.checkpointer.save(self.snapshot(), positions)
        self._dirty = False
