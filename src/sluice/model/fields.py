"""Result-table field types, as BKData names them.

``FIELD_TYPES`` is the full set a schema may use; ``field_type_configs/`` serves the ones a
user may pick (BKData hides ``text`` and ``timestamp`` there).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FIELD_TYPES",
    "FIELD_TYPE_CONFIGS",
    "SYSTEM_FIELDS",
    "FieldSpec",
    "FieldType",
]

FieldType = Literal["int", "long", "float", "double", "string", "text", "boolean", "timestamp"]

FIELD_TYPES: tuple[str, ...] = (
    "int",
    "long",
    "float",
    "double",
    "string",
    "text",
    "boolean",
    "timestamp",
)

FIELD_TYPE_CONFIGS: list[dict[str, str]] = [
    {
        "field_type": "int",
        "field_type_name": "int",
        "field_type_alias": "整型",
        "description": "32-bit integer",
    },
    {
        "field_type": "long",
        "field_type_name": "long",
        "field_type_alias": "长整型",
        "description": "64-bit integer",
    },
    {
        "field_type": "float",
        "field_type_name": "float",
        "field_type_alias": "浮点型",
        "description": "32-bit float",
    },
    {
        "field_type": "double",
        "field_type_name": "double",
        "field_type_alias": "双精度浮点型",
        "description": "64-bit float",
    },
    {
        "field_type": "string",
        "field_type_name": "string",
        "field_type_alias": "字符串",
        "description": "UTF-8 text",
    },
    {
        "field_type": "boolean",
        "field_type_name": "boolean",
        "field_type_alias": "布尔型",
        "description": "true or false",
    },
]


class FieldSpec(BaseModel):
    """One field of a result table's schema."""

    model_config = ConfigDict(extra="forbid")

    field_name: str = Field(
        description="Column name: a letter or underscore, then letters, digits, underscores.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        max_length=255,
    )
    field_type: FieldType = Field(description="One of the BKData field types.")
    field_alias: str = Field(default="", description="Display name of the field.", max_length=255)
    description: str = Field(default="", description="Free text about the field.", max_length=1024)


# Fields every result-table record carries, added by the platform (BKData's system fields).
SYSTEM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        field_name="dtEventTime",
        field_type="string",
        description="Event time, 'YYYY-mm-dd HH:MM:SS'.",
    ),
    FieldSpec(
        field_name="dtEventTimeStamp",
        field_type="long",
        description="Event time in ms since the epoch.",
    ),
    FieldSpec(
        field_name="localTime",
        field_type="string",
        description="Processing time, 'YYYY-mm-dd HH:MM:SS'.",
    ),
    FieldSpec(field_name="thedate", field_type="int", description="Event date as yyyymmdd."),
)
