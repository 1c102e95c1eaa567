"""Atomic on-disk checkpoint of window state together with the input (and output) offsets.

Who calls it: a task that runs a window operator over a log. After a batch is processed and
its outputs are durably written, the task calls :func:`write_checkpoint` with the operator's
snapshot and the offsets *after* that batch; on start it calls :func:`read_checkpoint`,
restores the operator and resumes reading at the stored offsets. Because state and offsets are
in one file replaced by an atomic rename (after fsync of the file and of its directory), a
crash at any instant leaves either the previous or the new checkpoint, never a mix: no record
is lost or counted twice.

File format: ``b"SLCK"`` | u32 header length | header JSON (``offsets``, ``meta``) | state.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CHECKPOINT_NAME",
    "Checkpoint",
    "CheckpointError",
    "read_checkpoint",
    "write_checkpoint",
]

CHECKPOINT_NAME = "window.ckpt"
_MAGIC = b"SLCK"


class CheckpointError(ValueError):
    """The checkpoint file exists but cannot be read (corrupt or foreign)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint read back from disk.

    Attributes:
        state: the operator snapshot (``WindowOperator.snapshot()``).
        offsets: input positions to resume from (name -> next offset), as written.
        meta: any JSON-able extra data the caller stored (e.g. an output file length).
    """

    state: bytes
    offsets: dict[str, int]
    meta: dict[str, Any] = field(default_factory=dict)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint(
    directory: Path | str,
    state: bytes,
    offsets: dict[str, int],
    meta: dict[str, Any] | None = None,
    name: str = CHECKPOINT_NAME,
) -> Path:
    """Atomically replace ``directory/name`` with a checkpoint; return its path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"offsets": offsets, "meta": meta or {}}, separators=(",", ":")).encode()
    target = folder / name
    temp = folder / f".{name}.tmp"
    with open(temp, "wb") as handle:
        handle.write(_MAGIC + struct.pack("<I", len(header)) + header + state)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    _fsync_dir(folder)
    return target


def read_checkpoint(directory: Path | str, name: str = CHECKPOINT_NAME) -> Checkpoint | None:
    """The checkpoint in ``directory`` (None when there is none yet).

    Raises:
        CheckpointError: the file is not a checkpoint or is truncated.
    """
    path = Path(directory) / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(raw) < 8 or raw[:4] != _MAGIC:
        raise CheckpointError(f"{path} is not a Sluice window checkpoint")
    (size,) = struct.unpack_from("<I", raw, 4)
    if 8 + size > len(raw):
        raise CheckpointError(f"{path} is truncated inside its header")
    try:
        header = json.loads(raw[8 : 8 + size])
        offsets = {str(k): int(v) for k, v in header["offsets"].items()}
        meta = dict(header.get("meta") or {})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path} has an unreadable header: {exc}") from exc
    return Checkpoint(state=raw[8 + size :], offsets=offsets, meta=meta)
