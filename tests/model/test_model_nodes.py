"""Node-type configs: cleaning, per-window rules, outputs, registry errors."""

from __future__ import annotations

import pytest

from sluice.model.errors import NodeValidError, ValidError
from sluice.model.nodes import NODE_TYPES
from sluice.model.nodes.realtime import RealtimeConfig

BASE = {
    "name": "n",
    "bk_biz_id": 5,
    "table_name": "out",
    "sql": "select 1",
    "from_result_table_ids": ["5_in"],
}


def test_unknown_keys_are_dropped_and_defaults_filled() -> None:
    node_type = NODE_TYPES.get("realtime")
    config = node_type.clean(
        {**BASE, "id": 9, "node_type": "realtime", "frontend_info": {}, "outputs": []}
    )
    stored = node_type.stored(config)
    assert (
        stored["output_name"] == "n"
        and stored["window_type"] == "none"
        and stored["counter"] is None
    )
    assert set(stored) == set(RealtimeConfig.model_fields)


@pytest.mark.parametrize(
    ("window", "extra", "missing"),
    [
        ("scroll", {"waiting_time": 0}, "统计频率"),
        ("slide", {"count_freq": 30, "waiting_time": 0}, "窗口长度"),
        ("accumulate", {"count_freq": 30, "window_time": 10}, "等待时间"),
        ("session", {"session_gap": 10, "waiting_time": 0}, "过期时间"),
    ],
)
def test_window_required_fields(window: str, extra: dict[str, int], missing: str) -> None:
    with pytest.raises(NodeValidError) as info:
        NODE_TYPES.get("realtime").clean({**BASE, "window_type": window, **extra})
    assert info.value.message() == f"{missing}，该字段是必填项。"


def test_slide_counter_and_unknown_window_type() -> None:
    node_type = NODE_TYPES.get("realtime")
    slide = node_type.clean(
        {**BASE, "window_type": "slide", "count_freq": 30, "waiting_time": 0, "window_time": 10}
    )
    assert isinstance(slide, RealtimeConfig) and slide.counter == 20
    assert (
        node_type.stored(node_type.clean({**BASE, "window_type": "weird"}))["window_type"] == "none"
    )


def test_table_name_rules() -> None:
    node_type = NODE_TYPES.get("realtime")
    for bad in ("9abc", "a__b", "a_", "_a", "a-b"):
        with pytest.raises(NodeValidError):
            node_type.clean({**BASE, "table_name": bad})
    node_type.clean({**BASE, "table_name": "a_b_"}, update=True)  # looser on update, as BKData


def test_split_outputs_and_storage_rules() -> None:
    split = NODE_TYPES.get("split")
    config = split.clean(
        {
            "name": "s",
            "bk_biz_id": 1,
            "table_name": "t",
            "description": "d",
            "from_result_table_ids": ["1_x"],
            "config": [{"bk_biz_id": 2, "logic_exp": "a == 1"}],
        }
    )
    outputs = split.outputs(config)
    assert [(o.result_table_id, o.generate_type) for o in outputs] == [
        ("1_t", "system"),
        ("2_t", "user"),
    ]
    assert split.result_table_ids(config) == ["2_t"]
    redis = NODE_TYPES.get("tredis_storage")
    with pytest.raises(NodeValidError):
        redis.clean(
            {
                "name": "r",
                "bk_biz_id": 1,
                "result_table_id": "1_x",
                "cluster": "c",
                "expires": -1,
                "storage_type": "kv",
            }
        )
    ok = redis.clean(
        {
            "name": "r",
            "bk_biz_id": 1,
            "result_table_id": "1_x",
            "cluster": "c",
            "expires": -1,
            "storage_type": "join",
            "keys": ["a"],
        }
    )
    assert redis.result_table_ids(ok) == ["1_x"] and ok.from_result_table_ids == ["1_x"]
    with pytest.raises(NodeValidError):
        NODE_TYPES.get("hdfs_storage").clean(
            {
                "name": "h",
                "bk_biz_id": 1,
                "result_table_id": "1_x",
                "from_result_table_ids": ["1_y"],
                "cluster": "c",
                "expires": 1,
            }
        )


def test_registry_lists_supported_types() -> None:
    with pytest.raises(ValidError) as info:
        NODE_TYPES.get("batch_source")
    assert info.value.code == "1500004"
    for name in (
        "stream_source",
        "kv_source",
        "unified_kv_source",
        "redis_kv_source",
        "merge",
        "model_ts_custom",
        "pgsql_storage",
        "clickhouse_storage",
        "ignite",
    ):
        assert name in info.value.message("en")
