"""What producers hand the bus and consumers get back, record by record or column by column.

:class:`Records` is the fast path (one sequence, or one ``pyarrow`` array, per column; see
:mod:`sluice.bus.columns`); :class:`Record` and :class:`ConsumedRecord` are the convenient
one-by-one forms. :mod:`sluice.bus.batch` encodes them into stored batches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sluice.bus.columns import is_arrow, to_bytes_list

__all__ = ["ConsumedRecord", "Headers", "Record", "Records", "now_ms"]

Headers = tuple[tuple[str, bytes], ...]
"""Record headers: ordered ``(name, value)`` pairs, as in Kafka."""


def now_ms() -> int:
    """Wall-clock time in milliseconds since the epoch (Kafka's timestamp unit)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Record:
    """One record to produce. ``timestamp`` is ms since the epoch; ``None`` means now."""

    value: bytes
    key: bytes | None = None
    timestamp: int | None = None
    headers: Headers = ()


class ConsumedRecord(NamedTuple):
    """One record read back from a partition."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class Records:
    """Records to produce, column by column: the fast path (no object per record).

    Args:
        values: the values (``bytes`` each; an empty value is allowed), or a ``pyarrow``
            binary/string array without nulls (encoded from its buffers, no copy per value).
        keys: one key (or ``None``) per value, or ``None`` for no keys at all.
        timestamps: one ms timestamp per value (a sequence or a ``pyarrow`` integer array
            without nulls), one for all, or ``None`` for now.
        headers: one :data:`Headers` tuple per value, or ``None``.
    """

    values: Sequence[bytes] | Any
    keys: Sequence[bytes | None] | None = None
    timestamps: Sequence[int] | int | Any | None = None
    headers: Sequence[Headers] | None = None

    def __post_init__(self) -> None:
        n = len(self.values)
        for name in ("keys", "headers"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"Records.{name} has {len(column)} entries for {n} values.")
        ts = self.timestamps
        if ts is not None and not isinstance(ts, int) and len(ts) != n:
            raise ValueError(f"Records.timestamps has {len(ts)} entries for {n}.")

    def __len__(self) -> int:
        return len(self.values)

    @property
    def columnar(self) -> bool:
        """Whether the values (or timestamps) are ``pyarrow`` arrays."""
        return is_arrow(self.values) or is_arrow(self.timestamps)

    def as_lists(self) -> Records:
        """These records with Python lists instead of ``pyarrow`` arrays (for backends that
        hand records one by one to a client, such as Kafka)."""
        if not self.columnar:
            return self
        ts: Any = self.timestamps
        return Records(
            values=to_bytes_list(self.values) if is_arrow(self.values) else self.values,
            keys=self.keys,
            timestamps=ts.to_pylist() if is_arrow(ts) else ts,
            headers=self.headers,
        )

    @classmethod
    def from_records(cls, records: Sequence[Record]) -> Records:
        """Turn a list of :class:`Record` into columns (``None`` timestamps become now)."""
        now = now_ms()
        keys = [r.key for r in records]
        headers = [r.headers for r in records]
        return cls(
            values=[r.value for r in records],
            keys=keys if any(k is not None for k in keys) else None,
            timestamps=[now if r.timestamp is None else r.timestamp for r in records],
            headers=headers if any(headers) else None,
        )

    def take(self, indices: Sequence[int]) -> Records:
        """The records at ``indices`` (used to split a produce call by partition)."""
        ts: Any = self.timestamps
        if ts is not None and not isinstance(ts, int):
            ts = ts.take(indices) if is_arrow(ts) else [ts[i] for i in indices]
        values: Any = self.values
        return Records(
            values=values.take(indices) if is_arrow(values) else [values[i] for i in indices],
            keys=None if self.keys is None else [self.keys[i] for i in indices],
            timestamps=ts,
            headers=None if self.headers is None else [self.headers[i] for i in indices],
        )

    def slice(self, start: int, stop: int) -> Records:
        """Records ``start .. stop-1`` (used to cap the size of one batch)."""
        ts = self.timestamps
        return Records(
            values=self.values[start:stop],
            keys=None if self.keys is None else self.keys[start:stop],
            timestamps=ts if ts is None or isinstance(ts, int) else ts[start:stop],
            headers=None if self.headers is None else self.headers[start:stop],
        )
