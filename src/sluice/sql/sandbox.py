"""The sandbox every piece of user SQL runs in, at two levels.

1. **Statement level** (:func:`check_tree`): user SQL must be exactly one ``SELECT``; the
   parser (:func:`sluice.sql.parser.parse_select`) already refuses other statements, and this
   check refuses anything inside the ``SELECT`` that could reach outside the node's inputs:
   ``SELECT ... INTO``, table functions in ``FROM`` (``read_csv``, ``read_parquet``, ``glob``,
   ``query``, ``duckdb_settings()``, ...), embedded DDL/DML/``COPY``/``ATTACH``/``PRAGMA``.
   Function names are also whitelisted by :mod:`sluice.sql.functions`.
2. **Engine level** (:func:`open_connection`): DuckDB connections for user SQL have
   ``enable_external_access=false`` (no files, no network, no ``ATTACH``/``COPY``),
   no extension install/load (``autoinstall_known_extensions``,
   ``autoload_known_extensions``, ``allow_community_extensions``,
   ``allow_unsigned_extensions`` all off), bounded ``memory_limit`` and ``threads``, and
   ``lock_configuration=true`` so SQL cannot ``SET`` any of it back.
"""

from __future__ import annotations

import duckdb
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from sluice.model.errors import Message
from sluice.sql.errors import node_offset, sql_error

__all__ = ["SandboxSettings", "check_tree", "open_connection"]

_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Command,
    exp.Pragma,
    exp.Copy,
    exp.Create,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Drop,
    exp.Attach,
    exp.Detach,
    exp.Set,
    exp.Use,
    exp.Install,
    exp.Into,
    exp.Merge,
    exp.Transaction,
    exp.Commit,
    exp.Alter,
    exp.Export,
    exp.Describe,
    exp.Summarize,
    exp.LoadData,
)


class SandboxSettings(BaseModel):
    """Resource limits of a sandboxed DuckDB connection (inert until :func:`open_connection`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_limit: str = Field(
        default="512MB",
        description="DuckDB memory_limit for one connection, e.g. '512MB' or '2GB'.",
    )
    threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="DuckDB worker threads for one connection; tasks already run in parallel.",
    )


def open_connection(settings: SandboxSettings | None = None) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection locked down for user SQL.

    Called once per compiled query (and reused for every batch). Arrow tables are then
    registered as views with ``register``; nothing else is reachable.
    """
    settings = settings or SandboxSettings()
    config: dict[str, str | bool | int | float | list[str]] = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
        "memory_limit": settings.memory_limit,
        "threads": settings.threads,
        "lock_configuration": True,
    }
    return duckdb.connect(":memory:", config=config)


def check_tree(sql: str, tree: exp.Expr) -> None:
    """Refuse anything in a parsed ``SELECT`` that could reach outside the node's inputs.

    Raises:
        NodeValidError: positioned, naming the construct.
    """
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            kind = type(node).__name__.upper()
            raise sql_error(
                sql,
                node_offset(node),
                Message(f"SQL 中不允许 {kind}", f"{kind} is not allowed in realtime SQL"),
            )
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            name = node.this.name if isinstance(node.this, exp.Func) else node.this.sql()
            raise sql_error(
                sql,
                node_offset(node),
                Message(
                    f"不允许表函数 `{name}`：FROM 只能引用节点的输入结果表",
                    f"table function `{name}` is not allowed: FROM may only name the node's "
                    "input result tables (no files, network or catalogs)",
                ),
            )
