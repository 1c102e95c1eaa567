"""The ``sluice`` output: events into a bus topic (a result table's ``table_{rt_id}``), as
JSON objects, so flows pick them up from there.

The topic must exist (a result table's topic is created with the table); ``key`` (sprintf)
keys the records, so they are partitioned like Kafka would. Produce returns once the bus
stored the records, so ``flush`` has nothing left to do.
"""

from __future__ import annotations

import pyarrow as pa

from sluice.bus import Records
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.jsonl import encode_jsonl
from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs import output_view
from sluice.plugins.outputs.base import Output, Rejected

__all__ = ["SluiceOutput"]


class SluiceOutput(Output):
    """``sluice { topic => "table_2_clean" key => "%{host}" }``."""

    def open(self) -> None:
        if self.ctx.bus is None:
            raise ConfigError("sluice output needs a bus")
        self.bus = self.ctx.bus
        self.topic = str(self.settings.topic)
        if "%{" in self.topic:
            raise ConfigError("sluice output: topic does not take sprintf references")
        if not self.bus.topic_exists(self.topic):
            raise ConfigError(
                f"sluice output: topic {self.topic!r} does not exist "
                "(create the result table, or the topic, first)"
            )
        self.key = compile_sprintf(self.settings.key) if self.settings.key else None

    def write(self, table: pa.Table) -> Rejected:
        view = output_view(table)
        values = encode_jsonl(view).split(b"\n")[:-1]
        keys = None
        if self.key is not None:
            keys = [None if k is None else k.encode() for k in self.key.render(view).to_pylist()]
        self.bus.produce(self.topic, None, Records(values=values, keys=keys))
        return []
