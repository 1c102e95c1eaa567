"""Mapping the log platform's clustering arguments onto the miner's settings."""

from __future__ import annotations

import base64
import json

import pytest

from sluice.runtime.mining import (
    DEFAULT_DELIMITER,
    DrainConfig,
    Level,
    MaskRule,
    MinerConfigError,
    TemplateMiner,
    config_from_args,
    parse_variables,
    predict_args,
)
from sluice.runtime.mining.config import level_name


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_no_arguments_give_the_log_platform_online_defaults() -> None:
    config = config_from_args({})
    assert config == DrainConfig()
    assert config.levels == (Level(name="05", st=0.875),)
    assert (config.depth, config.max_child, config.max_log_length) == (7, 100, 1000)
    assert config.case_sensitive is False and config.delimiter == DEFAULT_DELIMITER


def test_the_successor_template_arguments() -> None:
    config = config_from_args({
        "st_list": "0.875", "max_dist_list": "0.5", "predefined_variables": "W10=",
        "delimeter": "XHM=", "max_log_length": 1000, "is_case_sensitive": 0, "depth": 7,
        "max_child": 100, "min_members": 1, "use_offline_model": 0,
    })  # fmt: skip
    assert config.variables == () and config.delimiter == r"\s"
    assert config.levels == (Level(name="05", st=0.875),)


def test_five_levels_of_the_offline_scheme() -> None:
    config = config_from_args(
        {"st_list": "0.9,0.8875,0.875,0.8625,0.85", "max_dist_list": "0.1,0.3,0.5,0.7,0.9"}
    )
    assert [lv.name for lv in config.levels] == ["01", "03", "05", "07", "09"]
    assert [lv.st for lv in config.levels] == [0.9, 0.8875, 0.875, 0.8625, 0.85]
    assert level_name(0.5) == "05"


def test_predefined_variables_in_every_accepted_form() -> None:
    items = ["IP:\\d+\\.\\d+\\.\\d+\\.\\d+", "NUMBER:\\d+"]
    want = (MaskRule(name="IP", regex=items[0][3:]), MaskRule(name="NUMBER", regex="\\d+"))
    assert parse_variables(items) == want
    assert parse_variables(json.dumps(items)) == want
    assert parse_variables(b64(json.dumps(items))) == want
    assert config_from_args({"predefined_variables": b64(json.dumps(items))}).variables == want


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"st_list": "0.9,0.8", "max_dist_list": "0.5"}, "st_list has 2 values"),
        ({"st_list": "high"}, "st_list must be comma-separated numbers"),
        ({"st_list": "1.5"}, "bad st_list"),
        ({"predefined_variables": "not base64!"}, "neither JSON nor base64"),
        ({"predefined_variables": '["NUMBER"]'}, "is not 'NAME:regex'"),
        ({"predefined_variables": '["A B:x"]'}, "bad name"),
        ({"predefined_variables": '{"a": 1}'}, "must be a list"),
        ({"depth": 2}, "depth"),
        ({"max_child": "many"}, "max_child"),
    ],
)
def test_bad_arguments_are_refused_with_the_argument_named(
    args: dict[str, object], message: str
) -> None:
    with pytest.raises(MinerConfigError, match=message):
        config_from_args(args)


def test_invalid_regexes_are_refused_when_the_miner_is_built() -> None:
    with pytest.raises(MinerConfigError, match="predefined variable BAD: invalid regex"):
        TemplateMiner(DrainConfig(variables=(MaskRule(name="BAD", regex="(unclosed"),)))
    with pytest.raises(MinerConfigError, match="invalid delimiter regex"):
        TemplateMiner(DrainConfig(delimiter="[oops"))


def test_predict_args_take_the_value_else_the_default() -> None:
    extra = {
        "predict_args": [
            {"field_name": "st_list", "value": "0.8", "default_value": "0.875"},
            {"field_name": "depth", "value": "", "default_value": 5},
            {"field_name": "max_child", "value": None, "default_value": None},
            {"value": 3},
            "junk",
        ]
    }
    assert predict_args(extra) == {"st_list": "0.8", "depth": 5}
    assert predict_args(None) == {} and predict_args({}) == {}
    with pytest.raises(MinerConfigError, match="must be a list"):
        predict_args({"predict_args": "st_list=0.8"})


def test_the_fingerprint_follows_every_setting() -> None:
    assert DrainConfig().fingerprint() == DrainConfig().fingerprint()
    assert DrainConfig().fingerprint() != DrainConfig(depth=5).fingerprint()
