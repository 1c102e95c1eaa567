"""Every realtime SQL of the log platform's flow templates compiles and gives the right rows.

The SQL strings are taken from the real Jinja2 template sources and rendered with realistic
values (as bk-log renders them), then compiled against the schemas their inputs have in the
flow, each node's inferred output schema feeding the next one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import SandboxedEnvironment
from sqltest_helpers import table

from sluice.sql import CompiledQuery, compile_realtime_sql

TEMPLATES = Path("/work/shared/reference/bklog-templates")
SQL_LINE = re.compile(r'^\s*"sql"\s*:\s*(".*")\s*,?\s*$', re.MULTILINE)

FIELDS = "`log`, `ip`, `serverIp`"
WHERE = "where `log` is not null and length(`log`) > 1 and ( `log` LIKE '%error%' )"
NOT_WHERE = "where NOT ( `log` is not null and length(`log`) > 1 and ( `log` LIKE '%error%' ) )"
DISTS = "dist_01, dist_03, dist_05, dist_07, dist_09"

SOURCE = [("log", "string"), ("ip", "string"), ("serverIp", "string"), ("path", "string")]
MODEL_OUT = [("log", "string"), ("ip", "string"), ("serverIp", "string"),
             ("log_signature", "text"), ("event_time", "long")]  # fmt: skip
SUCCESSOR_OUT = [("log", "string"), ("log_signature", "text"), ("pattern", "text"),
                 ("is_new", "int"), ("event_time", "long")]  # fmt: skip

RENDER: dict[str, dict[str, Any]] = {
    "pre_treat": {
        "stream_source": {"result_table_id": "2_bklog_demo"},
        "sample_set": {"fields": FIELDS, "filter_rule": WHERE},
        "not_clustering": {"fields": FIELDS, "filter_rule": NOT_WHERE},
    },
    "after_treat": {
        "model": {"result_table_id": "2_model_out"},
        "change_field": {"fields": f"{FIELDS}, {DISTS}"},
        "merge_table": {"result_table_id": "2_merge"},
        "change_clustering_field": {
            "fields": FIELDS + ", " + ", ".join(f"{d} AS __{d}" for d in DISTS.split(", "))
        },
        "format_signature": {"result_table_id": "2_format_signature"},
        "group_by": {"result_table_id": "2_group_by"},
        "join_signature": {"result_table_id": "2_join_signature"},
        "join_signature_tmp": {"result_table_id": "2_join_signature_tmp"},
        "judge_new_class": {"filter_rule": 'AND event_time > 1000 AND sensitivity = \\"dist_05\\"'},
    },
    "modify_flow": {
        "group_by_node": {"result_table_id": "2_group_by"},
        "redis_node": {"result_table_id": "2_join_signature_tmp"},
    },
    "predict": {
        "result_table_id": "2_bklog_demo",
        "clustering_stream_source": {
            "fields": "`log`, `ip`",
            "filter_rule": "where `log` is not null and length(`log`) > 1 and ( "
            "JSON_VALUE(`log`, '$.level') IS NULL OR JSON_VALUE(`log`, '$.level') <> 'debug' )",
        },
        "clustering_predict": {"result_table_id": "2_clustering_output"},
        "format_signature": {"fields": "`log`, event_time"},
    },
    "log_count_aggregation": {
        "result_table_id": "2_clustering_output",
        "agg": {"filter_rule": "where is_new = 1", "groups": ""},
        "signature": {"result_table_id": "2_signature"},
    },
}


def template_sqls(name: str) -> list[str]:
    """The rendered SQL strings of one template, in file order."""
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    env = SandboxedEnvironment()
    out = []
    for literal in SQL_LINE.findall(source):
        rendered = env.from_string(literal).render(**RENDER)
        out.append(json.loads(rendered))
    return out


def compile_(sql: str, inputs: dict[str, list[tuple[str, str]]]) -> CompiledQuery:
    return compile_realtime_sql(sql, inputs)


def test_pre_treat_sample_set_and_not_clustering() -> None:
    sample, not_clustering = template_sqls("pre_treat_flow.json")
    assert sample == f"select {FIELDS} from 2_bklog_demo {WHERE}"
    rows = [
        {"log": "an error here", "ip": "1", "serverIp": "s", "path": "/a"},
        {"log": "fine", "ip": "2", "serverIp": "s", "path": "/b"},
        {"log": None, "ip": "3", "serverIp": "s", "path": "/c"},
        {"log": "e", "ip": "4", "serverIp": "s", "path": "/d"},
    ]
    inputs = {"2_bklog_demo": SOURCE}
    q1 = compile_(sample, inputs)
    q2 = compile_(not_clustering, inputs)
    assert q2.output_schema == [("log", "string"), ("ip", "string"), ("serverIp", "string"),
                                *[(d, "string") for d in DISTS.split(", ")]]  # fmt: skip
    batch = {"2_bklog_demo": table(SOURCE, rows)}
    assert q1.run(batch).select(["ip"]).to_pylist() == [{"ip": "1"}]
    # The guard "`log` is not null" makes the condition FALSE (not NULL) for a null log, so
    # the negated branch takes exactly the rows the sample set does not.
    out = q2.run(batch)
    assert out.select(["ip", "dist_05"]).to_pylist() == [
        {"ip": "2", "dist_05": ""},
        {"ip": "3", "dist_05": ""},
        {"ip": "4", "dist_05": ""},
    ]


@pytest.mark.parametrize("name", ["after_treat_flow.json", "after_treat_flow_bkdata.json"])
def test_after_treat_chain(name: str) -> None:
    sqls = template_sqls(name)
    schemas: dict[str, list[tuple[str, str]]] = {"2_model_out": MODEL_OUT}
    assert len(sqls) == (7 if "bkdata" in name else 6)

    change = next(s for s in sqls if "udf_signature_format" in s)
    q = compile_(change, schemas)
    assert [n for n, _ in q.output_schema] == ["log", "ip", "serverIp", *DISTS.split(", ")]
    schemas["2_merge"] = q.output_schema
    if "bkdata" in name:
        clustering = next(s for s in sqls if "__dist_01" in s)
        q = compile_(clustering, schemas)
        assert [n for n, _ in q.output_schema][-1] == "__dist_09"

    fmt = next(s for s in sqls if "udf_deal_model_json" in s)
    schemas["2_format_signature"] = compile_(fmt, schemas).output_schema
    group = next(s for s in sqls if "GROUP BY" in s)
    grouped = compile_(group, schemas)
    assert grouped.aggregate is not None
    schemas["2_group_by"] = grouped.output_schema
    join = next(s for s in sqls if "a.event_time as history_time" in s)
    schemas["2_join_signature"] = compile_(join, schemas).output_schema
    tmp_sql = next(s for s in sqls if s.endswith("from 2_join_signature"))
    schemas["2_join_signature_tmp"] = compile_(tmp_sql, schemas).output_schema
    judge = next(s for s in sqls if "86400000" in s)
    judged = compile_(judge, schemas)
    assert judged.output_schema == [("event_time", "long"), ("signature", "string"),
                                    ("history_time", "long"), ("sensitivity", "string")]  # fmt: skip

    rows = [
        {"event_time": 90_000_000, "signature": "a", "history_time": 90_000_000,
         "sensitivity": "dist_05"},
        {"event_time": 90_000_000, "signature": "b", "history_time": 1_000,
         "sensitivity": "dist_05"},
        {"event_time": 90_000_000, "signature": "c", "history_time": 80_000_000,
         "sensitivity": "dist_05"},
        {"event_time": 90_000_000, "signature": "d", "history_time": 90_000_000,
         "sensitivity": "dist_01"},
        {"event_time": 500, "signature": "e", "history_time": 500, "sensitivity": "dist_05"},
    ]  # fmt: skip
    out = judged.run({"2_join_signature_tmp": table(schemas["2_join_signature_tmp"], rows)})
    assert out.column("signature").to_pylist() == ["a", "b"]


def test_modify_flow_left_join_with_if() -> None:
    (sql,) = template_sqls("modify_flow.json")
    schema = [("event_time", "long"), ("sensitivity", "string"), ("signature", "string")]
    kv = [("event_time", "long"), ("signature", "string"), ("history_time", "long"),
          ("sensitivity", "string")]  # fmt: skip
    q = compile_(sql, {"2_group_by": schema, "2_join_signature_tmp": kv})
    assert q.output_schema == [("event_time", "long"), ("history_time", "long"),
                               ("signature", "string"), ("sensitivity", "string")]  # fmt: skip
    out = q.run({
        "2_group_by": table(schema, [
            {"event_time": 50, "sensitivity": "dist_05", "signature": "seen"},
            {"event_time": 60, "sensitivity": "dist_05", "signature": "new"},
        ]),
        "2_join_signature_tmp": table(kv, [
            {"event_time": 7, "signature": "seen", "history_time": 7, "sensitivity": "dist_05"},
            {"event_time": 8, "signature": "new", "history_time": 8, "sensitivity": "dist_01"},
        ]),
    })  # fmt: skip
    rows = sorted(out.select(["signature", "event_time", "history_time"]).to_pylist(),
                  key=lambda r: r["signature"])  # fmt: skip
    assert rows == [
        {"signature": "new", "event_time": 60, "history_time": 60},
        {"signature": "seen", "event_time": 50, "history_time": 7},
    ]


def test_predict_flow() -> None:
    filter_sql, format_sql = template_sqls("bk-monitor/predict_flow.json")
    q = compile_(filter_sql, {"2_bklog_demo": SOURCE})
    out = q.run({"2_bklog_demo": table(SOURCE, [
        {"log": '{"level": "debug", "m": 1}', "ip": "1"},
        {"log": '{"level": "info"}', "ip": "2"},
        {"log": "plain text", "ip": "3"},
        {"log": "x", "ip": "4"},
    ])})  # fmt: skip
    assert out.column("ip").to_pylist() == ["2", "3"]
    q = compile_(format_sql, {"2_clustering_output": SUCCESSOR_OUT})
    assert q.output_schema == [("log", "string"), ("event_time", "long"), ("__dist_05", "string")]
    out = q.run({"2_clustering_output": table(SUCCESSOR_OUT, [
        {"log": "l1", "event_time": 1, "log_signature": '{"05": "sig5"}'},
    ])})  # fmt: skip
    assert out.select(["log", "__dist_05"]).to_pylist() == [{"log": "l1", "__dist_05": "sig5"}]


def test_log_count_aggregation_flow() -> None:
    count_sql, signature_sql, pattern_sql = template_sqls(
        "bk-monitor/log_count_aggregation_flow.json"
    )
    rows = [
        {"log": "l1", "log_signature": '{"05": "s1"}', "pattern": "p-old", "is_new": 1},
        {"log": "l2", "log_signature": '{"05": "s1"}', "pattern": "p-new", "is_new": 0},
        {"log": "l3", "log_signature": '{"05": "s2"}', "pattern": "q", "is_new": 1},
    ]
    counts = compile_(count_sql, {"2_clustering_output": SUCCESSOR_OUT})
    assert counts.aggregate is not None
    pre = counts.pre_aggregate({"2_clustering_output": table(SUCCESSOR_OUT, rows)})
    assert counts.finish_aggregate(pre).to_pylist() == [
        {"log_count": 1, "sensitivity": "__dist_05", "signature": "s1"},
        {"log_count": 1, "sensitivity": "__dist_05", "signature": "s2"},
    ]
    signatures = compile_(signature_sql, {"2_clustering_output": SUCCESSOR_OUT})
    assert signatures.output_schema == [("signature", "string"), ("log_pattern", "string"),
                                        ("log", "string")]  # fmt: skip
    sig_rows = signatures.run({"2_clustering_output": table(SUCCESSOR_OUT, rows)})
    patterns = compile_(pattern_sql, {"2_signature": signatures.output_schema})
    pre = patterns.pre_aggregate({"2_signature": sig_rows})
    out = sorted(patterns.finish_aggregate(pre).to_pylist(), key=lambda r: str(r["signature"]))
    assert out == [
        {"signature": "s1", "pattern": "p-new", "log": "l2"},
        {"signature": "s2", "pattern": "q", "log": "l3"},
    ]


def test_log_count_aggregation_with_extra_groups() -> None:
    source = (TEMPLATES / "bk-monitor/log_count_aggregation_flow.json").read_text()
    literal = SQL_LINE.findall(source)[0]
    render = {
        **RENDER,
        "log_count_aggregation": {
            **RENDER["log_count_aggregation"],
            "agg": {"filter_rule": "", "groups": "`log`"},
        },
    }
    sql = json.loads(SandboxedEnvironment().from_string(literal).render(**render))
    assert sql.endswith("GROUP BY signature, `log`")
    plan = compile_(sql, {"2_clustering_output": SUCCESSOR_OUT}).aggregate
    assert plan is not None
    assert len(plan.group_keys) == 2
