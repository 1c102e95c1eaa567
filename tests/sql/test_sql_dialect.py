"""Each construct of the realtime SQL dialect, with exact expected rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqltest_helpers import LOG_SCHEMA, Rows, run_query

from sluice.sql import compile_realtime_sql

Run = Callable[[str], Rows]


def test_projection_with_backquotes_and_aliases(run: Run) -> None:
    rows = run("select `log` as message, ip, `serverIp` from 591_logs where `level` = 'INFO'")
    assert rows == [{"message": "info ok", "ip": "10.0.0.2", "serverIp": "1.1.1.1"}]


def test_star_expands_declared_fields_only(run: Run) -> None:
    rows = run("select * from 591_logs where n = 1")
    assert list(rows[0]) == [name for name, _ in LOG_SCHEMA]


def test_rt_id_starting_with_digits_and_qualified_columns(run: Run) -> None:
    rows = run("select 591_logs.ip from 591_logs where 591_logs.n > 4")
    assert rows == [{"ip": "10.0.0.1"}, {"ip": "10.0.0.4"}]


def test_where_and_or_not(run: Run) -> None:
    rows = run("select n from 591_logs where (n > 2 and not (level = 'DEBUG')) or ratio = 1.5")
    assert rows == [{"n": 5}, {"n": 1}, {"n": 3}]


def test_like_and_not_like(run: Run) -> None:
    assert run("select n from 591_logs where `log` LIKE '%error%'") == [{"n": 3}]
    assert run("select n from 591_logs where `log` NOT LIKE '%o%'") == [{"n": 5}, {"n": 10}]


def test_in_and_not_in(run: Run) -> None:
    assert run("select n from 591_logs where level in ('WARN', 'ERROR')") == [
        {"n": 5},
        {"n": None},
        {"n": 3},
    ]
    assert run("select n from 591_logs where level not in ('WARN', 'ERROR')") == [
        {"n": 1},
        {"n": 10},
    ]


def test_is_null_and_is_not_null(run: Run) -> None:
    assert run("select serverIp from 591_logs where `log` is null") == [{"serverIp": "1.1.1.2"}]
    assert len(run("select n from 591_logs where ip is not null")) == 4


def test_not_equal_both_spellings(run: Run) -> None:
    assert run("select n from 591_logs where level <> 'WARN' and level != 'INFO'") == [
        {"n": 5},
        {"n": 10},
    ]


def test_case_and_if(run: Run) -> None:
    rows = run(
        "select case when n > 4 then 'big' when n is null then 'none' else 'small' end as size,"
        " if(level = 'ERROR', 1, 0) as is_error from 591_logs"
    )
    assert rows == [
        {"size": "big", "is_error": 1},
        {"size": "small", "is_error": 0},
        {"size": "none", "is_error": 0},
        {"size": "small", "is_error": 0},
        {"size": "big", "is_error": 0},
    ]


def test_double_quoted_string_literal(run: Run) -> None:
    assert run('select n from 591_logs where level = "INFO"') == [{"n": 1}]


def test_constants_and_output_schema() -> None:
    query, rows = run_query(
        "select ip, '' as dist_01, 1 as one, 2.5 as half, true as yes, null as nothing "
        "from 591_logs",
        {"591_logs": (LOG_SCHEMA, [{"ip": "x"}])},
    )
    assert rows == [{"ip": "x", "dist_01": "", "one": 1, "half": 2.5, "yes": True, "nothing": None}]
    assert query.output_schema == [
        ("ip", "string"),
        ("dist_01", "string"),
        ("one", "int"),
        ("half", "double"),
        ("yes", "boolean"),
        ("nothing", "string"),
    ]


def test_string_functions(run: Run) -> None:
    rows = run(
        "select length(`log`) as len, lower(level) as lo, upper(ip) as up, "
        "substring(ip, 1, 4) as sub, substr(ip, 6) as tail, concat(ip, '/', level) as c, "
        "concat_ws('-', ip, `log`, level) as cw, trim('  x ') as t, "
        "replace(ip, '.', '_') as r, split_index(ip, '.', 3) as last_octet, "
        "split_index(ip, '.', 9) as missing "
        "from 591_logs where n = 5 or n is null"
    )
    assert rows == [
        {"len": 15, "lo": "error", "up": "10.0.0.1", "sub": "10.0", "tail": "0.1",
         "c": "10.0.0.1/ERROR", "cw": "10.0.0.1-ERROR disk full-ERROR", "t": "x",
         "r": "10_0_0_1", "last_octet": "1", "missing": None},
        {"len": None, "lo": "warn", "up": None, "sub": None, "tail": None, "c": None,
         "cw": "WARN", "t": "x", "r": None, "last_octet": None, "missing": None},
    ]  # fmt: skip


def test_length_counts_characters_not_bytes(run: Run) -> None:
    assert run("select length(`log`) as len from 591_logs where n = 3") == [{"len": 12}]


def test_concat_operator(run: Run) -> None:
    assert run("select ip || ':' || n as k from 591_logs where n = 1") == [{"k": "10.0.0.2:1"}]


def test_regexp_functions(run: Run) -> None:
    rows = run(
        "select regexp_extract(ip, '(\\\\d+)\\\\.(\\\\d+)$', 2) as last, "
        "regexp_extract(`log`, 'nomatch(x)', 1) as none, "
        "regexp_replace(ip, '(\\\\d+)\\\\.', '$1-') as dashed "
        "from 591_logs where n = 5"
    )
    assert rows == [{"last": "1", "none": None, "dashed": "10-0-0-1"}]


def test_math_functions(run: Run) -> None:
    rows = run(
        "select abs(ratio) as a, ceil(ratio) as c, floor(ratio) as f, round(ratio * 3, 1) as r, "
        "power(n, 2) as p, mod(n, 3) as m, n + 1 as plus, n * ratio as prod "
        "from 591_logs where n = 10"
    )
    assert rows == [
        {"a": 1.0, "c": -1.0, "f": -1.0, "r": -3.0, "p": 100.0, "m": 1, "plus": 11, "prod": -10.0}
    ]


def test_json_value(run: Run) -> None:
    rows = run(
        "select JSON_VALUE(`log`, '$.a.b') as deep, JSON_VALUE(`log`, '$.k') as k, "
        "JSON_VALUE(`log`, '$.a') as obj, JSON_VALUE(`log`, '$.zz') as missing "
        "from 591_logs where n = 10 or n = 1"
    )
    # Not-JSON text and missing paths give NULL; objects are not scalar values: NULL.
    assert rows == [
        {"deep": None, "k": None, "obj": None, "missing": None},
        {"deep": "deep", "k": "7", "obj": None, "missing": None},
    ]


def test_time_functions() -> None:
    schema = [("ts", "long"), ("text", "string")]
    _, rows = run_query(
        "select from_unixtime(ts / 1000) as a, from_unixtime(0, 'yyyyMMdd') as b, "
        "unix_timestamp(text) as c, unix_timestamp('2024-01-02', 'yyyy-MM-dd') as d, "
        "date_format(ts, 'yyyy-MM-dd HH:mm') as e, date_format(text, 'HH:mm:ss') as f, "
        "unix_timestamp() > 1700000000 as g, now() is not null as h, "
        "current_timestamp is not null as i from 1_t",
        {"1_t": (schema, [{"ts": 1_700_000_000_000, "text": "2023-11-14 22:13:20"}])},
    )
    assert rows == [
        {
            "a": "2023-11-14 22:13:20",
            "b": "19700101",
            "c": 1_700_000_000,
            "d": 1_704_153_600,
            "e": "2023-11-14 22:13",
            "f": "22:13:20",
            "g": True,
            "h": True,
            "i": True,
        }
    ]


def test_now_is_a_timestamp_in_ms() -> None:
    query, rows = run_query("select now() as t from 1_t", {"1_t": ([("a", "int")], [{"a": 1}])})
    assert query.output_schema == [("t", "timestamp")]
    assert rows[0]["t"] > 1_700_000_000_000


def test_cast_is_null_safe() -> None:
    _, rows = run_query(
        "select cast(a as long) as l, cast(a as double) as d, cast(b as string) as s from 1_t",
        {"1_t": ([("a", "string"), ("b", "long")], [{"a": "12", "b": 3}, {"a": "x", "b": None}])},
    )
    assert rows == [{"l": 12, "d": 12.0, "s": "3"}, {"l": None, "d": None, "s": None}]


def test_system_fields_are_available(run: Run) -> None:
    rows = run("select dtEventTime, dtEventTimeStamp, thedate, localTime from 591_logs where n = 5")
    assert rows[0]["dtEventTime"] == "2023-11-14 22:13:20"
    assert rows[0]["dtEventTimeStamp"] == 1_700_000_000_000
    assert rows[0]["thedate"] == 20231114
    assert len(rows[0]["localTime"]) == 19


def test_event_time_is_carried_as_hidden_column(logs: Rows) -> None:
    query, rows = run_query(
        "select ip from 591_logs where n = 1", {"591_logs": (LOG_SCHEMA, logs)}, keep_hidden=True
    )
    assert query.output_schema == [("ip", "string")]
    assert rows == [{"ip": "10.0.0.2", "dtEventTimeStamp": 1_700_000_001_000}]


def test_missing_declared_field_in_batch_is_null() -> None:
    query = compile_realtime_sql("select a, b from 1_t", {"1_t": [("a", "int"), ("b", "string")]})
    import pyarrow as pa

    out = query.run({"1_t": pa.table({"a": pa.array([1], pa.int32())})})
    assert out.select(["a", "b"]).to_pylist() == [{"a": 1, "b": None}]


def test_left_join_with_table_aliases() -> None:
    left = [("signature", "string"), ("sensitivity", "string"), ("event_time", "long")]
    _, rows = run_query(
        "select a.event_time, if(b.event_time is null, a.event_time, b.event_time) as "
        "history_time, a.signature from 1_a a LEFT join 1_b b on a.signature = b.signature "
        "and a.sensitivity = b.sensitivity",
        {
            "1_a": (left, [{"signature": "s1", "sensitivity": "d", "event_time": 5},
                           {"signature": "s2", "sensitivity": "d", "event_time": 6}]),
            "1_b": (left, [{"signature": "s1", "sensitivity": "d", "event_time": 1}]),
        },
    )  # fmt: skip
    assert sorted(rows, key=lambda r: r["signature"]) == [
        {"event_time": 5, "history_time": 1, "signature": "s1"},
        {"event_time": 6, "history_time": 6, "signature": "s2"},
    ]


def test_subquery_in_from(run: Run) -> None:
    rows = run("select x.ip from (select ip, n from 591_logs where n > 2) x where x.n < 6")
    assert rows == [{"ip": "10.0.0.1"}, {"ip": "10.0.0.3"}]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select coalesce(ip, 'none') as v from 591_logs where n is null", "none"),
        ("select ifnull(ip, 'none') as v from 591_logs where n is null", "none"),
        ("select nullif(level, 'WARN') as v from 591_logs where n is null", None),
        ("select greatest(n, 7) as v from 591_logs where n = 3", 7),
        ("select lpad(ip, 10, '*') as v from 591_logs where n = 3", "**10.0.0.3"),
        ("select md5('a') as v from 591_logs where n = 3", "0cc175b9c0f1b6a831c399e269772661"),
    ],
)
def test_misc_functions(run: Run, sql: str, expected: object) -> None:
    assert run(sql) == [{"v": expected}]
