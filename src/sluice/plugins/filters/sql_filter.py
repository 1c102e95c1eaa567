"""The ``sql`` filter: a DuckDB query (or expression) over the batch, in Sluice's SQL sandbox.

``statement`` is either a query over the batch, which is the table ``table_name``
(default ``events``): ``SELECT *, upper(message) AS m FROM events WHERE level <> 'debug'``;
or a list of select expressions, run as ``SELECT *, <statement> FROM events``. The result
replaces the batch (rows may be dropped, added or reshaped). The connection is the one
:func:`sluice.sql.sandbox.open_connection` makes: no file, network or extension access, and
the statement must be one ``SELECT`` (checked with sqlglot before it runs).

A statement that only picks columns by name (``SELECT ts, host FROM events``) returns the
batch's own columns without a trip through DuckDB, when that is exactly DuckDB's result:
each name is one column of the batch with that exact name, of a type (string, integer,
float, boolean) DuckDB returns unchanged. Anything else runs in DuckDB.

Row order: when the result has as many rows as the batch and does not select the hidden row
column, rows keep their places (DuckDB keeps insertion order); otherwise every result row
takes the batch's first position. A statement DuckDB rejects at run time raises
:class:`SqlFilterError` naming the filter (the runtime sends the batch to the dead-letter
topic).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import ROW, Kernel
from sluice.pipeline.settings.common import PluginSettings
from sluice.sql.sandbox import open_connection

__all__ = ["SqlFilterError", "sql_kernel", "statement_columns"]

_FORBIDDEN = (
    exp.Command, exp.Pragma, exp.Copy, exp.Create, exp.Insert, exp.Update, exp.Delete,
    exp.Drop, exp.Attach, exp.Detach, exp.Set, exp.Use, exp.Into, exp.Alter,
)  # fmt: skip


class SqlFilterError(RuntimeError):
    """The sql filter's statement failed on a batch."""


def _statement(text: str, table_name: str) -> str:
    stripped = text.strip().rstrip(";")
    head = stripped.split(None, 1)[0].lower() if stripped else ""
    query = (
        stripped
        if head in ("select", "with", "from")
        else f"SELECT *, {stripped} FROM {table_name}"
    )
    try:
        trees = sqlglot.parse(query, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"sql statement does not parse: {exc}") from None
    if len(trees) != 1 or trees[0] is None or not isinstance(trees[0], exp.Query):
        raise ConfigError("sql statement must be exactly one SELECT query")
    for node in trees[0].walk():
        if isinstance(node, _FORBIDDEN):
            raise ConfigError(f"sql statement may not use {type(node).__name__.upper()}")
        if isinstance(node, exp.Table) and node.name.lower() != table_name.lower():
            ctes = {c.alias_or_name.lower() for c in trees[0].find_all(exp.CTE)}
            if node.name.lower() not in ctes:
                raise ConfigError(
                    f"sql statement reads table {node.name!r}; only {table_name!r} is available"
                )
    return query


def statement_columns(statement: str, table_name: str = "events") -> frozenset[str] | None:
    """The top-level columns of the batch that ``statement`` can read, or ``None`` when it
    may read every column (``*``, a qualified or whole-row reference, a statement that does
    not parse). Who calls it: the pipeline runtime's input projection."""
    try:
        tree = sqlglot.parse_one(_statement(statement, table_name), read="duckdb")
    except (ConfigError, sqlglot.errors.SqlglotError):
        return None
    names: set[str] = set()
    for node in tree.walk():
        if isinstance(node, exp.Star):
            return None
        if isinstance(node, exp.Column):
            if node.table and node.table.lower() != table_name.lower():
                return None
            if node.name.lower() == table_name.lower() or not node.name:
                return None
            names.add(node.name)
    return frozenset(names)


_KEPT_TYPES = (
    pa.types.is_string,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
)
"""Column types a DuckDB round trip returns unchanged (a projection may skip DuckDB)."""


def _projection(query: str, table_name: str) -> tuple[str, ...] | None:
    """The column names when ``query`` only picks columns of the batch by name
    (``SELECT a, b FROM events``: no alias, expression, star, filter, order or limit),
    else ``None``."""
    tree = sqlglot.parse_one(query, read="duckdb")
    if not isinstance(tree, exp.Select):
        return None
    source = tree.args.get("from_") or tree.args.get("from")
    others = [k for k, v in tree.args.items() if v and k not in ("expressions", "from_", "from")]
    if others or not isinstance(source, exp.From) or not isinstance(source.this, exp.Table):
        return None
    table = source.this
    if table.alias or table.db or table.catalog or table.name.lower() != table_name.lower():
        return None
    names: list[str] = []
    for column in tree.expressions:
        if not isinstance(column, exp.Column) or column.table or not column.name:
            return None
        names.append(column.name)
    return tuple(names) if len({n.lower() for n in names}) == len(names) else None


def _picked(data: pa.Table, names: tuple[str, ...]) -> pa.Table | None:
    """``data.select(names)`` when that is exactly what DuckDB would return (each name is
    one column of the batch, matched exactly, of a type DuckDB returns unchanged)."""
    lowered = [c.lower() for c in data.column_names]
    for name in names:
        if name not in data.column_names or lowered.count(name.lower()) != 1:
            return None
        column_type = data.schema.field(name).type
        if not any(kept(column_type) for kept in _KEPT_TYPES):
            return None
    return data.select(list(names))


def sql_kernel(settings: PluginSettings) -> Kernel:
    """Build the sql kernel (one sandboxed connection per filter, reused for every batch)."""
    cfg: Any = settings
    table_name = str(cfg.table_name)
    query = _statement(str(cfg.statement), table_name)
    projection = _projection(query, table_name)
    con = open_connection()

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        rows = table.column(ROW) if ROW in table.column_names else None
        data = table.drop_columns([ROW]) if rows is not None else table
        picked = None if projection is None else _picked(data, projection)
        # A pure projection gives the same table without a trip through DuckDB.
        out = picked if picked is not None else _run(con, query, table_name, data)
        if rows is not None and ROW not in out.column_names:
            if out.num_rows == table.num_rows:
                out = out.append_column(ROW, rows)
            else:
                first = rows[0].as_py() if len(rows) else 0
                out = out.append_column(ROW, pa.array([first] * out.num_rows, pa.int64()))
        return out, None

    return kernel


def _run(con: duckdb.DuckDBPyConnection, query: str, table_name: str, data: pa.Table) -> pa.Table:
    try:
        con.register(table_name, data)
        try:
            out: pa.Table = con.sql(query).to_arrow_table()
        finally:
            con.unregister(table_name)
    except duckdb.Error as exc:
        raise SqlFilterError(f"sql filter failed on a batch of {data.num_rows}: {exc}") from exc
    return out
