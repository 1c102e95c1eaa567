"""One JSON value at a time: the exact conversion rules of the record codec.

Who calls it: :func:`sluice.runtime.records.decode_json_values`, only for values the native
bulk reader rejected (or that are not ``{...}`` objects), to decode what can be decoded and
give every bad value its reason. The rules are the codec's (see :mod:`sluice.runtime.records`):
lossless conversions only (a number or an object into a string field becomes its JSON text,
``"12"`` into a long becomes 12, ``0``/``1``/``"true"`` into a boolean).
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import pyarrow as pa

__all__ = ["decode_one"]


def _coerce(value: Any, data_type: pa.DataType, name: str) -> Any:
    if value is None:
        return None
    if pa.types.is_string(data_type):
        if isinstance(value, str):
            return value
        return orjson.dumps(value).decode()
    if pa.types.is_boolean(data_type):
        if isinstance(value, bool):
            return value
        if value in (0, 1) or value in ("0", "1", "true", "false"):
            return value in (1, "1", "true")
    elif pa.types.is_integer(data_type):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    elif pa.types.is_floating(data_type):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
    shown = orjson.dumps(value).decode()
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise ValueError(f"field `{name}` expects {data_type}, got {shown}")


def decode_one(value: bytes, schema: pa.Schema) -> dict[str, Any]:
    """The row of one JSON object value in ``schema``'s field order.

    Raises:
        ValueError: invalid JSON, not an object, a field that cannot be converted losslessly,
            or a value out of the schema type's range (the message is the record's reason).
    """
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"not a JSON object (a JSON {type(obj).__name__} value)")
    row = {field.name: _coerce(obj.get(field.name), field.type, field.name) for field in schema}
    # Validate ranges (e.g. int32 overflow) the way Arrow will store them.
    try:
        pa.Table.from_pylist([row], schema=schema)
    except (pa.ArrowInvalid, OverflowError) as error:
        raise ValueError(f"a value does not fit the schema: {error}") from None
    return row
