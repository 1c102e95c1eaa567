"""Result-table identity rules: ids are ``{bk_biz_id}_{table_name}``.

Pure functions; the store keeps the tables themselves.
"""

from __future__ import annotations

import re

from sluice.model.errors import COMMA, Message, NodeValidError, ParamsError

__all__ = [
    "TABLE_NAME_MESSAGE",
    "TABLE_NAME_RE",
    "TABLE_NAME_UPDATE_RE",
    "biz_id_of",
    "check_table_name",
    "make_rt_id",
    "topic_of",
]

TABLE_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*(_[a-zA-Z0-9]+)*$")
TABLE_NAME_UPDATE_RE = re.compile(r"^[a-zA-Z][_a-zA-Z0-9]*$")
TABLE_NAME_MESSAGE = Message(
    "由英文字母、下划线或数字组成，且以字母开头，不支持连续下划线或以下划线结尾",
    "Consists of letters, underscores or digits, starts with a letter, "
    "with no consecutive or trailing underscores",
)
_RT_ID_RE = re.compile(r"^(\d+)_([A-Za-z][A-Za-z0-9_]*)$")


def make_rt_id(bk_biz_id: int, table_name: str) -> str:
    """Return the result-table id of ``table_name`` in business ``bk_biz_id``."""
    return f"{bk_biz_id}_{table_name}"


def check_table_name(
    table_name: str, *, update: bool = False, label: Message | None = None
) -> None:
    """Raise :class:`NodeValidError` unless ``table_name`` follows BKData's naming rule.

    ``update`` selects the looser rule BKData applies when a node is saved again.
    """
    pattern = TABLE_NAME_UPDATE_RE if update else TABLE_NAME_RE
    if len(table_name) > 255 or not pattern.match(table_name):
        prefix = label or Message("数据输出", "Table name")
        raise NodeValidError(prefix + COMMA + TABLE_NAME_MESSAGE)


def biz_id_of(rt_id: str) -> int:
    """Return the business id leading ``rt_id``; raises :class:`ParamsError` if it has none."""
    match = _RT_ID_RE.match(rt_id)
    if match is None:
        raise ParamsError(
            Message(f"结果表ID({rt_id})格式错误", f"Invalid result table id ({rt_id})")
        )
    return int(match.group(1))


def topic_of(rt_id: str) -> str:
    """Return the bus topic holding ``rt_id``'s records: ``table_{rt_id}``."""
    return f"table_{rt_id}"
