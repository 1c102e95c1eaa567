"""Boolean expressions of split nodes (``logic_exp``), evaluated on whole Arrow tables.

A BKData ``split`` node routes each record to the business whose ``logic_exp`` holds, e.g.
``field2=="string 1"``, ``a > 3 and b != 'x'``, ``level in ('WARN','ERROR')``. The text is
parsed by sqlglot (never ``eval``) with BKSQL lexing plus the C-like operators such users
write: ``==``, ``!=``, ``&&``, ``||`` (as OR here), ``!``; double-quoted text is a string.
Fields, functions and positions are checked exactly as in realtime SQL (same registry and
rewriter), and the result must be boolean. Evaluation runs in the sandboxed DuckDB over the
whole table; a NULL outcome counts as false (the record does not match).
"""

from __future__ import annotations

import threading
from typing import ClassVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import TokenType, exp
from sqlglot.errors import ParseError, TokenError

from sluice.model.errors import Message
from sluice.sql.builtins import DEFAULT_REGISTRY
from sluice.sql.dialect import rewrite_select
from sluice.sql.errors import node_offset, sql_error
from sluice.sql.execution import conform_input, run_sql
from sluice.sql.functions import FunctionRegistry
from sluice.sql.parser import BkSql, _parse_error, _unterminated_quote
from sluice.sql.sandbox import SandboxSettings, check_tree, open_connection
from sluice.sql.types import Schema, normalise_schema

__all__ = ["LogicExpression", "compile_logic_expression"]

_INPUT = "__input"
_MATCH = "__match"


class _BkLogic(BkSql):
    """BKSQL lexing where ``||`` means OR (C-like boolean expressions)."""

    DPIPE_IS_STRING_CONCAT = False

    class Parser(BkSql.Parser):
        DISJUNCTION: ClassVar[dict[TokenType, type[exp.Expr]]] = {
            TokenType.OR: exp.Or,
            TokenType.DPIPE: exp.Or,
        }


class LogicExpression:
    """A compiled ``logic_exp``; build with :func:`compile_logic_expression`.

    Attributes:
        text: the expression as written.
        duckdb_sql: the query evaluating it over relation ``__rt_0``.
        required_fields: the fields it reads.
    """

    def __init__(
        self,
        text: str,
        duckdb_sql: str,
        schema: list[tuple[str, str]],
        required: frozenset[str],
        sandbox: SandboxSettings,
    ) -> None:
        self.text = text
        self.duckdb_sql = duckdb_sql
        self.required_fields = required
        self._schema = schema
        self._sandbox = sandbox
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None

    def mask(self, table: pa.Table) -> pa.Array:
        """Return one non-null boolean per row: does the row match (NULL counts as no)?

        Raises:
            SqlExecutionError: DuckDB failed on this data.
        """
        table = conform_input(table, self._schema, self.required_fields)
        with self._lock:
            if self._con is None:
                self._con = open_connection(self._sandbox)
            result = run_sql(self._con, self.duckdb_sql, {"__rt_0": table}, None)
        column = result.column(0).combine_chunks() if result.num_rows else pa.array([], pa.bool_())
        filled: pa.Array = pc.fill_null(column, False)
        return filled

    def filter(self, table: pa.Table) -> pa.Table:
        """Return the rows of ``table`` that match."""
        return table.filter(self.mask(table))

    def close(self) -> None:
        """Close the DuckDB connection (it reopens on next use)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


def compile_logic_expression(
    text: str,
    schema: Schema,
    *,
    registry: FunctionRegistry | None = None,
    sandbox: SandboxSettings | None = None,
) -> LogicExpression:
    """Validate a split ``logic_exp`` against the input schema and compile it.

    Raises:
        NodeValidError: syntax errors, unknown fields or functions, aggregates, or an
            expression that is not a condition, with line and column.
    """
    registry = registry or DEFAULT_REGISTRY
    sandbox = sandbox or SandboxSettings()
    fields = normalise_schema(schema)
    if not text.strip():
        raise sql_error(text, None, Message("表达式为空", "the expression is empty"))
    try:
        parsed = _BkLogic().parse_into(exp.Condition, text)
    except TokenError:
        raise sql_error(
            text,
            _unterminated_quote(text),
            Message(
                "无法切分表达式（引号未闭合？）", "cannot tokenize the expression (unclosed quote?)"
            ),
        ) from None
    except ParseError as error:
        raise _parse_error(text, error) from None
    nodes = [p for p in parsed if p is not None]
    if len(nodes) != 1:
        raise sql_error(
            text, None, Message("只允许一个表达式", "exactly one expression is allowed")
        )
    condition = nodes[0]
    check_tree(text, condition)
    select = exp.Select(expressions=[exp.Alias(this=condition, alias=exp.to_identifier(_MATCH))])
    select.set("from_", exp.From(this=exp.Table(this=exp.to_identifier(_INPUT))))
    rewritten = rewrite_select(text, select, {_INPUT: fields}, registry, carry_event_time=False)
    if rewritten.aggregates:
        raise sql_error(
            text,
            node_offset(condition),
            Message("表达式中不能使用聚合函数", "aggregates are not allowed in the expression"),
        )
    duckdb_sql = rewritten.select.sql(dialect="duckdb")
    con = open_connection(sandbox)
    try:
        con.register("__rt_0", pa.schema([]).empty_table() if not fields else _empty(fields))
        try:
            types = [str(t) for t in con.sql(duckdb_sql).types]
        except duckdb.Error as error:
            first = str(error).strip().splitlines()[0]
            raise sql_error(
                text,
                None,
                Message(f"表达式无法执行：{first}", f"the expression cannot run: {first}"),
            ) from None
    finally:
        con.close()
    if types[0] not in ("BOOLEAN", '"NULL"', "NULL"):
        raise sql_error(
            text,
            0,
            Message(
                f"表达式的结果必须是布尔值，实际是 {types[0]}",
                f"the expression must be a condition (boolean), not {types[0]}",
            ),
        )
    required = frozenset(rewritten.required.get(_INPUT, set()))
    return LogicExpression(text, duckdb_sql, fields, required, sandbox)


def _empty(fields: list[tuple[str, str]]) -> pa.Table:
    from sluice.sql.system_fields import ensure_system_fields
    from sluice.sql.types import arrow_schema

    return ensure_system_fields(arrow_schema(fields).empty_table())
