"""Per-node counters kept by the framework: records in, out, dropped, dead-lettered, errors.

Tasks update them as batches pass (each node's counters are written by its own task thread
only); the API's monitor endpoints and ``/metrics`` read them. ``dropped`` counts records a
node discarded on purpose (filtered by SQL, matched by no split target) or that retention
deleted before they were read; ``lag`` is the records left in the inputs after the last
batch; ``last_batch_ms`` the wall time of the last batch, ``batch_ms_total`` their sum.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

__all__ = ["MetricsRegistry", "NodeCounters"]


@dataclass
class NodeCounters:
    """Counters of one node since the server started."""

    records_in: int = 0
    records_out: int = 0
    dropped: int = 0
    dead_lettered: int = 0
    errors: int = 0
    lag: int = 0
    last_batch_ms: float = 0.0
    batch_ms_total: float = 0.0
    batches: int = 0


class MetricsRegistry:
    """Thread-safe map ``(flow_id, node_id) -> NodeCounters``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: dict[tuple[int, int], NodeCounters] = {}
        self._types: dict[tuple[int, int], str] = {}

    def counters(self, flow_id: int, node_id: int) -> NodeCounters:
        """The live counters of a node (created at zero)."""
        with self._lock:
            return self._nodes.setdefault((flow_id, node_id), NodeCounters())

    def describe(self, flow_id: int, node_id: int, node_type: str) -> None:
        """Remember a node's type (a label of its exported metrics)."""
        with self._lock:
            self._types[(flow_id, node_id)] = node_type

    def nodes(self) -> list[tuple[int, int, str, dict[str, float]]]:
        """``(flow_id, node_id, node_type, counters)`` of every node seen, sorted."""
        with self._lock:
            return [
                (f, n, self._types.get((f, n), ""), {k: float(v) for k, v in asdict(c).items()})
                for (f, n), c in sorted(self._nodes.items())
            ]

    def snapshot(self, flow_id: int, node_id: int) -> dict[str, float]:
        """A copy of a node's counters as a dict."""
        with self._lock:
            counters = self._nodes.get((flow_id, node_id), NodeCounters())
            return {k: float(v) for k, v in asdict(counters).items()}
