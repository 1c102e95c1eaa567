"""Realistic render parameters for the log platform's flow templates (bk-log / bk-monitor).

Values follow the data classes in ``bklog-dataflow-client.md`` section 2.2: table names carry
the ``YYYYMMDDHHmmssSSS`` suffix, result-table ids are ``{bk_biz_id}_{table_name}``, field
lists are back-quoted and comma-joined, model field lists are pre-serialised JSON strings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "BIZ",
    "TARGET_BIZ",
    "TEMPLATES",
    "TS",
    "after_treat",
    "log_count_aggregation",
    "modify_flow",
    "pre_treat",
    "predict",
    "source_fields",
]

TEMPLATES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "bklog-templates"
BIZ = 2
TARGET_BIZ = 3
TS = "20261121093015123"

source_fields = [
    ("log", "string"),
    ("ip", "string"),
    ("serverIp", "string"),
    ("path", "string"),
    ("gseIndex", "long"),
    ("iterationIndex", "int"),
]
_FIELDS = "`log`, `ip`, `serverIp`, `path`, `gseIndex`, `iterationIndex`"
_FILTER = "where `log` is not null and length(`log`) > 1 and ( `log` LIKE '%error%' )"
_NOT_FILTER = "where NOT ( `log` is not null and length(`log`) > 1 and ( `log` LIKE '%error%' ) )"


def _rt(name: str, biz: int = BIZ) -> dict[str, str]:
    return {"table_name": name, "result_table_id": f"{biz}_{name}"}


def pre_treat(source_rt: str) -> dict[str, Any]:
    """``{"pre_treat": PreTreatDataFlowCls}``."""
    return {
        "pre_treat": {
            "stream_source": {"result_table_id": source_rt},
            "sample_set": {
                "fields": _FIELDS,
                "filter_rule": _FILTER,
                **_rt(f"pre_treat_sample_set_{TS}"),
            },
            "sample_set_hdfs": {"table_name": f"pre_treat_sample_set_{TS}", "expires": 7},
            "not_clustering": {
                "fields": _FIELDS,
                "filter_rule": _NOT_FILTER,
                **_rt(f"pre_treat_not_clustering_{TS}"),
            },
            "not_clustering_hdfs": {"table_name": f"pre_treat_not_clustering_{TS}", "expires": 7},
            "bk_biz_id": BIZ,
            "cluster": "hdfs-default",
        }
    }


_MODEL_INPUT = json.dumps(
    [
        {"field_name": "__index__", "field_type": "int", "roles": {"index": True}},
        {"field_name": "log", "field_type": "text", "roles": {"feature": True}},
        {"field_name": "timestamp", "field_type": "timestamp", "roles": {"timestamp": True}},
    ]
)
_MODEL_OUTPUT = json.dumps(
    [
        {"field_name": name, "field_type": kind, "roles": {"passthrough": True}}
        for name, kind in source_fields
    ]
    + [
        {"field_name": "log_signature", "field_type": "text", "roles": {"predict_result": True}},
        {"field_name": "pattern", "field_type": "text", "roles": {"predict_result": True}},
        {"field_name": "is_new", "field_type": "int", "roles": {"predict_result": True}},
        {"field_name": "event_time", "field_type": "long", "roles": {"timestamp": True}},
    ]
)
_DIST = "dist_01, dist_03, dist_05, dist_07, dist_09"


def after_treat(sample_rt: str, not_clustering_rt: str, *, bkdata: bool) -> dict[str, Any]:
    """``{"after_treat": AfterTreatDataFlowCls}`` for the collector or BKBase template."""
    realtime = {"fields": f"{_FIELDS}, {_DIST}", "filter_rule": ""}
    params: dict[str, Any] = {
        "sample_set_stream_source": {"result_table_id": sample_rt},
        "non_clustering_stream_source": {"result_table_id": not_clustering_rt},
        "model": {
            "model_release_id": 41,
            "model_id": "bklog_model_2",
            "input_fields": _MODEL_INPUT,
            "output_fields": _MODEL_OUTPUT,
            **_rt(f"after_treat_model_{TS}"),
        },
        "change_field": {**realtime, **_rt(f"after_treat_change_field_{TS}")},
        "merge_table": _rt(f"merge_table_{TS}"),
        "format_signature": {**realtime, **_rt(f"after_treat_format_signature_{TS}")},
        "group_by": {**realtime, **_rt(f"after_treat_group_by_{TS}")},
        "join_signature": {**realtime, **_rt(f"after_treat_join_signature_{TS}")},
        "join_signature_tmp": {**realtime, **_rt(f"after_treat_join_signature_tmp_{TS}")},
        "judge_new_class": {
            **realtime,
            "filter_rule": "AND event_time > 1795000000000",
            **_rt(f"after_treat_judge_new_class_{TS}"),
        },
        "change_clustering_field": {
            "fields": "`log`, dist_01 AS __dist_01, dist_05 AS __dist_05",
            "filter_rule": "",
            **_rt(f"after_treat_change_clustering_field_{TS}"),
        },
        "diversion": _rt(f"after_treat_diversion_{TS}"),
        "diversion_tspider": {"cluster": "tspider-default", "expires": 7},
        "redis": {"cluster": "redis-default"},
        "queue_cluster": "queue-default",
        "bk_biz_id": BIZ,
        "target_bk_biz_id": TARGET_BIZ,
        "es": {
            "analyzed_fields": json.dumps(["log"]),
            "doc_values_fields": json.dumps(["ip", "__dist_05"]),
            "json_fields": json.dumps([]),
            "expires": 7,
            "has_replica": "false",
        },
        "es_cluster": "es-default",
        "is_flink_env": bkdata,
    }
    return {"after_treat": params}


def modify_flow(
    flow_id: int, join_node: dict[str, Any], group_by: dict[str, Any], redis_node: dict[str, Any]
) -> dict[str, Any]:
    """``{"modify_flow": ModifyFlowCls}`` from the graph's node dicts."""
    return {
        "modify_flow": {
            "id": f"ch_{join_node['node_id']}",
            "flow_id": flow_id,
            "node_id": join_node["node_id"],
            "bk_biz_id": BIZ,
            "table_name": join_node["node_config"]["table_name"],
            "group_by_node": {
                "node_id": group_by["node_id"],
                "result_table_id": group_by["result_table_ids"][0],
                "id": f"ch_{group_by['node_id']}",
            },
            "redis_node": {
                "node_id": redis_node["node_id"],
                "result_table_id": redis_node["result_table_ids"][0],
                "id": f"ch_{redis_node['node_id']}",
            },
        }
    }


