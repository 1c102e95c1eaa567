"""Condition predicates over whole tables, with Logstash semantics."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.pipeline import ast
from sluice.pipeline.conditions import compile_condition
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.parser import parse_condition

TABLE = pa.table(
    {
        "s": ["x", "yx", None, "z"],
        "n": [1, 5, None, 10],
        "f": [1.5, 5.0, 2.0, None],
        "tags": [["p"], None, ["q", "p"], []],
        "b": [True, False, None, True],
        "o": pa.array([{"k": "v"}, None, {"k": "w"}, {"k": None}]),
        "needle": ["p", "q", "x", None],
        "hay": ["apple", "xqz", None, "z"],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[s]", [True, True, False, True]),
        ("[b]", [True, False, False, True]),
        ("[missing]", [False] * 4),
        ("![s]", [False, False, True, False]),
        ('[s] == "x"', [True, False, False, False]),
        ('[s] != "x"', [False, True, True, True]),
        ('"x" == [s]', [True, False, False, False]),
        ("[n] > 2", [False, True, False, True]),
        ("2 < [n]", [False, True, False, True]),
        ("[f] >= 2", [False, True, True, False]),
        ("[n] < [f]", [True, False, False, False]),
        ('[n] < "2"', [False] * 4),
        ("[n] == [n]", [True] * 4),
        ("[missing] == [gone]", [True] * 4),
        ("[missing] != [s]", [True, True, False, True]),
        ("[s] =~ /x/", [True, True, False, False]),
        ('[s] !~ "^x"', [False, True, True, True]),
        ("[n] =~ /1/", [False] * 4),
        ('"p" in [tags]', [True, False, True, False]),
        ('"p" not in [tags]', [False, True, False, True]),
        ("[needle] in [tags]", [True, False, False, False]),
        ('[s] in ["x", "z"]', [True, False, False, True]),
        ("[n] in [5, 10]", [False, True, False, True]),
        ('"x" in [s]', [True, True, False, False]),
        ('[s] in "xyz"', [True, False, False, True]),
        ("[needle] in [hay]", [True, True, False, False]),
        ('[o][k] == "v"', [True, False, False, False]),
        ("[n] >= 5 and [s] =~ /x/ or [b]", [True, True, False, True]),
        ("([n] > 1) xor [b]", [True, True, False, False]),
        ("[n] > 1 nand [b]", [True, True, True, False]),
        ("1 < 2", [True] * 4),
        ('"a" == 1', [False] * 4),
        ('"b" in ["a", "b"]', [True] * 4),
        ('[tags] == ["q", "p"]', [False, False, True, False]),
        ("[tags] != []", [True, True, True, False]),
        ("[tags] == [tags]", [True] * 4),
        ("[tags] < []", [False] * 4),
    ],
)
def test_semantics(text: str, expected: list[bool]) -> None:
    assert compile_condition(parse_condition(text))(TABLE).to_pylist() == expected


def test_many_distinct_needles_fall_back_per_row() -> None:
    n = 600
    t = pa.table(
        {
            "a": [f"k{i}" for i in range(n)],
            "b": [f"xx k{i} yy" if i % 2 else "none" for i in range(n)],
        }
    )
    got = compile_condition(parse_condition("[a] in [b]"))(t).to_pylist()
    assert got == [bool(i % 2) for i in range(n)]


def test_invalid_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid RE2"):
        compile_condition(parse_condition("[a] =~ /(/"))


def test_empty_table() -> None:
    assert (
        compile_condition(parse_condition("[a] == 1"))(
            pa.table({"a": pa.array([], pa.int64())})
        ).to_pylist()
        == []
    )


_TYPED = pa.table(
    {
        "a": ["x", None, "1"],
        "b": [1, 2, None],
        "c": [1.5, None, -2.0],
        "d": [True, None, False],
        "e": pa.array([["x"], [], None]),
        "f": pa.array([{"g": "x"}, None, {"g": None}]),
        "T-hYt": ["q", "r", "s"],
    }
)


_refs = st.sampled_from(["a", "b", "c", "d", "e", "f", "zz"]).map(lambda n: ast.FieldRef((n,)))
_rvalues = st.one_of(
    _refs,
    st.just(ast.FieldRef(("f", "g"))),
    st.sampled_from(["x", "1", ""]).map(ast.String),
    st.sampled_from([1, -2.0, 0]).map(ast.Number),
    st.just(ast.Array((ast.String("x"), ast.Number(1)))),
    st.just(ast.Array(())),
    st.sampled_from(["x", "^1$", "("]).map(ast.Regex),
)
_leaves = st.one_of(
    st.builds(ast.Compare, st.sampled_from(["==", "!=", "<", ">", "<=", ">="]), _rvalues, _rvalues),
    st.builds(ast.RegexMatch, _rvalues, st.sampled_from(["x", "["]).map(ast.Regex), st.booleans()),
    st.builds(ast.In, _rvalues, _rvalues, st.booleans()),
    st.builds(ast.Truthy, _rvalues),
)
_conditions = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.builds(ast.BoolOp, st.sampled_from(["and", "or", "xor", "nand"]), inner, inner),
        inner.map(ast.Not),
    ),
    max_leaves=4,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_conditions)
def test_any_condition_evaluates_on_any_table(cond: ast.Condition) -> None:
    try:
        predicate = compile_condition(cond)
    except ConfigError:
        return  # a regex RE2 rejects
    result = predicate(_TYPED)
    assert result.type == pa.bool_()
    assert len(result) == _TYPED.num_rows
    assert result.null_count == 0
