"""Conformance cases (tests/pipeline/cases/*.toml), each written from the behaviour the
Logstash reference documents: a config, input events, and the expected output events or
the expected configuration error."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import run_filters  # type: ignore[import-not-found]
from sluice.pipeline.errors import ConfigError

CASES_DIR = Path(__file__).parent / "cases"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        for case in tomllib.loads(path.read_text("utf-8"))["case"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


CASES = _load()


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    assert case.get("doc"), "every case says which documented behaviour it checks"
    if "error" in case:
        with pytest.raises(ConfigError) as info:
            run_filters(case["config"], [])
        assert case["error"] in str(info.value)
        return
    got = run_filters(case["config"], case["input"])
    assert _normalise(got) == _normalise(case["expected"])
