"""Event-time windows for ``realtime`` nodes: scroll, slide, accumulate, session, and joins.

Public API (see ``docs/windows.md``): :class:`WindowConfig` and :class:`AggSpec` describe a
node; :class:`WindowOperator` aggregates Arrow batches into window results with watermarks,
allowed lateness, DLQ records and snapshots; :class:`WindowJoin` joins two stream inputs
within scroll windows; :func:`write_checkpoint`/:func:`read_checkpoint` store a snapshot
atomically with input offsets.
"""

from __future__ import annotations

from sluice.windows.checkpoint import (
    Checkpoint,
    CheckpointError,
    read_checkpoint,
    write_checkpoint,
)
from sluice.windows.config import AggFunc, AggSpec, WindowConfig, WindowType
from sluice.windows.join import JoinHow, Side, WindowJoin
from sluice.windows.operator import (
    WindowMetrics,
    WindowOperator,
    WindowSpecError,
    WindowStateLimitError,
    event_times,
)
from sluice.windows.output import DLQ_REASON, WINDOW_COLUMNS, WindowOutput
from sluice.windows.snapshot import SnapshotError

__all__ = [
    "DLQ_REASON",
    "WINDOW_COLUMNS",
    "AggFunc",
    "AggSpec",
    "Checkpoint",
    "CheckpointError",
    "JoinHow",
    "Side",
    "SnapshotError",
    "WindowConfig",
    "WindowJoin",
    "WindowMetrics",
    "WindowOperator",
    "WindowOutput",
    "WindowSpecError",
    "WindowStateLimitError",
    "WindowType",
    "event_times",
    "read_checkpoint",
    "write_checkpoint",
]