def predict(source_rt: str) -> dict[str, Any]:
    """``{"predict": PredictDataFlowCls}`` (bk-monitor successor, Elasticsearch sink)."""
    return {
        "predict": {
            "table_name_no_id": "bklog_7",
            "result_table_id": source_rt,
            "bk_biz_id": BIZ,
            "clustering_stream_source": {
                "fields": _FIELDS,
                "filter_rule": _FILTER,
                **_rt("bklog_7_clustering"),
            },
            "clustering_predict": {
                "model_release_id": 12,
                "model_id": "bklog_online_7",
                "input_fields": _MODEL_INPUT,
                "output_fields": _MODEL_OUTPUT,
                "clustering_training_params": {
                    "min_members": 1,
                    "st_list": "0.875",
                    "predefined_variables": "W10=",
                    "delimeter": "XHM=",
                    "max_log_length": 1000,
                    "is_case_sensitive": 0,
                    "depth": 7,
                    "max_child": 100,
                    "use_offline_model": 0,
                    "max_dist_list": "0.5",
                },
                **_rt("bklog_7_clustering_output"),
            },
            "format_signature": {
                "fields": "`log`, `ip`",
                "filter_rule": "",
                **_rt("bklog_7_clustered"),
            },
            "is_flink_env": True,
            "storage_type": "elasticsearch",
            "es": {
                "analyzed_fields": json.dumps(["log"]),
                "doc_values_fields": json.dumps(["__dist_05"]),
                "json_fields": "[]",
                "expires": 7,
                "has_replica": "false",
            },
            "es_cluster": "es-default",
            "doris": {
                "expires_dup": "7d",
                "expires_uniq": "-1",
                "data_model": "duplicate",
                "fields": "[]",
            },
            "doris_storage": "",
        }
    }


def log_count_aggregation(source_rt: str) -> dict[str, Any]:
    """``{"log_count_aggregation": LogCountAggregationFlowCls}`` (MySQL sinks)."""
    return {
        "log_count_aggregation": {
            "table_name_no_id": "bklog_7",
            "result_table_id": source_rt,
            "bk_biz_id": BIZ,
            "include_agg": True,
            "agg": {"filter_rule": "", "groups": "", **_rt("bklog_7_agg")},
            "storage_type": "mysql_storage",
            "tspider_storage": {"cluster": "mysql-default", "expires": 3},
            "signature": _rt("bklog_7_signature"),
            "pattern": {"storage": "mysql-default", "expires": 30, **_rt("bklog_7_pattern")},
        }
    }
