"""GROUP BY queries split into an AggregatePlan (pre-aggregation, accumulators, post)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqltest_helpers import table

from sluice.sql import SqlExecutionError, compile_realtime_sql

SIG = [("event_time", "long"), ("sensitivity", "string"), ("signature", "string"),
       ("log", "string"), ("n", "long")]  # fmt: skip
ROWS = [
    {"event_time": 5, "sensitivity": "dist_05", "signature": "a", "log": "x1", "n": 1,
     "dtEventTimeStamp": 1000},
    {"event_time": 9, "sensitivity": "dist_05", "signature": "a", "log": None, "n": 2,
     "dtEventTimeStamp": 2000},
    {"event_time": 7, "sensitivity": "dist_05", "signature": "b", "log": "y1", "n": 2,
     "dtEventTimeStamp": 3000},
    {"event_time": 3, "sensitivity": "dist_01", "signature": "a", "log": "z1", "n": None,
     "dtEventTimeStamp": 4000},
    {"event_time": 8, "sensitivity": "dist_05", "signature": "a", "log": "x3", "n": 2,
     "dtEventTimeStamp": 5000},
]  # fmt: skip


def compile_(sql: str):  # type: ignore[no-untyped-def]
    return compile_realtime_sql(sql, {"591_s": SIG})


def finish(sql: str) -> list[dict[str, object]]:
    """Run the whole plan over ROWS as one window; rows sorted by their string values."""
    query = compile_(sql)
    pre = query.pre_aggregate({"591_s": table(SIG, ROWS)})
    out = query.finish_aggregate(pre)
    return sorted(out.to_pylist(), key=lambda r: tuple(v for v in r.values() if isinstance(v, str)))


def test_template_group_by_max_event_time() -> None:
    sql = (
        "select max(event_time) as event_time, sensitivity, signature from 591_s "
        "GROUP BY sensitivity, signature"
    )
    query = compile_(sql)
    plan = query.aggregate
    assert plan is not None
    assert query.output_schema == [
        ("event_time", "long"),
        ("sensitivity", "string"),
        ("signature", "string"),
    ]
    assert [(k.column, k.expression_sql) for k in plan.group_keys] == [
        ("__k0", '"__s0"."sensitivity"'),
        ("__k1", '"__s0"."signature"'),
    ]
    assert [(a.func, a.argument_sql, a.argument_column, a.distinct, a.output)
            for a in plan.aggregates] == [
        ("max", '"__s0"."event_time"', "__v0", False, "__a0")
    ]  # fmt: skip
    assert plan.pre_columns == ("__k0", "__k1", "__v0", "dtEventTimeStamp")
    assert finish(sql) == [
        {"event_time": 3, "sensitivity": "dist_01", "signature": "a"},
        {"event_time": 9, "sensitivity": "dist_05", "signature": "a"},
        {"event_time": 7, "sensitivity": "dist_05", "signature": "b"},
    ]


def test_every_aggregate_function() -> None:
    rows = finish(
        "select signature, count(*) as c, count(n) as cn, count(distinct n) as dn, sum(n) as s,"
        " avg(event_time) as a, min(event_time) as lo, last(log) as l, first(log) as f "
        'from 591_s where sensitivity = "dist_05" group by signature'
    )
    assert rows == [
        {"signature": "a", "c": 3, "cn": 3, "dn": 2, "s": 5, "a": pytest.approx(22 / 3),
         "lo": 5, "l": "x3", "f": "x1"},
        {"signature": "b", "c": 1, "cn": 1, "dn": 1, "s": 2, "a": 7.0, "lo": 7, "l": "y1",
         "f": "y1"},
    ]  # fmt: skip


def test_having_and_expressions_over_aggregates() -> None:
    sql = (
        "SELECT COUNT(*) as log_count, '__dist_05' as sensitivity, signature, "
        "max(event_time) - min(event_time) as span from 591_s group by signature "
        "having count(*) > 1"
    )
    query = compile_(sql)
    assert query.aggregate is not None
    assert query.aggregate.having_sql == '"__agg"."__a0" > 1'
    assert finish(sql) == [
        {"log_count": 4, "sensitivity": "__dist_05", "signature": "a", "span": 6}
    ]


def test_group_by_expression_and_select_alias() -> None:
    rows = finish("select upper(signature) as sig, count(*) as c from 591_s group by sig")
    assert rows == [{"sig": "A", "c": 4}, {"sig": "B", "c": 1}]


def test_global_aggregate_without_group_by() -> None:
    assert finish("select count(*) as c, sum(n) as s from 591_s") == [{"c": 5, "s": 7}]


def test_post_aggregate_with_external_accumulators() -> None:
    query = compile_("select signature, count(*) as c from 591_s group by signature")
    accumulated = pa.table({"__k0": ["a", "b"], "__a0": pa.array([10, 20], pa.int64())})
    assert query.post_aggregate(accumulated).to_pylist() == [
        {"signature": "a", "c": 10},
        {"signature": "b", "c": 20},
    ]


def test_ungrouped_column_is_an_error() -> None:
    from sluice.model.errors import NodeValidError

    with pytest.raises(NodeValidError, match='"log" must appear in the GROUP BY'):
        compile_("select signature, log, count(*) as c from 591_s group by signature")


def test_run_refuses_aggregates_and_plan_steps_refuse_plain_queries() -> None:
    agg = compile_("select signature, count(*) as c from 591_s group by signature")
    with pytest.raises(SqlExecutionError, match="AggregatePlan"):
        agg.run({"591_s": table(SIG, ROWS)})
    plain = compile_("select signature from 591_s")
    with pytest.raises(SqlExecutionError, match="does not aggregate"):
        plain.pre_aggregate({"591_s": table(SIG, ROWS)})
