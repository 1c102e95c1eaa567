"""The SQL schema inferrer the store uses when a ``realtime`` node is saved.

It compiles the node's BKSQL against its inputs' schemas (sandboxed DuckDB, no data), so an
invalid query is refused at save time with ``1500001`` and its position, and the output
table's schema is known before the flow runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sluice.sql import compile_realtime_sql

__all__ = ["infer_sql_schema"]


def infer_sql_schema(
    sql: str, inputs: Mapping[str, Sequence[tuple[str, str]]]
) -> list[tuple[str, str]]:
    """The output schema of ``sql`` over ``inputs`` (raises ``NodeValidError`` when invalid)."""
    query = compile_realtime_sql(sql, {rt: list(fields) for rt, fields in inputs.items()})
    try:
        return [(name, kind) for name, kind in query.output_schema]
    finally:
        query.close()
