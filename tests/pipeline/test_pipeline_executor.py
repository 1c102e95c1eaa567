"""Filter chains over batches and output routing."""

from __future__ import annotations

import pyarrow as pa
import pytest

from conftest import clean  # type: ignore[import-not-found]
from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import FilterChain, KernelRegistry, default_kernels, route_outputs


def test_missing_kernel_is_named() -> None:
    p = compile_pipeline('filter {\n  date { match => ["ts", "ISO8601"] }\n}')
    with pytest.raises(ConfigError) as info:
        FilterChain(p.filters)
    assert "filter 'date' has no batch kernel" in str(info.value)
    assert info.value.line == 2


def test_registered_kernel_runs_and_rows_keep_order() -> None:
    def upper_factory(settings: object) -> object:
        def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
            import pyarrow.compute as pc

            i = table.column_names.index("message")
            return table.set_column(i, "message", pc.utf8_upper(table.column("message"))), None

        return kernel

    reg = default_kernels()
    reg.register("mutate", upper_factory)  # type: ignore[arg-type]
    assert "mutate" in reg.names()
    p = compile_pipeline('filter { if [n] > 1 { mutate { } } else { kv { add_tag => ["kv"] } } }')
    t = pa.table({"message": ["a", "b", "c", "d"], "n": [2, 0, 3, 1]})
    out = FilterChain(p.filters, reg).run(t)
    assert out.column("message").to_pylist() == ["A", "b", "C", "d"]
    assert out.column("tags").to_pylist() == [None, ["kv"], None, ["kv"]]


def test_branches_that_change_a_field_type_still_merge() -> None:
    p = compile_pipeline('filter { if [k] { kv { add_field => { "k" => "more" } } } }')
    t = pa.table({"k": ["x", None]})
    out = FilterChain(p.filters).run(t)
    assert out.column("k").to_pylist() == [["x", "more"], None]


def test_drop_percentage_zero_keeps_everything() -> None:
    p = compile_pipeline("filter { drop { percentage => 0 } }")
    assert FilterChain(p.filters).run(pa.table({"a": [1, 2]})).num_rows == 2


def test_route_outputs() -> None:
    p = compile_pipeline(
        'output { if [level] == "error" { file { path => "/tmp/e" } } else if [level] { stdout {} } null {} }'
    )
    t = pa.table({"level": ["error", "info", None]})
    routes = [
        (node.name, [clean(r) for r in rows.to_pylist()])
        for node, rows in route_outputs(p.outputs, t)
    ]
    assert routes == [
        ("file", [{"level": "error"}]),
        ("stdout", [{"level": "info"}]),
        ("null", [{"level": "error"}, {"level": "info"}, {}]),
    ]


def test_empty_registry() -> None:
    assert KernelRegistry().names() == []
