"""Helpers for the pipeline tests: run a filter section over events given as dicts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.executor import FilterChain, Kernel, default_kernels
from sluice.pipeline.settings.common import PluginSettings

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the bench runners live at the repository root
    sys.path.insert(0, str(ROOT))

_MUTATE_OPS = (
    "convert", "copy_", "gsub", "join", "lowercase", "uppercase", "capitalize", "merge",
    "coerce", "rename", "replace", "update", "split", "strip",
)  # fmt: skip


def _mutate_common_only(settings: PluginSettings) -> Kernel:
    """Test stand-in for mutate: only the common options (add_tag, add_field, ...), which
    the executor applies. Any real mutate operation fails loudly: that kernel belongs to
    the plugin runtime."""
    for op in _MUTATE_OPS:
        if getattr(settings, op):
            raise AssertionError(f"mutate {op} is not available in the pipeline tests")

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        return table, pa.nulls(table.num_rows, pa.bool_()).fill_null(False)

    return kernel


def clean(value: Any) -> Any:
    """Drop null members recursively: a null cell means an absent field."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def run_filters(config: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Compile ``config``, run its filter section over ``events``, return clean dicts."""
    pipeline = compile_pipeline(config)
    kernels = default_kernels()
    kernels.register("mutate", _mutate_common_only)
    # pa.array over dicts infers the union of all keys (from_pylist uses the first row's).
    table = pa.Table.from_struct_array(pa.array(events)) if events else pa.table({})
    out = FilterChain(pipeline.filters, kernels).run(table)
    return [clean(row) for row in out.to_pylist()]


@pytest.fixture
def filters() -> Any:
    return run_filters
