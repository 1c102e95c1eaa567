"""BKData field types, their Arrow equivalents and the system fields every RT record carries.

A result table's schema is a list of ``(field_name, field_type)`` pairs whose types are
BKData's: ``int, long, float, double, string, text, boolean, timestamp``. Between nodes the
data are Arrow tables, so each BKData type has one Arrow type (:data:`BKDATA_TO_ARROW`);
``timestamp`` is an epoch in milliseconds held as ``int64``, as BKData stores it.

Every record of a BKData RT also carries system fields that are not part of the declared
schema (:data:`SYSTEM_FIELDS`); SQL may reference them on any input.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from sluice.model.errors import Message, NodeValidError

__all__ = [
    "BKDATA_TO_ARROW",
    "BKDATA_TYPES",
    "SYSTEM_FIELDS",
    "SYSTEM_FIELD_NAMES",
    "Schema",
    "arrow_schema",
    "arrow_type",
    "bkdata_type_of_arrow",
    "normalise_schema",
]

Schema = Sequence[tuple[str, str]]
"""An RT schema: ``(field_name, bkdata_field_type)`` pairs in field order."""

BKDATA_TO_ARROW: dict[str, pa.DataType] = {
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "string": pa.string(),
    "text": pa.string(),
    "boolean": pa.bool_(),
    "timestamp": pa.int64(),
}
"""BKData field type -> Arrow type. ``timestamp`` is epoch milliseconds in ``int64``."""

BKDATA_TYPES: tuple[str, ...] = tuple(BKDATA_TO_ARROW)
"""Every BKData field type Sluice understands."""

SYSTEM_FIELDS: tuple[tuple[str, str], ...] = (
    ("dtEventTime", "string"),
    ("dtEventTimeStamp", "long"),
    ("localTime", "string"),
    ("thedate", "int"),
)
"""Fields BKData adds to every record of an RT, whatever its declared schema.

``dtEventTime`` is the event time as ``'YYYY-mm-dd HH:MM:SS'``, ``dtEventTimeStamp`` the same
instant in epoch milliseconds, ``localTime`` the processing time as ``'YYYY-mm-dd HH:MM:SS'``
and ``thedate`` the event day as the integer ``yyyymmdd``.
"""

SYSTEM_FIELD_NAMES: frozenset[str] = frozenset(name for name, _ in SYSTEM_FIELDS)
"""Names of :data:`SYSTEM_FIELDS`."""


def arrow_type(field_type: str) -> pa.DataType:
    """Return the Arrow type of a BKData field type (case-insensitive).

    Raises:
        NodeValidError: the type is not a BKData field type; the message lists the known ones.
    """
    found = BKDATA_TO_ARROW.get(field_type.lower())
    if found is None:
        known = ", ".join(BKDATA_TYPES)
        raise NodeValidError(
            Message(
                "未知的字段类型 `{t}`，可用类型：{known}",
                "unknown field type `{t}`; known: {known}",
            ).format(t=field_type, known=known)
        )
    return found


def normalise_schema(schema: Schema) -> list[tuple[str, str]]:
    """Return ``schema`` with lower-cased, checked types; duplicate names are an error.

    Raises:
        NodeValidError: an unknown type or a duplicated field name.
    """
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name, field_type in schema:
        arrow_type(field_type)
        if name in seen:
            raise NodeValidError(
                Message("字段 `{n}` 重复", "field `{n}` is declared twice").format(n=name)
            )
        seen.add(name)
        out.append((name, field_type.lower()))
    return out


def arrow_schema(schema: Schema) -> pa.Schema:
    """Return the Arrow schema of a BKData schema (all fields nullable)."""
    return pa.schema([pa.field(name, arrow_type(t)) for name, t in schema])


def bkdata_type_of_arrow(data_type: pa.DataType) -> str:
    """Return the BKData type that best holds values of an Arrow type.

    Timestamps map to ``timestamp`` (the caller converts them to epoch ms), decimals to
    ``double``, integers by width, everything without a better match to ``string``.
    """
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type):
        return "long" if data_type.bit_width > 32 else "int"
    if pa.types.is_float32(data_type) or pa.types.is_float16(data_type):
        return "float"
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "double"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    return "string"
