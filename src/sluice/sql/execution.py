"""Running rewritten SQL on a sandboxed DuckDB connection over Arrow tables.

Shared by :class:`~sluice.sql.compiler.CompiledQuery` and the aggregate plan: registering
Arrow tables (zero-copy), conforming inputs to their declared schema, converting DuckDB
result types to BKData's Arrow types, and turning DuckDB failures into
:class:`SqlExecutionError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa
from sqlglot import exp

from sluice.model.errors import Message
from sluice.sql.system_fields import ensure_system_fields
from sluice.sql.types import SYSTEM_FIELD_NAMES, arrow_type

__all__ = [
    "SqlExecutionError",
    "conform_input",
    "convert_outputs",
    "duckdb_message",
    "run_sql",
]


class SqlExecutionError(RuntimeError):
    """A compiled query failed on a batch (or was used the wrong way).

    Raised by ``CompiledQuery.run`` and the aggregate steps; the runtime sends the batch to
    the node's dead-letter RT with ``str(error)`` as the reason.
    """


def duckdb_message(error: Exception) -> Message:
    """The first line of a DuckDB error, without its class prefix, as a :class:`Message`."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return Message(text, text)


_SIMPLE: dict[str, tuple[str, str | None]] = {
    "BOOLEAN": ("boolean", None),
    "TINYINT": ("int", "INTEGER"),
    "SMALLINT": ("int", "INTEGER"),
    "UTINYINT": ("int", "INTEGER"),
    "USMALLINT": ("int", "INTEGER"),
    "INTEGER": ("int", None),
    "BIGINT": ("long", None),
    "UINTEGER": ("long", "BIGINT"),
    "UBIGINT": ("long", "BIGINT"),
    "HUGEINT": ("long", "BIGINT"),
    "UHUGEINT": ("long", "BIGINT"),
    "FLOAT": ("float", None),
    "DOUBLE": ("double", None),
    "VARCHAR": ("string", None),
}


def _conversion(duck_type: str) -> tuple[str, str | None]:
    """Return ``(bkdata_type, how)``; ``how`` is a DuckDB cast target, ``epoch_ms`` or None."""
    upper = duck_type.upper()
    if upper in _SIMPLE:
        return _SIMPLE[upper]
    if upper.startswith("DECIMAL"):
        return "double", "DOUBLE"
    if upper.startswith("TIMESTAMP"):
        return "timestamp", "epoch_ms"
    return "string", "VARCHAR"


def convert_outputs(
    names: Sequence[str], duck_types: Sequence[str], relation: str = "__q"
) -> tuple[list[exp.Expression] | None, list[str]]:
    """Plan the conversion of DuckDB output columns to BKData types.

    Returns:
        ``(projections, bkdata_types)``: ``projections`` selects every column of
        ``relation`` converted (``None`` when no column needs converting).
    """
    projections: list[exp.Expression] = []
    types: list[str] = []
    needed = False
    for name, duck_type in zip(names, duck_types, strict=True):
        bk_type, how = _conversion(duck_type)
        types.append(bk_type)
        column: exp.Expression = exp.Column(
            this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(relation)
        )
        if how == "epoch_ms":
            column = exp.Anonymous(this="epoch_ms", expressions=[column])
        elif how is not None:
            column = exp.Cast(this=column, to=exp.DataType.build(how))
        needed = needed or how is not None
        projections.append(exp.Alias(this=column, alias=exp.to_identifier(name, quoted=True)))
    return (projections if needed else None), types


def conform_input(
    table: pa.Table, schema: Sequence[tuple[str, str]], required: frozenset[str]
) -> pa.Table:
    """Add the required fields a batch lacks: declared ones as nulls, system ones derived."""
    present = set(table.column_names)
    missing = required - present
    if not missing:
        return table
    if missing & SYSTEM_FIELD_NAMES:
        table = ensure_system_fields(table)
    declared = dict(schema)
    for name in sorted(missing - SYSTEM_FIELD_NAMES):
        data_type = arrow_type(declared.get(name, "string"))
        table = table.append_column(pa.field(name, data_type), pa.nulls(table.num_rows, data_type))
    return table


def run_sql(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    relations: Mapping[str, pa.Table],
    schema: pa.Schema | None,
) -> pa.Table:
    """Register ``relations``, run ``sql``, unregister, and cast the result to ``schema``.

    Raises:
        SqlExecutionError: DuckDB failed on this data.
    """
    try:
        for name, table in relations.items():
            con.register(name, table)
        result: pa.Table = con.sql(sql).to_arrow_table()
    except duckdb.Error as error:
        raise SqlExecutionError(
            f"DuckDB failed to run the query: {duckdb_message(error).en}"
        ) from error
    finally:
        for name in relations:
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
    if schema is not None and result.schema != schema:
        result = result.cast(schema)
    return result
