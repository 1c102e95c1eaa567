"""Checkpoints of a pipeline's stateful filters (the ``window`` filter), with the input offset.

Who uses it: :class:`~sluice.pipeline.run.runner.PipelineRunner` builds a
:class:`FilterCheckpoint` when its filter chain has stateful filters and hands
:meth:`FilterCheckpoint.worker_state` to the :class:`~sluice.pipeline.run.worker.BatchWorker`,
which snapshots after each batch, saves after delivery and before the commit, and loads on
start (see :mod:`sluice.pipeline.run.worker`).

The file is ``{state_dir}/filters.ckpt`` (the pipeline's data dir), written with
:func:`sluice.windows.write_checkpoint` (temporary file, fsync, rename, fsync of the
directory): a crash leaves the previous or the new checkpoint, never a mix. It holds every
stateful filter's snapshot by filter id and the input topic's next offset. A stored state
that no longer fits a filter (its window or aggregate settings changed) is logged and that
filter starts empty; the offset is kept, so the events before it are not replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow as pa

from sluice.pipeline.compiler import Pipeline
from sluice.pipeline.executor import FilterChain
from sluice.pipeline.run.worker import FilterState
from sluice.pipeline.settings.window import WindowSettings
from sluice.windows import CheckpointError, read_checkpoint, write_checkpoint

__all__ = ["CHECKPOINT_NAME", "FilterCheckpoint", "checkpoint_interval", "pack", "unpack"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "filters.ckpt"
"""The checkpoint file's name inside the pipeline's state dir."""


def pack(states: dict[str, bytes]) -> bytes:
    """Filter id -> snapshot, as one blob: a JSON line of ``[id, length]`` then the blobs."""
    header = orjson.dumps([[node_id, len(blob)] for node_id, blob in states.items()])
    return header + b"\n" + b"".join(states.values())


def unpack(blob: bytes) -> dict[str, bytes]:
    """The inverse of :func:`pack`. Raises ``ValueError`` on a damaged blob."""
    head, sep, body = blob.partition(b"\n")
    if not sep:
        raise ValueError("filter state has no header line")
    states: dict[str, bytes] = {}
    at = 0
    for node_id, length in orjson.loads(head):
        states[str(node_id)] = body[at : at + int(length)]
        at += int(length)
    if at != len(body):
        raise ValueError("filter state is shorter or longer than its header says")
    return states


def checkpoint_interval(pipeline: Pipeline) -> float:
    """The shortest ``checkpoint_interval`` of the pipeline's ``window`` filters
    (conditionals' bodies included), in seconds; 0 when there is none."""
    return min(
        (
            float(node.settings.checkpoint_interval)
            for node in pipeline.plugins("filter")
            if isinstance(node.settings, WindowSettings)
        ),
        default=0.0,
    )


class FilterCheckpoint:
    """Snapshot, save, load and tick of one pipeline's stateful filters (module doc).

    Args:
        pipeline: the pipeline's name (for logs).
        chain: the pipeline's filter chain; it must have stateful filters.
        directory: the pipeline's state dir.
        partition: the input topic and partition, e.g. ``"pipeline_x_in/0"`` (the offset's key).
        dead_letters: drains the chain's refused events as dead-letter values.
        interval_s: seconds between stored checkpoints (:func:`checkpoint_interval`).
    """

    def __init__(
        self,
        pipeline: str,
        chain: FilterChain,
        directory: Path,
        partition: str,
        dead_letters: Callable[[], list[bytes]],
        interval_s: float = 0.0,
    ) -> None:
        self.pipeline = pipeline
        self.chain = chain
        self.directory = directory
        self.partition = partition
        self._dead_letters = dead_letters
        self.interval_s = interval_s

    def worker_state(self) -> FilterState:
        """The callables the worker drives."""
        return FilterState(
            snapshot=self.snapshot, save=self.save, load=self.load, tick=self.tick,
            interval_s=self.interval_s,
        )  # fmt: skip

    def snapshot(self) -> bytes:
        """Every stateful filter's state now, packed."""
        return pack(self.chain.snapshot())

    def save(self, state: bytes, next_offset: int) -> None:
        """Store ``state`` with the input's ``next_offset``, atomically."""
        write_checkpoint(
            self.directory, state, {self.partition: next_offset},
            {"pipeline": self.pipeline}, name=CHECKPOINT_NAME,
        )  # fmt: skip

    def load(self) -> int | None:
        """Restore the stored state; the offset to resume from, ``None`` when none is stored.

        Raises:
            CheckpointError: the file is corrupt or holds another input's offset.
        """
        stored = read_checkpoint(self.directory, name=CHECKPOINT_NAME)
        if stored is None:
            return None
        if self.partition not in stored.offsets:
            raise CheckpointError(
                f"pipeline {self.pipeline}: {self.directory / CHECKPOINT_NAME} holds offsets "
                f"of {sorted(stored.offsets)}, not of {self.partition}"
            )
        try:
            states = unpack(stored.state)
        except ValueError as exc:
            raise CheckpointError(f"pipeline {self.pipeline}: {exc}") from exc
        fresh = []
        for node_id, blob in states.items():
            try:
                self.chain.restore({node_id: blob})
            except ValueError as exc:
                log.warning("Pipeline %s: the stored state of filter %s does not fit its "
                            "settings any more (%s); it starts empty.", self.pipeline,
                            node_id, exc)  # fmt: skip
                fresh.append(node_id)
        fresh += [n for n in self.chain.stateful if n not in states]
        offset = stored.offsets[self.partition]
        log.info("Pipeline %s: filter state restored (empty: %s); resuming at offset %d.",
                 self.pipeline, ", ".join(fresh) or "none", offset)  # fmt: skip
        return offset

    def tick(self) -> tuple[pa.Table, list[bytes]] | None:
        """What the stateful filters emit on an idle poll, with their dead letters."""
        out = self.chain.tick()
        dead = self._dead_letters()
        if out is None and not dead:
            return None
        return (out if out is not None else pa.table({}), dead)
