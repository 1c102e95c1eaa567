"""The output protocol of the pipeline runtime.

An :class:`Output` is built from a compiled ``output`` node (inert); the runtime calls
:meth:`open` once, :meth:`write` with each batch of events the output receives (an Arrow
table; ``@metadata`` still present, codecs drop it), then :meth:`flush` before it commits
the input offsets, and :meth:`close` at the end. ``write`` returns the rows it rejected
(``[(row index, reason)]``); the runtime sends those to the dead-letter topic. An exception
from ``write``/``flush`` means the whole batch was not delivered: the runtime does not
commit, and retries the batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sluice.bus import Bus
from sluice.pipeline.compiler import PluginNode

__all__ = ["Output", "OutputContext", "Rejected"]

Rejected = list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class OutputContext:
    """What the runtime gives an output: the pipeline name and the bus."""

    pipeline: str
    bus: Bus | None = None


class Output(ABC):
    """Base of every output."""

    def __init__(self, node: PluginNode, ctx: OutputContext) -> None:
        self.node = node
        self.settings: Any = node.settings
        self.ctx = ctx

    def open(self) -> None:
        """Connect or open files (called once before the first write)."""
        return

    @abstractmethod
    def write(self, table: pa.Table) -> Rejected:
        """Deliver ``table``'s rows; return the rejected ones."""

    def flush(self) -> None:
        """Make what was written durable/visible (called before offsets are committed)."""
        return

    def close(self) -> None:
        """Release resources."""
        return
