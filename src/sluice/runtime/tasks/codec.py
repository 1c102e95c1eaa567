"""Batch helpers shared by processors: decode an input, add system fields, produce JSON."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sluice.bus import Bus, Records
from sluice.runtime.records import encode_json_rows
from sluice.runtime.tasks.batch import DeadLetter, InputBatch
from sluice.runtime.tasks.fastjson import decode_values
from sluice.sql import ensure_system_fields

__all__ = ["decode_input", "produce_table", "with_system_fields"]


def decode_input(
    batch: InputBatch,
    schema: list[tuple[str, str]],
    timezone: str,
    *,
    derived_fields: bool = True,
) -> tuple[pa.Table, list[DeadLetter], pa.Array | None]:
    """Decode an input's JSON values against ``schema`` (in parallel pieces cut at the
    fetched batches' bounds, so the values are not joined first; see
    :mod:`sluice.runtime.tasks.fastjson`).

    ``derived_fields=False`` leaves out the undeclared ``dtEventTime``, ``localTime`` and
    ``thedate`` (see :func:`sluice.runtime.records.decode_json_values`).

    Returns ``(table, dead, kept)``: the good records (schema fields then system fields),
    one dead letter per bad value with the decoder's reason, and the input indices of the
    table's rows (``None`` when every record decoded, i.e. row ``i`` is input ``i``).
    """
    values = batch.chunked_values() if len(batch.value_chunks) > 1 else batch.values
    table, bad = decode_values(
        values,
        schema,
        timestamps_ms=batch.timestamps,
        timezone=timezone,
        derived_fields=derived_fields,
    )
    if not bad:
        return table, [], None
    dead = [DeadLetter(batch.rt, index, f"bad record: {reason}") for index, reason in bad]
    rejected = pa.array([index for index, _ in bad], pa.int64())
    everything = pa.array(range(batch.count), pa.int64())
    kept = everything.filter(pc.invert(pc.is_in(everything, value_set=rejected)))
    return table, dead, kept


def with_system_fields(table: pa.Table, timezone: str) -> pa.Table:
    """``table`` with BKData's system fields: ``dtEventTimeStamp`` kept (or now),
    ``dtEventTime``/``thedate`` derived from it, ``localTime`` the processing time."""
    for name in ("dtEventTime", "localTime", "thedate"):
        if name in table.column_names:
            table = table.drop_columns([name])
    return ensure_system_fields(table, timezone=timezone)


def produce_table(bus: Bus, topic: str, table: pa.Table) -> int:
    """Encode ``table`` as JSON objects and append them to ``topic``; returns the count.

    The encoded Arrow array goes to the bus as it is (no Python object per record)."""
    if table.num_rows == 0:
        return 0
    values = encode_json_rows(table)
    bus.produce(topic, None, Records(values=values))
    return len(values)
