"""Shared machinery of the window kinds: fired-window retention, corrections and purging.

Who calls it: :class:`~.operator.WindowOperator`, in this order for every batch:
``ingest`` (on-time partials go to the open state; returns dropped records and late
partials), then ``fire(W)`` with the new watermark, then ``add_late``, then
``corrections(W)``. Late partials are applied *after* the firing, so a window's first result
contains exactly the records that arrived before the watermark passed its end, whatever the
batch boundaries, and records that arrived later show up only in corrections.

With allowed lateness, fired windows stay in the *closed* store until the watermark passes
``end + lateness``; late partials mark their group dirty; dirty groups are re-emitted when
the watermark crosses a multiple of ``lateness_count_freq`` (every batch when 0) and before
they are purged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from sluice.windows.config import WindowConfig
from sluice.windows.kernels import Kernels
from sluice.windows.store import PartStore

__all__ = ["Ingested", "WindowStrategy"]

Ingested = tuple[pa.Array | None, pa.Table | None]
"""(arrival seqs of records dropped as too late, late partials to apply after firing)."""


class WindowStrategy(ABC):
    """One window kind's state and rules (see the module docstring for the call order)."""

    def __init__(self, config: WindowConfig, kernels: Kernels) -> None:
        self.config = config
        self.kernels = kernels
        self.open = PartStore(self._merge_parts)
        self.closed = PartStore(self._merge_parts)
        self.fired_wm = -(2**62)
        self.corrected_wm = -(2**62)
        self._closed_end: int | None = None
        self._dirty = False

    def note_closed(self, table: pa.Table | None, dirty: bool) -> None:
        """Track the earliest retained window end and whether late updates are pending."""
        if table is None or table.num_rows == 0:
            return
        low = pc.min(table.column("__w_we")).as_py()
        self._closed_end = low if self._closed_end is None else min(self._closed_end, low)
        self._dirty = self._dirty or dirty

    def _merge_parts(self, parts: Sequence[pa.Table]) -> pa.Table:
        return self.kernels.merge(parts, ("__w_ws", "__w_we"))

    @abstractmethod
    def ingest(self, work: pa.Table, may_be_late: bool) -> Ingested:
        """Add the on-time partials of ``work`` (raw rows with ``__w_t``, ``__w_seq``, ``__w_wm``)."""

    @abstractmethod
    def fire(self, watermark: int) -> pa.Table | None:
        """Remove and return merged partials of every window result due at ``watermark``."""

    def reload_closed(self) -> None:
        """Recompute the closed-store bookkeeping after a restore."""
        self._closed_end = None
        self._dirty = False
        table = self.closed.merged()
        if table is not None:
            self.note_closed(table, dirty=bool(pc.any(table.column("__w_dirty")).as_py()))

    def add_late(self, late: pa.Table | None) -> None:
        """Apply late partials (``__w_dirty`` true) to the retained fired windows."""
        self.closed.add(late)
        self.note_closed(late, dirty=True)

    def retain(self, fired: pa.Table | None) -> None:
        """Keep fired groups for late updates when lateness is allowed."""
        if fired is not None and self.config.allowed_lateness:
            clean = fired.set_column(
                fired.schema.get_field_index("__w_dirty"),
                "__w_dirty",
                pa.array([False] * fired.num_rows, pa.bool_()),
            )
            self.closed.add(clean)
            self.note_closed(clean, dirty=False)

    def corrections(self, watermark: int, force: bool = False) -> pa.Table | None:
        """Dirty groups to re-emit now; then drop groups past ``end + lateness``.

        ``force`` (end of input) emits every dirty group and empties the closed store.
        """
        if self.closed.is_empty():
            return None
        freq = self.config.lateness_freq_ms
        due = force or freq <= 0 or watermark // freq > self.corrected_wm // freq
        if due:
            self.corrected_wm = watermark
        lateness = self.config.lateness_ms
        ending = self._closed_end is not None and self._closed_end + lateness <= watermark
        if not force and not ending and not (due and self._dirty):
            return None
        merged = self.closed.merged()
        if merged is None:
            return None
        dirty = merged.column("__w_dirty")
        if force:
            expiring = pa.array([True] * merged.num_rows, pa.bool_())
        else:
            ends = pc.add(merged.column("__w_we"), self.config.lateness_ms)
            expiring = pc.less_equal(ends, watermark)
        emit_mask = dirty if due else pc.and_(dirty, expiring)
        emitted = merged.filter(emit_mask)
        new_dirty = pc.and_(dirty, pc.invert(emit_mask))
        index = merged.schema.get_field_index("__w_dirty")
        remaining = merged.set_column(index, "__w_dirty", new_dirty).filter(pc.invert(expiring))
        self.closed.replace(remaining)
        self._closed_end = None
        self._dirty = (
            bool(pc.any(remaining.column("__w_dirty")).as_py()) if remaining.num_rows else False
        )
        self.note_closed(remaining, dirty=False)
        return emitted if emitted.num_rows > 0 else None

    @abstractmethod
    def state_tables(self) -> dict[str, pa.Table | None]:
        """Named tables holding the whole state (for snapshots)."""

    @abstractmethod
    def load_tables(self, tables: dict[str, pa.Table]) -> None:
        """Restore from :meth:`state_tables` output."""

    @property
    def rows(self) -> int:
        """Partial rows held, open and closed."""
        return self.open.rows + self.closed.rows

    @property
    def nbytes(self) -> int:
        """Bytes of Arrow buffers held."""
        return self.open.nbytes + self.closed.nbytes
