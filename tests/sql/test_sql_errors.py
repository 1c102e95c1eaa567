"""Compile-time validation: every error is a NodeValidError naming the problem and its place."""

from __future__ import annotations

import pytest

from sluice.model.errors import NodeValidError
from sluice.sql import DEFAULT_REGISTRY, compile_realtime_sql

INPUTS = {"591_a": [("log", "string"), ("ip", "string"), ("n", "long")],
          "591_b": [("ip", "string"), ("m", "long")]}  # fmt: skip


def error_of(sql: str) -> NodeValidError:
    with pytest.raises(NodeValidError) as caught:
        compile_realtime_sql(sql, INPUTS)
    return caught.value


def test_unknown_column_names_line_and_column() -> None:
    err = error_of("select log, foo from 591_a")
    assert err.code == "1500001"
    assert err.message("en").startswith("SQL error at line 1, column 13: unknown column `foo`")
    assert err.message("zh-hans").startswith("SQL 错误（第 1 行，第 13 列）：未知字段 `foo`")
    assert err.errors["line"] == 1
    assert err.errors["column"] == 13


def test_position_on_a_later_line() -> None:
    err = error_of("select log,\n       ip\nfrom 591_a\nwhere nope > 1")
    assert err.errors["line"] == 4
    assert err.errors["column"] == 7
    assert "unknown column `nope`" in err.message("en")


def test_unknown_table_is_not_an_input() -> None:
    err = error_of("select log from 591_zzz")
    assert "line 1, column 17" in err.message("en")
    assert "unknown result table `591_zzz`" in err.message("en")
    assert "591_a, 591_b" in err.message("en")


def test_unknown_function_lists_known_ones() -> None:
    err = error_of("select log, md6(log) as h from 591_a")
    assert "line 1, column 13" in err.message("en")
    assert "unknown function `md6`" in err.message("en")
    assert "md5" in err.message("en")
    assert "未知函数 `md6`" in err.message("zh-hans")


def test_syntax_error_position() -> None:
    err = error_of("select log from 591_a where")
    assert "syntax error" in err.message("en")
    assert err.errors["line"] == 1


def test_unclosed_quote() -> None:
    err = error_of("select log from 591_a where ip = 'x")
    assert err.errors["column"] == 34
    assert "unclosed quote" in err.message("en")


def test_ambiguous_column() -> None:
    err = error_of("select ip from 591_a a join 591_b b on a.ip = b.ip")
    assert "ambiguous column `ip`" in err.message("en")


def test_unknown_alias() -> None:
    err = error_of("select c.ip from 591_a a")
    assert "unknown table or alias `c`" in err.message("en")


def test_wrong_argument_count() -> None:
    err = error_of("select lower(log, ip) as x from 591_a")
    assert "takes 1 arguments, got 2" in err.message("en")


def test_expression_without_alias() -> None:
    err = error_of("select length(log) from 591_a")
    assert "needs an alias" in err.message("en")


def test_duplicate_output() -> None:
    err = error_of("select log, ip as log from 591_a")
    assert "duplicate output field `log`" in err.message("en")


def test_aggregate_in_where() -> None:
    err = error_of("select log from 591_a where count(*) > 1")
    assert "aggregate count() is not allowed here" in err.message("en")


def test_table_function_used_as_scalar() -> None:
    err = error_of("select udf_deal_model_json(log) as x from 591_a")
    assert "is a table function" in err.message("en")


def test_unknown_table_function() -> None:
    err = error_of("select x from 591_a, lateral table(nope(log)) as T(x)")
    assert "unknown table function `nope`" in err.message("en")
    assert "udf_deal_model_json" in err.message("en")


def test_udtf_column_count_must_match() -> None:
    err = error_of("select a from 591_a, lateral table(udf_deal_model_json(log)) as T(a)")
    assert "returns 2 columns but AS names 1" in err.message("en")


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("select log from 591_a order by log", "ORDER BY is not supported"),
        ("select log from 591_a limit 3", "LIMIT is not supported"),
        ("select distinct log from 591_a", "SELECT DISTINCT is not supported"),
        ("select log from 591_a where ip in (select ip from 591_b)", "subqueries in expressions"),
        ("select log from 591_a union all select ip from 591_b", "UNION is not supported"),
        ("select 1 as x", "a FROM clause is required"),
        ("select date_format(log, 'yyyy-QQ') as d from 591_a", "unsupported date pattern"),
        ("select regexp_extract(log, 'a', n) as d from 591_a", "must be an integer literal"),
        ("select log from 591_a group by 1", "GROUP BY by position"),
    ],
)
def test_unsupported_constructs(sql: str, fragment: str) -> None:
    assert fragment in error_of(sql).message("en")


def test_registry_unknown_names_are_reported_from_an_isolated_registry() -> None:
    registry = DEFAULT_REGISTRY.copy()
    del registry.scalars["md5"]
    with pytest.raises(NodeValidError, match="unknown function `md5`"):
        compile_realtime_sql("select md5(log) as h from 591_a", INPUTS, registry=registry)
    compile_realtime_sql("select md5(log) as h from 591_a", INPUTS)


def test_bad_field_type_in_schema() -> None:
    with pytest.raises(NodeValidError, match="unknown field type `varchar`"):
        compile_realtime_sql("select a from 1_t", {"1_t": [("a", "varchar")]})
