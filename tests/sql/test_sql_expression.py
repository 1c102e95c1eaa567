"""Split nodes' logic_exp: parsed safely, evaluated on whole Arrow tables."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.model.errors import NodeValidError
from sluice.sql import compile_logic_expression

SCHEMA = [("field2", "string"), ("a", "long"), ("b", "string"), ("level", "string")]
ROWS = [
    {"field2": "string 1", "a": 5, "b": "x", "level": "WARN"},
    {"field2": "x", "a": 1, "b": "y", "level": "INFO"},
    {"field2": None, "a": None, "b": None, "level": "ERROR"},
    {"field2": "string 1", "a": 9, "b": "z", "level": "DEBUG"},
]
TABLE = pa.Table.from_pylist(ROWS, schema=pa.schema([("field2", pa.string()), ("a", pa.int64()),
                                                     ("b", pa.string()), ("level", pa.string())]))  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('field2=="string 1"', [True, False, False, True]),
        ("a > 3 and b != 'x'", [False, False, False, True]),
        ("level in ('WARN','ERROR')", [True, False, True, False]),
        ("a > 3 || level == 'INFO'", [True, True, False, True]),
        ("a > 3 && !(b = 'z')", [True, False, False, False]),
        ("field2 is null", [False, False, True, False]),
        ("b like 'x%' or lower(level) = 'debug'", [True, False, False, True]),
        ("not (a <= 5)", [False, False, False, True]),
    ],
)
def test_expressions(text: str, expected: list[bool]) -> None:
    expression = compile_logic_expression(text, SCHEMA)
    assert expression.mask(TABLE).to_pylist() == expected
    assert expression.filter(TABLE).num_rows == sum(expected)


def test_missing_field_in_batch_is_null() -> None:
    expression = compile_logic_expression("a > 1 or b is null", SCHEMA)
    assert expression.mask(pa.table({"a": pa.array([0, 3], pa.int64())})).to_pylist() == [
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("text", "fragment", "column"),
    [
        ("a +", "syntax error", 3),
        ("foo = 1", "unknown column `foo`", 1),
        ("a = 1 and bar(b)", "unknown function `bar`", 11),
        ("a + 1", "must be a condition", 1),
        ("count(a) > 1", "aggregates are not allowed", 1),
        ("a = 'x", "unclosed quote", 5),
        ("a = 1; drop table t", "syntax error", 8),
        ("__import__('os')", "unknown function `__import__`", 1),
    ],
)
def test_bad_expressions_have_positions(text: str, fragment: str, column: int) -> None:
    with pytest.raises(NodeValidError) as caught:
        compile_logic_expression(text, SCHEMA)
    assert fragment in caught.value.message("en")
    assert caught.value.errors["column"] == column


# -- property test: DuckDB evaluation agrees with a Python reference (SQL 3-valued logic) --

Value = int | None
Tree = tuple[Any, ...]

comparisons = st.tuples(
    st.sampled_from(["a", "b"]), st.sampled_from(["=", "!=", "<", ">", "<=", ">="]),
    st.integers(-3, 3),
)  # fmt: skip
trees: st.SearchStrategy[Tree] = st.recursive(
    st.one_of(comparisons.map(lambda c: ("cmp", *c)), st.sampled_from(["a", "b"]).map(
        lambda f: ("null", f))),
    lambda children: st.one_of(
        st.tuples(st.just("and"), children, children),
        st.tuples(st.just("or"), children, children),
        st.tuples(st.just("not"), children),
    ),
    max_leaves=6,
)  # fmt: skip


def render(tree: Tree) -> str:
    kind = tree[0]
    if kind == "cmp":
        return f"{tree[1]} {tree[2]} {tree[3]}"
    if kind == "null":
        return f"{tree[1]} is null"
    if kind == "not":
        return f"not ({render(tree[1])})"
    return f"({render(tree[1])}) {kind} ({render(tree[2])})"


def evaluate(tree: Tree, row: dict[str, Value]) -> bool | None:
    kind = tree[0]
    if kind == "cmp":
        value = row[tree[1]]
        if value is None:
            return None
        op, k = tree[2], tree[3]
        return {"=": value == k, "!=": value != k, "<": value < k, ">": value > k,
                "<=": value <= k, ">=": value >= k}[op]  # fmt: skip
    if kind == "null":
        return row[tree[1]] is None
    if kind == "not":
        inner = evaluate(tree[1], row)
        return None if inner is None else not inner
    left, right = evaluate(tree[1], row), evaluate(tree[2], row)
    if kind == "and":
        if left is False or right is False:
            return False
        return None if left is None or right is None else True
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


rows_strategy = st.lists(
    st.fixed_dictionaries({"a": st.none() | st.integers(-4, 4), "b": st.none() | st.integers(-4, 4)}),
    min_size=1, max_size=20,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(tree=trees, rows=rows_strategy)
def test_logic_matches_python_reference(tree: Tree, rows: list[dict[str, Value]]) -> None:
    expression = compile_logic_expression(render(tree), [("a", "long"), ("b", "long")])
    batch = pa.Table.from_pylist(rows, schema=pa.schema([("a", pa.int64()), ("b", pa.int64())]))
    expected = [evaluate(tree, row) is True for row in rows]
    assert expression.mask(batch).to_pylist() == expected
