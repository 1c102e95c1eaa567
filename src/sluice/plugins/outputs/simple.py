"""The ``stdout`` and ``null`` outputs.

``stdout`` writes each batch through its codec (default ``rubydebug``) to standard output
(or ``stream`` for tests) and flushes it. ``null`` discards events (benchmarks, tests).
"""

from __future__ import annotations

import sys
from typing import BinaryIO

import pyarrow as pa

from sluice.plugins.codecs import make_codec
from sluice.plugins.outputs.base import Output, Rejected

__all__ = ["NullOutput", "StdoutOutput"]


class StdoutOutput(Output):
    """``stdout { codec => rubydebug }``."""

    stream: BinaryIO | None = None

    def open(self) -> None:
        self.codec = make_codec(self.settings.codec, "rubydebug")

    def write(self, table: pa.Table) -> Rejected:
        out = self.stream or sys.stdout.buffer
        out.write(self.codec.encode(table))
        return []

    def flush(self) -> None:
        (self.stream or sys.stdout.buffer).flush()


class NullOutput(Output):
    """``null {}``: drops everything."""

    def write(self, table: pa.Table) -> Rejected:
        return []
