"""Arrow rows to JSON values for the bus: the encoding half of the record codec.

Who calls it: the runtime, for every table a node writes to a topic
(:func:`sluice.runtime.tasks.codec.produce_table`). One DuckDB ``to_json`` over the whole
table (vectorised, no per-row Python); one sandboxed connection per thread.
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa

from sluice.sql.sandbox import open_connection

__all__ = ["encode_json_rows"]

_local = threading.local()


def _encoder() -> duckdb.DuckDBPyConnection:
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = open_connection()
        _local.con = con
    return con


def encode_json_rows(table: pa.Table) -> pa.Array:
    """Encode every row of ``table`` as a compact JSON object (UTF-8), vectorised in DuckDB.

    Field order follows the table; nulls are ``null``; NaN and infinities become ``null``
    (JSON has no such numbers); non-ASCII text is emitted as UTF-8.

    Returns:
        A ``binary`` Arrow array with one value per row (``.to_pylist()`` gives ``bytes``).
    """
    if table.num_columns == 0:
        return pa.repeat(pa.scalar(b"{}", pa.binary()), table.num_rows)
    if table.num_rows == 0:
        return pa.array([], pa.binary())
    parts = []
    for field in table.schema:
        name = '"' + field.name.replace('"', '""') + '"'
        value = f"t.{name}"
        if pa.types.is_floating(field.type):
            value = f"CASE WHEN isfinite(t.{name}) THEN t.{name} END"
        parts.append(f"{name} := {value}")
    sql = f"SELECT to_json(struct_pack({', '.join(parts)})) FROM __encode AS t"
    con = _encoder()
    con.register("__encode", table)
    try:
        result = con.sql(sql).to_arrow_table().column(0)
    finally:
        con.unregister("__encode")
    encoded: pa.Array = result.combine_chunks().cast(pa.binary())
    return encoded
