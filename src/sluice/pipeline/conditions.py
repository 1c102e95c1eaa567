"""Compile a condition AST into a predicate over whole Arrow tables.

Who calls it: the compiler (once per ``if``/``else if``), then the runtime for every batch:
``compile_condition(cond)(table)`` returns a ``BooleanArray`` with one non-null value per
row. All work is done with ``pyarrow.compute`` (regexes run in RE2).

Semantics (Logstash's, with Ruby truthiness):

- ``[f]`` alone is true when the field exists and is not ``false`` (``""`` and ``0`` are
  true). A literal alone is true.
- ``==``/``!=`` compare numbers with numbers and strings with strings; a string never equals
  a number (``"1" != 1``). An absent field equals only another absent field. Arrays of
  strings or numbers compare item by item with array literals and array fields. ``< > <= >=``
  are false when either side is absent or the kinds differ.
- ``=~``/``!~`` search (not anchor) a string field with a regex or a string read as a regex;
  a non-string or absent field does not match, so ``!~`` is true for it.
- ``x in [f]``: membership when ``[f]`` is an array field, substring when it is a string
  field; ``[f] in ["a", "b"]``: membership in the literal list; ``[f] in "text"``:
  substring of the literal. ``not in`` is the negation.
- ``and or xor nand !`` combine the per-row booleans.

Errors: :class:`ConfigError` at compile time for a regex RE2 cannot compile.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import re2

from sluice.pipeline import ast
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.fields import get, row_index

__all__ = ["Predicate", "compile_condition"]

Predicate = Callable[[pa.Table], pa.Array]
"""A compiled condition: table in, one non-null boolean per row out."""

_SWAP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_PC_OPS = {
    "==": pc.equal,
    "!=": pc.not_equal,
    "<": pc.less,
    ">": pc.greater,
    "<=": pc.less_equal,
    ">=": pc.greater_equal,
}
_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_UNIQUE_LIMIT = 256  # beyond this many distinct needles, `in` on string fields goes per row


def compile_condition(cond: ast.Condition) -> Predicate:
    """Return the predicate for ``cond``; regexes are checked with RE2 now."""
    _check_regexes(cond)

    def predicate(table: pa.Table) -> pa.Array:
        return _eval(cond, table).fill_null(False)

    return predicate


def _check_regexes(cond: ast.Condition) -> None:
    if isinstance(cond, ast.RegexMatch):
        text = cond.pattern.pattern if isinstance(cond.pattern, ast.Regex) else cond.pattern.value
        options = re2.Options()
        options.log_errors = False
        try:
            re2.compile(text, options)
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise ConfigError(f"the regex /{text}/ is not valid RE2: {reason}") from None
    elif isinstance(cond, ast.BoolOp):
        _check_regexes(cond.left)
        _check_regexes(cond.right)
    elif isinstance(cond, ast.Not):
        _check_regexes(cond.operand)


def _const(n: int, value: bool) -> pa.Array:
    return pa.nulls(n, pa.bool_()).fill_null(value)


def _kind(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "list"
    if pa.types.is_null(t):
        return "null"
    return "other"


def _py_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "other"


class _Col:
    """An operand that varies per row."""

    __slots__ = ("arr",)

    def __init__(self, arr: pa.Array) -> None:
        self.arr = arr


def _operand(rv: ast.RValue, table: pa.Table) -> _Col | Any:
    if isinstance(rv, ast.FieldRef):
        arr = get(table, rv.path) if rv.path else None
        return _Col(arr if arr is not None else pa.nulls(table.num_rows))
    if isinstance(rv, ast.String):
        return rv.value
    if isinstance(rv, ast.Number):
        return rv.value
    if isinstance(rv, ast.Regex):
        return rv.pattern
    return [_operand(item, table) for item in rv.items]  # type: ignore[arg-type]


def _eval(cond: ast.Condition, table: pa.Table) -> pa.Array:
    n = table.num_rows
    if isinstance(cond, ast.BoolOp):
        left, right = _eval(cond.left, table), _eval(cond.right, table)
        if cond.op == "and":
            return pc.and_(left, right)
        if cond.op == "or":
            return pc.or_(left, right)
        if cond.op == "xor":
            return pc.xor(left, right)
        return pc.invert(pc.and_(left, right))
    if isinstance(cond, ast.Not):
        return pc.invert(_eval(cond.operand, table))
    if isinstance(cond, ast.Truthy):
        value = _operand(cond.value, table)
        if not isinstance(value, _Col):
            return _const(n, True)
        arr = value.arr
        if _kind(arr.type) == "bool":
            return arr.fill_null(False)
        return arr.is_valid()
    if isinstance(cond, ast.Compare):
        return _compare(cond.op, _operand(cond.left, table), _operand(cond.right, table), n)
    if isinstance(cond, ast.RegexMatch):
        pattern = (
            cond.pattern.pattern if isinstance(cond.pattern, ast.Regex) else cond.pattern.value
        )
        matched = _regex(_operand(cond.left, table), pattern, n)
        return pc.invert(matched) if cond.negate else matched
    assert isinstance(cond, ast.In)
    found = _in(_operand(cond.needle, table), _operand(cond.haystack, table), n)
    return pc.invert(found) if cond.negate else found


def _list_text(arr: pa.Array) -> pa.Array | None:
    """A list column of strings or numbers as one comparable string per row (``None`` for
    other item types): items tagged ``s``/``n`` so ``["1"]`` differs from ``[1]``."""
    if pa.types.is_large_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    item = arr.type.value_type
    kind = _kind(item)
    if kind not in ("string", "number"):
        return None
    flat = pc.list_flatten(arr).cast(pa.string())
    tagged = pc.binary_join_element_wise("s" if kind == "string" else "n", flat, "")
    offsets = arr.offsets if hasattr(arr, "offsets") else None
    if offsets is None:  # pragma: no cover - every list array has offsets
        return None
    rebuilt = pa.ListArray.from_arrays(pc.subtract(offsets, offsets[0]), tagged, mask=arr.is_null())
    return pc.binary_join(rebuilt, "\x1f")


def _py_list_text(items: list[Any]) -> str | None:
    parts = []
    for v in items:
        if isinstance(v, str):
            parts.append("s" + v)
        elif isinstance(v, bool) or not isinstance(v, int | float):
            return None
        else:
            parts.append("n" + (str(int(v)) if float(v).is_integer() else repr(float(v))))
    return "\x1f".join(parts)


def _compare_lists(op: str, arr: pa.Array, right: Any, n: int) -> pa.Array:
    """``==``/``!=`` between a list column and a literal array or another list column."""
    text = _list_text(arr)
    if isinstance(right, _Col):
        other = _list_text(right.arr) if _kind(right.arr.type) == "list" else None
        if text is None or other is None or op not in ("==", "!="):
            return _const(n, op == "!=")
        return _compare(op, _Col(text), _Col(other), n)
    wanted = _py_list_text(right)
    if text is None or wanted is None or op not in ("==", "!="):
        return _const(n, op == "!=")
    return (
        pc.equal(text, wanted).fill_null(False)
        if op == "=="
        else pc.not_equal(text, wanted).fill_null(True)
    )


def _compare(op: str, left: Any, right: Any, n: int) -> pa.Array:
    if not isinstance(left, _Col) and not isinstance(right, _Col):
        kinds_ok = _py_kind(left) == _py_kind(right)
        if op in ("==", "!="):
            return _const(n, (left == right and kinds_ok) == (op == "=="))
        return _const(n, kinds_ok and _PY_OPS[op](left, right))
    if not isinstance(left, _Col):
        left, right, op = right, left, _SWAP[op]
    arr = left.arr
    if _kind(arr.type) == "list" and isinstance(right, list | _Col):
        return _compare_lists(op, arr, right, n)
    if isinstance(right, _Col):
        other = right.arr
        both_null = pc.and_(arr.is_null(), other.is_null())
        same = _kind(arr.type) == _kind(other.type) and _kind(arr.type) in ("number", "string")
        result = _const(n, op == "!=")
        if same:
            result = _PC_OPS[op](arr, other)
        elif arr.type == other.type and op in ("==", "!=") and _kind(arr.type) != "null":
            with contextlib.suppress(pa.ArrowNotImplementedError, pa.ArrowInvalid):
                result = _PC_OPS[op](arr, other)
        if op == "==":
            return pc.or_(result.fill_null(False), both_null)
        if op == "!=":
            either_null = pc.or_(arr.is_null(), other.is_null())
            return pc.and_(pc.or_(result.fill_null(False), either_null), pc.invert(both_null))
        return result.fill_null(False)
    kind = _py_kind(right)
    if kind != _kind(arr.type) or kind not in ("number", "string"):
        return _const(n, op == "!=")
    result = _PC_OPS[op](arr, pa.scalar(right))
    return result.fill_null(op == "!=")


def _regex(value: Any, pattern: str, n: int) -> pa.Array:
    if not isinstance(value, _Col):
        if isinstance(value, str):
            return _const(n, re2.search(pattern, value) is not None)
        return _const(n, False)
    arr = value.arr
    if _kind(arr.type) != "string":
        return _const(n, False)
    return pc.match_substring_regex(arr, pattern).fill_null(False)


def _list_contains(lists: pa.Array, needle: Any, n: int) -> pa.Array:
    """Per row: does the list hold ``needle`` (a scalar or a per-row :class:`_Col`)?"""
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists)
    if isinstance(needle, _Col):
        per_item = pc.take(needle.arr, parents)
        if _kind(per_item.type) != _kind(flat.type):
            return _const(n, False)
        hits = pc.equal(flat, per_item).fill_null(False)
    else:
        if _py_kind(needle) != _kind(flat.type):
            return _const(n, False)
        hits = pc.equal(flat, pa.scalar(needle)).fill_null(False)
    return pc.is_in(row_index(n), value_set=pc.filter(parents, hits))


def _in(needle: Any, haystack: Any, n: int) -> pa.Array:
    if isinstance(haystack, list):  # literal array
        items = [v for v in haystack if not isinstance(v, _Col)]
        if not isinstance(needle, _Col):
            return _const(n, any(_py_kind(v) == _py_kind(needle) and v == needle for v in items))
        kind = _kind(needle.arr.type)
        values = [v for v in items if _py_kind(v) == kind]
        if kind not in ("number", "string") or not values:
            return _const(n, False)
        return pc.is_in(needle.arr, value_set=pa.array(values)).fill_null(False)
    if not isinstance(haystack, _Col):
        if not isinstance(haystack, str):
            return _const(n, False)
        if not isinstance(needle, _Col):
            return _const(n, isinstance(needle, str) and needle in haystack)
        if _kind(needle.arr.type) != "string":
            return _const(n, False)
        uniques = pc.unique(needle.arr).drop_null().to_pylist()
        hits = [u for u in uniques if u in haystack]
        return pc.is_in(needle.arr, value_set=pa.array(hits, pa.string())).fill_null(False)
    arr = haystack.arr
    kind = _kind(arr.type)
    if kind == "list":
        return _list_contains(arr, needle, n)
    if kind != "string":
        return _const(n, False)
    if not isinstance(needle, _Col):
        if not isinstance(needle, str):
            return _const(n, False)
        return pc.match_substring(arr, needle).fill_null(False)
    if _kind(needle.arr.type) != "string":
        return _const(n, False)
    uniques = pc.unique(needle.arr).drop_null().to_pylist()
    if len(uniques) > _UNIQUE_LIMIT:
        pairs = zip(needle.arr.to_pylist(), arr.to_pylist(), strict=True)
        return pa.array([a is not None and b is not None and a in b for a, b in pairs])
    result = _const(n, False)
    for u in uniques:
        here = pc.and_(pc.equal(needle.arr, u).fill_null(False), pc.match_substring(arr, u))
        result = pc.or_(result, here.fill_null(False))
    return result
