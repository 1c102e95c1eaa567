"""Columnar partial-aggregate store: a compacted Arrow table plus pending partial tables.

Who calls it: the window strategies. ``add`` appends the partials of one batch without
touching older state (O(batch groups)); ``merged`` compacts everything into one row per
(window, keys) with the operator's merge kernel. The store compacts on its own when the
pending rows exceed the compacted rows (and a floor), so the work per record is amortised
O(1) and memory stays within twice the number of live groups. There is no per-record or
per-group Python here: the rows live in Arrow buffers and merge in DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa

from sluice.windows.kernels import concat

__all__ = ["PartStore"]

_COMPACT_FLOOR = 65_536


class PartStore:
    """Partial aggregates of many (window, keys) groups.

    Args:
        merge: the kernel that merges partial tables into one row per group.
    """

    def __init__(self, merge: Callable[[Sequence[pa.Table]], pa.Table]) -> None:
        self._merge = merge
        self._base: pa.Table | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    @property
    def rows(self) -> int:
        """Rows held (compacted plus pending; pending rows may repeat a group)."""
        base = self._base.num_rows if self._base is not None else 0
        return base + self._pending_rows

    @property
    def nbytes(self) -> int:
        """Bytes of Arrow buffers held."""
        base: int = self._base.nbytes if self._base is not None else 0
        return base + sum(int(t.nbytes) for t in self._pending)

    def is_empty(self) -> bool:
        """True when the store holds no rows."""
        return self.rows == 0

    def add(self, part: pa.Table | None) -> None:
        """Append partial rows (already in the store's layout); compacts when due."""
        if part is None or part.num_rows == 0:
            return
        self._pending.append(part)
        self._pending_rows += part.num_rows
        base = self._base.num_rows if self._base is not None else 0
        if self._pending_rows > max(_COMPACT_FLOOR, base):
            self.merged()

    def merged(self) -> pa.Table | None:
        """Compact and return all rows, one per group (None when empty)."""
        if self._pending:
            parts = [self._base, *self._pending] if self._base is not None else self._pending
            self._base = self._merge(parts)
            self._pending = []
            self._pending_rows = 0
        return self._base

    def raw(self) -> pa.Table | None:
        """All rows without merging (groups may repeat); None when empty."""
        parts = [self._base, *self._pending] if self._base is not None else list(self._pending)
        return concat(parts) if parts else None

    def replace(self, table: pa.Table | None) -> None:
        """Replace the whole content with ``table`` (already one row per group)."""
        self._base = table if table is not None and table.num_rows > 0 else None
        self._pending = []
        self._pending_rows = 0
