"""Conformance cases of the filter kernels (tests/pipeline/cases/filters/*.toml), run with
the registry of :mod:`sluice.plugins.filters`. Each case names the documented Logstash
behaviour it checks."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import FilterChain
from sluice.plugins.filters import filter_kernels

CASES_DIR = Path(__file__).resolve().parents[1] / "pipeline" / "cases" / "filters"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        for case in tomllib.loads(path.read_text("utf-8"))["case"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def run(config: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pipeline = compile_pipeline(config)
    chain = FilterChain(pipeline.filters, filter_kernels())
    table = pa.Table.from_struct_array(pa.array(events)) if events else pa.table({})
    return [_clean(row) for row in chain.run(table).to_pylist()]


CASES = _load()


def test_there_are_cases_for_every_kernel() -> None:
    text = "".join(p.read_text("utf-8") for p in CASES_DIR.glob("*.toml"))
    for name in ("json", "mutate", "date", "truncate", "fingerprint", "uuid", "translate", "sql"):
        assert f"{name} {{" in text, name
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_filter_case(case: dict[str, Any]) -> None:
    assert case.get("doc"), "every case says which documented behaviour it checks"
    if "error" in case:
        with pytest.raises(ConfigError) as info:
            run(case["config"], [])
        assert case["error"] in str(info.value)
        return
    assert run(case["config"], case["input"]) == _clean(case["expected"])
