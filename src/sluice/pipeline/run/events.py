"""Events between the bus and Arrow: JSON values -> table, table rows -> JSON values.

Who calls it: the pipeline runner (every fetched batch of the input topic), the simulator
and ``sluice pipeline test``. Values are decoded with ``orjson`` and made into one table by
one ``pa.array`` call (``pyarrow.json`` is not used: it would turn date-like strings into
timestamps). A field whose values have different kinds across the events of a batch
(``"a": 1`` here, ``"a": "x"`` there) becomes text in that batch (JSON for objects and
arrays), since an Arrow column has one type.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from sluice.plugins.filters._util import objects_array

__all__ = ["clean", "decode_events", "events_table"]


def events_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Events (dicts) as one table; see the module doc for mixed kinds."""
    if not rows:
        return pa.table({})
    return pa.Table.from_struct_array(objects_array(rows))


def decode_events(values: list[bytes]) -> tuple[pa.Table, list[int], list[tuple[int, str]]]:
    """Decode JSON object values.

    Returns ``(table, kept, bad)``: the events, the input index of each table row, and
    ``(index, reason)`` for each value that is not a JSON object.
    """
    rows: list[dict[str, Any]] = []
    kept: list[int] = []
    bad: list[tuple[int, str]] = []
    for i, value in enumerate(values):
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            bad.append((i, f"not JSON: {exc}"))
            continue
        if not isinstance(obj, dict):
            bad.append((i, "not a JSON object"))
            continue
        rows.append(obj)
        kept.append(i)
    return events_table(rows), kept, bad


def clean(value: Any) -> Any:
    """Drop null members recursively (a null cell is an absent field)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value
