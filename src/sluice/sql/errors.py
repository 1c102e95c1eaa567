"""Positioned SQL errors: every problem in user SQL names its line and column.

The SQL layer reports problems as :class:`sluice.model.errors.NodeValidError` (code
``1500001``, the code BKData gives a node whose form fails), with the message in Chinese and
English, e.g. ``SQL error at line 1, column 15: unknown column `foo```. ``errors`` carries
``{"line", "column", "reason"}`` so an editor can underline the spot.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sluice.model.errors import Message, NodeValidError

__all__ = ["line_col", "node_offset", "sql_error"]


def line_col(sql: str, offset: int) -> tuple[int, int]:
    """Return the 1-based ``(line, column)`` of character ``offset`` in ``sql``."""
    offset = max(0, min(offset, len(sql)))
    line = sql.count("\n", 0, offset) + 1
    column = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, column


def node_offset(node: exp.Expr | None) -> int | None:
    """Return the smallest source offset recorded on ``node`` or its descendants, if any."""
    if node is None:
        return None
    best: int | None = None
    for sub in node.walk():
        meta = sub._meta  # read without creating an empty dict on every node
        if meta and isinstance(meta.get("start"), int):
            start = int(meta["start"])
            best = start if best is None else min(best, start)
    return best


def sql_error(sql: str, offset: int | None, reason: Message, **extra: Any) -> NodeValidError:
    """Build the :class:`NodeValidError` for ``reason`` found at ``offset`` of ``sql``.

    Args:
        sql: the user's SQL text (positions are computed against it).
        offset: character offset of the problem, or ``None`` when no position is known.
        reason: what is wrong, in both languages.
        extra: more structured details put into ``errors``.
    """
    if offset is None:
        message = Message("SQL 错误：", "SQL error: ") + reason
        return NodeValidError(message, errors={"reason": reason.en, **extra})
    line, column = line_col(sql, offset)
    prefix = Message(
        f"SQL 错误（第 {line} 行，第 {column} 列）：",
        f"SQL error at line {line}, column {column}: ",
    )
    return NodeValidError(
        prefix + reason, errors={"line": line, "column": column, "reason": reason.en, **extra}
    )
