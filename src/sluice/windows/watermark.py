"""Event-time watermarks: per input partition, combined as the minimum, with idleness.

Who calls it: :class:`~.operator.WindowOperator` and :class:`~.join.WindowJoin` on every
batch (``running`` then ``observe``) and on every processing-time tick (``refresh``).

Rules:
- A partition's watermark is the largest event time it delivered minus ``waiting_ms``.
- The operator's watermark is the minimum over the *active* partitions, and never goes
  backwards. A partition that was declared (:meth:`declare`) but has delivered nothing holds
  it at minus infinity, like Flink, until it delivers or turns idle.
- A partition is idle when it delivered no record for ``idle_timeout_ms`` of processing time
  *and* has no unread records (``backlog``, when the caller knows the consumer lag): a slow
  reader never turns a partition idle, only a silent log does. Idle partitions leave the
  minimum until they deliver again (their records may then be late). When every partition
  is idle, the watermark moves to the largest event time seen minus ``waiting_ms``.
- ``running`` gives, for every record of a batch, the watermark *just before* that record
  (a prefix maximum), so lateness does not depend on how the input was cut into batches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NEG_INF", "POS_INF", "WatermarkTracker"]

NEG_INF = -(2**62)
"""Minus infinity in event-time milliseconds (far from int64 overflow)."""
POS_INF = 2**62
"""Plus infinity in event-time milliseconds."""


class WatermarkTracker:
    """Watermark bookkeeping of one operator (see the module docstring for the rules).

    Args:
        waiting_ms: how far the watermark trails the largest event time.
        idle_timeout_ms: processing time after which a silent partition is idle (0: never).
        backlog: tells whether a partition still has unread records; such a partition never
            counts as idle. ``None``: idleness looks at processing time only.
    """

    def __init__(
        self,
        waiting_ms: int,
        idle_timeout_ms: int,
        backlog: Callable[[Hashable], bool] | None = None,
    ) -> None:
        self._waiting = waiting_ms
        self._idle_timeout = idle_timeout_ms
        self.backlog = backlog
        self._max: dict[Hashable, int] = {}
        self._active_at: dict[Hashable, int | None] = {}
        self.watermark = NEG_INF

    @property
    def partitions(self) -> dict[Hashable, int]:
        """Largest event time per known partition (NEG_INF when none yet)."""
        return dict(self._max)

    def declare(self, partition: Hashable, now_ms: int) -> None:
        """Make a partition known; until it delivers or idles it holds the watermark back."""
        if partition not in self._max:
            self._max[partition] = NEG_INF
            self._active_at[partition] = now_ms

    def _is_idle(self, partition: Hashable, now_ms: int) -> bool:
        if self._idle_timeout <= 0:
            return False
        since = self._active_at.get(partition)
        if since is None:
            self._active_at[partition] = now_ms
            return False
        if now_ms - since < self._idle_timeout:
            return False
        return self.backlog is None or not self.backlog(partition)

    def _others_min(self, partition: Hashable, now_ms: int) -> int:
        values = [
            high for p, high in self._max.items() if p != partition and not self._is_idle(p, now_ms)
        ]
        return min(values) if values else POS_INF

    def running(self, partition: Hashable, times: pa.Array, now_ms: int) -> pa.Array:
        """Watermark in force just before each record of ``times`` (int64, no nulls)."""
        own = self._max.get(partition, NEG_INF)
        others = self._others_min(partition, now_ms)
        n = len(times)
        shifted = pa.concat_arrays(
            [pa.array([own], pa.int64()), times.slice(0, max(n - 1, 0)).cast(pa.int64())]
        )
        prefix = pc.cumulative_max(shifted)
        capped = pc.min_element_wise(prefix, pa.scalar(others, pa.int64()))
        marks = pc.subtract(capped, pa.scalar(self._waiting, pa.int64()))
        result: pa.Array = pc.max_element_wise(marks, pa.scalar(self.watermark, pa.int64()))
        return result

    def observe(self, partition: Hashable, high: int | None, now_ms: int) -> None:
        """Record that ``partition`` delivered records up to event time ``high`` at ``now_ms``."""
        self.declare(partition, now_ms)
        if high is not None:
            self._max[partition] = max(self._max[partition], high)
        self._active_at[partition] = now_ms

    def refresh(self, now_ms: int) -> int:
        """Recompute (idleness included) and return the monotonic operator watermark."""
        active = [high for p, high in self._max.items() if not self._is_idle(p, now_ms)]
        # All idle: the largest event time seen anywhere counts (as in Flink), otherwise a
        # partition that delivered and then went silent right after the others turned idle
        # would leave its windows open forever.
        low = min(active) if active else max(self._max.values(), default=NEG_INF)
        if low > NEG_INF:
            self.watermark = max(self.watermark, low - self._waiting)
        return self.watermark

    def to_json(self) -> dict[str, Any]:
        """JSON-able state for snapshots (processing times are not kept)."""
        return {
            "watermark": self.watermark,
            "partitions": [[p, high] for p, high in self._max.items()],
        }

    def load_json(self, data: dict[str, Any]) -> None:
        """Restore from :meth:`to_json`; idleness clocks restart at the next call."""
        self.watermark = int(data["watermark"])
        self._max = {_key(p): int(high) for p, high in data["partitions"]}
        self._active_at = dict.fromkeys(self._max)


def _key(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value
