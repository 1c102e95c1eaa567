"""The UDF/UDTF registry and the log platform's table functions (inferred semantics)."""

from __future__ import annotations

import pytest
from sqlglot import exp
from sqltest_helpers import run_query

from sluice.sql import DEFAULT_REGISTRY, FunctionRegistry, ScalarFunction, TableFunction
from sluice.sql.functions import Call, template

MODEL = [("log", "string"), ("log_signature", "string"), ("event_time", "long")]
MODEL_ROWS = [
    {"log": "a", "event_time": 1, "log_signature":
        '{"dist_01": "s1", "dist_03": "s3", "dist_05": "s5", "dist_07": "s7", "dist_09": "s9"}'},
    {"log": "b", "event_time": 2, "log_signature": '{"05": "z5", "09": "z9"}'},
    {"log": "c", "event_time": 3, "log_signature": "not json"},
    {"log": "d", "event_time": 4, "log_signature": None},
    {"log": "e", "event_time": 5, "log_signature": "[1, 2]"},
]  # fmt: skip


def test_udf_signature_format_one_row_per_object() -> None:
    _, rows = run_query(
        "select log, dist_01, dist_03, dist_05, dist_07, dist_09 from 591_m, "
        "lateral table(udf_signature_format(log_signature)) as T(dist_01, dist_03, dist_05, "
        "dist_07, dist_09)",
        {"591_m": (MODEL, MODEL_ROWS)},
    )
    assert rows == [
        {"log": "a", "dist_01": "s1", "dist_03": "s3", "dist_05": "s5", "dist_07": "s7",
         "dist_09": "s9"},
        {"log": "b", "dist_01": None, "dist_03": None, "dist_05": "z5", "dist_07": None,
         "dist_09": "z9"},
    ]  # fmt: skip


def test_udf_deal_model_json_one_row_per_key() -> None:
    _, rows = run_query(
        "select event_time, sensitivity ,signature from 591_m, "
        "lateral table(udf_deal_model_json(log_signature)) as T(sensitivity,signature)",
        {"591_m": (MODEL, MODEL_ROWS)},
    )
    assert rows == [
        {"event_time": 1, "sensitivity": "dist_01", "signature": "s1"},
        {"event_time": 1, "sensitivity": "dist_03", "signature": "s3"},
        {"event_time": 1, "sensitivity": "dist_05", "signature": "s5"},
        {"event_time": 1, "sensitivity": "dist_07", "signature": "s7"},
        {"event_time": 1, "sensitivity": "dist_09", "signature": "s9"},
        {"event_time": 2, "sensitivity": "05", "signature": "z5"},
        {"event_time": 2, "sensitivity": "09", "signature": "z9"},
    ]


def test_udf_single_signature_format_java() -> None:
    _, rows = run_query(
        "SELECT log, __dist_05 FROM 591_m, "
        "lateral table (udf_single_signature_format_java (log_signature)) as T (__dist_05)",
        {"591_m": (MODEL, MODEL_ROWS)},
    )
    # level 05 of an object; a non-JSON text (e.g. a pattern) passes through; NULL: no row.
    assert rows == [
        {"log": "a", "__dist_05": "s5"},
        {"log": "b", "__dist_05": "z5"},
        {"log": "c", "__dist_05": "not json"},
        {"log": "e", "__dist_05": "[1, 2]"},
    ]


def test_left_join_lateral_keeps_rows_without_output() -> None:
    _, rows = run_query(
        "select log, s from 591_m LEFT JOIN lateral table(udf_deal_model_json(log_signature))"
        " as T(k, s) ON TRUE where event_time > 2",
        {"591_m": (MODEL, MODEL_ROWS)},
    )
    assert rows == [{"log": "c", "s": None}, {"log": "d", "s": None}, {"log": "e", "s": None}]


def test_udtf_output_names_default_to_the_functions() -> None:
    query, _ = run_query(
        "select signature from 591_m, lateral table(udf_single_signature_format_java(log))",
        {"591_m": (MODEL, MODEL_ROWS)},
    )
    assert query.output_schema == [("signature", "string")]


def test_registry_lookup_and_copy_are_independent() -> None:
    registry = DEFAULT_REGISTRY.copy()
    registry.register_scalar(
        ScalarFunction("double_it", 1, 1, template("({0}) * 2"), "long", "doubles")
    )
    assert registry.kind_of("DOUBLE_IT") == "scalar"
    assert DEFAULT_REGISTRY.kind_of("double_it") is None
    assert registry.kind_of("last") == "aggregate"
    assert registry.kind_of("udf_deal_model_json") == "table"
    assert "double_it" in registry.known("scalar")
    assert registry.known("table") == [
        "udf_deal_model_json",
        "udf_signature_format",
        "udf_single_signature_format_java",
    ]


def test_custom_functions_compile_and_run() -> None:
    registry = FunctionRegistry()
    registry.register_scalar(ScalarFunction("double_it", 1, 1, template("({0}) * 2"), "long"))

    def explode_chars(call: Call) -> exp.Select:
        body = template("SELECT unnest(string_split({0}, '')) AS ch")(call)
        assert isinstance(body, exp.Select)
        return body

    registry.register_table(TableFunction("chars", 1, 1, (("ch", "string"),), explode_chars))
    from sqltest_helpers import table

    from sluice.sql import compile_realtime_sql

    query = compile_realtime_sql(
        "select double_it(event_time) as d, c from 591_m, lateral table(chars(log)) as T(c)",
        {"591_m": MODEL},
        registry=registry,
    )
    out = query.run({"591_m": table(MODEL, [{"log": "xy", "event_time": 4}])})
    assert out.select(["d", "c"]).to_pylist() == [{"d": 8, "c": "x"}, {"d": 8, "c": "y"}]


def test_template_substitutes_trees_not_text() -> None:
    rewrite = template("upper({0}) || {1}")
    node = rewrite(Call("f", [exp.Literal.string("a'); drop"), exp.column("b")], [None, None]))
    assert node.sql(dialect="duckdb") == "UPPER('a''); drop') || b"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"),
        ("yyyyMMdd", "%Y%m%d"),
        ("HH:mm:ss.SSS", "%H:%M:%S.%g"),
        ("yyyy'T'HH", "%YT%H"),
        ("100%", "100%%"),
    ],
)
def test_java_date_patterns(pattern: str, expected: str) -> None:
    from sluice.sql.timefmt import java_to_strftime

    assert java_to_strftime(pattern) == expected
