"""Filtering a batch in slices on several threads gives exactly one chain's result, and
only row-local filter sections are sliced."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.executor import FilterChain
from sluice.pipeline.run import parallel
from sluice.pipeline.run.parallel import MIN_SLICE_ROWS, SlicedChain, row_local
from sluice.plugins.filters import filter_kernels

W2 = """filter {
  grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }
  mutate { convert => { "response" => "integer" "bytes" => "integer" } }
  sql { statement => "SELECT clientip, request, response, bytes * 2 AS b2 FROM events" }
}"""


def _filters(text: str) -> tuple[object, ...]:
    return compile_pipeline(text).filters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (W2, True),
        ('filter { if [a] == 1 { mutate { add_tag => ["x"] } } else { drop { } } }', True),
        ('filter { sql { statement => "upper(message) AS m" } }', True),
        ('filter { sql { statement => "SELECT level, count(*) AS n FROM events GROUP BY level" } }',
         False),
        ('filter { sql { statement => "SELECT * FROM events ORDER BY ts" } }', False),
        ('filter { sql { statement => "SELECT * FROM events LIMIT 5" } }', False),
        ('filter { sql { statement => "SELECT DISTINCT level FROM events" } }', False),
        ('filter { sql { statement => "SELECT a, sum(b) OVER () AS s FROM events" } }', False),
        ('filter { sql { statement => "SELECT a, my_udf(b) AS s FROM events" } }', False),
        ('filter { sql { statement => "SELECT * FROM events WHERE a > (SELECT avg(a) FROM events)" } }',
         False),
        ('filter { sql { statement => "current_timestamp AS seen" } }', False),
        ('filter { sql { statement => "SELECT a, current_date AS d FROM events" } }', False),
        ('filter { sql { statement => "SELECT a, random() AS r FROM events" } }', False),
        ('filter { sql { statement => "SELECT a, uuid() AS u FROM events" } }', False),
        ('filter { drop { percentage => 50 } }', False),
        ('filter { if [a] == 1 { uuid { target => "u" } } }', False),
    ],
)  # fmt: skip
def test_row_local_sections(text: str, expected: bool) -> None:
    assert row_local(_filters(text)) is expected  # type: ignore[arg-type]


def _lines(n: int) -> pa.Table:
    base = '10.0.0.{i} - - [31/Oct/2026:23:59:59 +0000] "GET /x/{i} HTTP/1.1" {s} {b} "-" "ua"'
    msgs = [base.format(i=i % 250, s=200 + i % 3, b=i) for i in range(n)]
    msgs[7] = "not an access log line"
    return pa.table({"message": msgs})


def _sliced(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[SlicedChain, FilterChain]:
    monkeypatch.setattr(parallel, "_workers", lambda: 2)
    nodes = _filters(text)
    registry = filter_kernels()
    sliced = SlicedChain(nodes, FilterChain(nodes, registry), registry)  # type: ignore[arg-type]
    return sliced, FilterChain(nodes, registry)  # type: ignore[arg-type]


def test_sliced_run_equals_one_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    sliced, whole = _sliced(W2, monkeypatch)
    assert sliced.sliced
    table = _lines(2 * MIN_SLICE_ROWS + 5)
    got = sliced.run(table)
    assert len(sliced._chains) == 2  # it was really cut in two
    assert got.equals(whole.run(table))


def test_slices_of_different_schemas_fall_back_to_one_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # only rows of the second half take the branch that adds "late": one chain over the
    # batch has the column (null in the first half), the first slice alone would not
    text = 'filter { if [n] >= 20000 { mutate { add_field => { "late" => "yes" } } } }'
    sliced, whole = _sliced(text, monkeypatch)
    table = pa.table({"n": list(range(2 * MIN_SLICE_ROWS + 5))})
    got = sliced.run(table)
    assert got.equals(whole.run(table))
    assert "late" in got.column_names


def test_short_batches_use_one_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sliced, whole = _sliced(W2, monkeypatch)
    table = _lines(100)
    assert sliced.run(table).equals(whole.run(table))
    assert len(sliced._chains) == 1
