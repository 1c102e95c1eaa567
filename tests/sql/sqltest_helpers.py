"""Helpers for the SQL layer tests: build Arrow inputs, compile and run realtime SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from sluice.sql import SYSTEM_FIELDS, CompiledQuery, arrow_schema, compile_realtime_sql

Rows = list[dict[str, Any]]
Inputs = Mapping[str, tuple[Sequence[tuple[str, str]], Rows]]

LOG_SCHEMA = [
    ("log", "string"),
    ("ip", "string"),
    ("serverIp", "string"),
    ("level", "string"),
    ("n", "long"),
    ("ratio", "double"),
]


def table(schema: Sequence[tuple[str, str]], rows: Rows) -> pa.Table:
    """An Arrow table of ``schema`` (plus system fields the rows carry) holding ``rows``."""
    names = {name for name, _ in schema}
    keys = {key for row in rows for key in row}
    extra = [(n, t) for n, t in SYSTEM_FIELDS if n in keys and n not in names]
    return pa.Table.from_pylist(rows, schema=arrow_schema([*schema, *extra]))


def run_query(sql: str, inputs: Inputs, *, keep_hidden: bool = False) -> tuple[CompiledQuery, Rows]:
    """Compile ``sql`` against ``inputs`` and run it once; returns the query and its rows."""
    query = compile_realtime_sql(sql, {rt: schema for rt, (schema, _) in inputs.items()})
    result = query.run({rt: table(schema, rows) for rt, (schema, rows) in inputs.items()})
    if not keep_hidden:
        visible = [name for name, _ in query.output_schema]
        result = result.select(visible)
    return query, result.to_pylist()
