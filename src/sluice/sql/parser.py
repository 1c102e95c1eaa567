"""Parse BKSQL (the log platform's Flink-like realtime SQL) into a sqlglot tree.

BKSQL is close to MySQL's lexical rules: back-quoted names, double-quoted strings
(``sensitivity = "dist_05"`` is a string literal), backslash escapes in strings, and names
that may start with digits (result table ids such as ``591_abc``). It differs from MySQL in
two places that this dialect fixes: ``||`` concatenates strings (as in Flink) instead of
meaning ``OR``, and no function is given MySQL semantics at parse time: every call stays a
plain named call so that :mod:`sluice.sql.functions` alone decides what each name means.

Only :func:`parse_select` is public: it returns the single ``SELECT`` of a statement or raises
a positioned :class:`~sluice.model.errors.NodeValidError`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, NoReturn

import sqlglot
from sqlglot import TokenType, exp, parser
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ParseError, TokenError
from sqlglot.parsers.mysql import MySQLParser

from sluice.model.errors import Message
from sluice.sql.errors import node_offset, sql_error

__all__ = ["BkSql", "parse_select"]

# Calls whose special syntax needs a dedicated parser (``CAST(x AS t)``, ``TRIM(BOTH ...)``);
# everything else parses as a plain named call.
_KEPT_FUNCTION_PARSERS = ("CAST", "TRY_CAST", "EXTRACT", "TRIM", "SUBSTRING", "SUBSTR")


class BkSql(MySQL):
    """sqlglot dialect for BKSQL: MySQL lexing, Flink ``||``, no built-in function semantics."""

    DPIPE_IS_STRING_CONCAT = True

    class Parser(MySQLParser):
        """MySQL's parser with plain named calls, ``||`` as concat and call positions kept."""

        FUNCTIONS: ClassVar[dict[str, Any]] = {}
        FUNCTION_PARSERS: ClassVar[dict[str, Any]] = {
            name: fn
            for name, fn in MySQLParser.FUNCTION_PARSERS.items()
            if name in _KEPT_FUNCTION_PARSERS
        }
        DISJUNCTION: ClassVar[dict[TokenType, type[exp.Expr]]] = {TokenType.OR: exp.Or}
        _parse_bitwise = parser.Parser._parse_bitwise

        def _parse_function_call(
            self,
            functions: dict[str, Any] | None = None,
            anonymous: bool = False,
            optional_parens: bool = True,
            any_token: bool = False,
        ) -> exp.Expr | None:
            token = self._curr
            result: exp.Expr | None = super()._parse_function_call(
                functions, anonymous, optional_parens, any_token
            )
            if token is not None and isinstance(result, exp.Expression) and not result._meta:
                result.meta.update(line=token.line, col=token.col, start=token.start, end=token.end)
            return result


_FIRST_WORD = re.compile(r"\s*(\w+)")
_CLASS_REPR = re.compile(r"<class '(?:\w+\.)*(\w+)'>")
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+.*?>")


def _token_text(match: re.Match[str]) -> str:
    return "end of input" if match.group(1) == "SENTINEL" else f"`{match.group(2)}`"


def _unterminated_quote(sql: str) -> int | None:
    """Return the offset of a quote that is never closed, if there is one."""
    quote: str | None = None
    start = 0
    i = 0
    while i < len(sql):
        ch = sql[i]
        if quote is None:
            if ch in "'\"`":
                quote, start = ch, i
        elif ch == "\\" and quote != "`":
            i += 1
        elif ch == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 1
            else:
                quote = None
        i += 1
    return start if quote is not None else None


def _parse_error(sql: str, error: ParseError) -> Exception:
    details = error.errors[0] if error.errors else {}
    line = details.get("line")
    col = details.get("col")
    highlight = str(details.get("highlight") or "")
    description = _TOKEN_REPR.sub(_token_text, str(details.get("description") or error))
    description = _CLASS_REPR.sub(lambda m: m.group(1), description.split(". Line")[0])
    offset: int | None = None
    if isinstance(line, int) and isinstance(col, int):
        lines = sql.split("\n")
        if 1 <= line <= len(lines):
            end_col = col  # sqlglot reports the column of the token's last character
            start_col = max(1, end_col - len(highlight) + 1) if "\n" not in highlight else end_col
            offset = sum(len(x) + 1 for x in lines[: line - 1]) + start_col - 1
    near = f" near `{highlight}`" if highlight else ""
    zh_near = f"（`{highlight}` 附近）" if highlight else ""
    return sql_error(
        sql,
        offset,
        Message(f"语法错误{zh_near}：{description}", f"syntax error{near}: {description}"),
    )


def parse_select(sql: str) -> exp.Select:
    """Parse ``sql`` as one BKSQL ``SELECT`` statement.

    Called by the compiler before any validation. A trailing ``;`` is allowed.

    Raises:
        NodeValidError: a syntax error (with its position), more than one statement, or a
            statement that is not a ``SELECT`` (DDL, DML, ``COPY``, ``ATTACH``, ``PRAGMA``,
            ``INSTALL``/``LOAD``, set operations, ...).
    """
    if not sql.strip():
        raise sql_error(sql, None, Message("SQL 为空", "the SQL is empty"))
    match = _FIRST_WORD.match(sql)
    if match and match.group(1).upper() != "SELECT":
        _raise_not_select(sql, match)
    try:
        statements = [s for s in sqlglot.parse(sql, read=BkSql) if s is not None]
    except TokenError:
        offset = _unterminated_quote(sql)
        raise sql_error(
            sql,
            offset,
            Message("无法切分 SQL（引号未闭合？）", "cannot tokenize the SQL (unclosed quote?)"),
        ) from None
    except ParseError as error:
        raise _parse_error(sql, error) from None
    if len(statements) != 1:
        second = node_offset(statements[1]) if len(statements) > 1 else None
        raise sql_error(
            sql,
            second,
            Message("只允许一条 SELECT 语句", "only one SELECT statement is allowed"),
        )
    statement = statements[0]
    if isinstance(statement, exp.Select):
        return statement
    if isinstance(statement, exp.SetOperation):
        kind = type(statement).__name__.upper()
        raise sql_error(
            sql,
            None,
            Message(
                f"不支持 {kind}：只允许单条 SELECT", f"{kind} is not supported: use one SELECT"
            ),
        )
    _raise_not_select(sql, _FIRST_WORD.match(sql))


def _raise_not_select(sql: str, match: re.Match[str] | None) -> NoReturn:
    word = match.group(1).upper() if match else "?"
    raise sql_error(
        sql,
        match.start(1) if match else None,
        Message(
            f"只允许 SELECT 语句，不允许 {word}",
            f"only a SELECT statement is allowed, not {word}",
        ),
        statement=word,
    )
