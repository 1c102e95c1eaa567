"""The input projection: which fields a pipeline can read, and the bulk path parsing only
those once their types are known (with the whole-chunk parse when a chunk does not fit)."""

from __future__ import annotations

import pytest

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.run.chunks import ChunkDecoder, decode_chunk
from sluice.pipeline.run.live import live_fields

W1 = """filter {
  if [level] in ["WARN", "ERROR"] or [status] >= 500 {
    sql { statement => "SELECT ts, host, latency_ms * 1000 AS latency_us FROM events" }
  } else { drop { } }
}"""


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (W1, {"level", "status", "ts", "host", "latency_ms"}),
        ('filter { if [a][b] == 1 { drop {} } sql { statement => "SELECT x FROM events" } }',
         {"a", "x"}),
        ("filter { }", None),
        ('filter { mutate { add_field => { "x" => "1" } } }', None),
        ('filter { sql { statement => "SELECT * FROM events" } }', None),
        ('filter { sql { statement => "upper(m) AS u" } }', None),
        ('filter { sql { statement => "SELECT s.a FROM events" } }', None),
        ('filter { drop { percentage => 50 } }', None),
        ('filter { window { size => 60 timestamp => "t" group_by => "k" aggregates => '
         '{ "c" => "count(*)" "m" => "max(v)" } } sql { statement => "SELECT c FROM events" } }',
         {"t", "k", "v"}),
        ('filter { if "%{x}" == "1" { drop {} } sql { statement => "SELECT y FROM events" } }',
         None),
        # a file output with a line/plain codec reads only what its format and path name
        ('output { file { path => "/o/%{host}.log" codec => line { format => "%{m} %{+yyyy}" } } }',
         {"host", "m", "@timestamp"}),
        ('output { file { path => "/o" codec => line } }', {"@timestamp", "host", "message"}),
        ('output { file { path => "/o" } }', None),  # json_lines: every field
        ('output { stdout { codec => line } }', None),
        ('output { if [level] == "x" { file { path => "/a" codec => line { format => "%{m}" } } }'
         ' else { file { path => "/b" codec => plain { format => "%{[n][k]}" } } } }',
         {"level", "m", "n"}),
        ('output { file { path => "/a" codec => line { format => "%{m}" } } stdout { } }', None),
        ('filter { sql { statement => "SELECT a FROM events" } }'
         ' output { file { path => "/a" codec => line { format => "%{m}" } } }', {"a"}),
        ('filter { mutate { add_field => { "x" => "1" } } }'
         ' output { file { path => "/a" codec => line { format => "%{m}" } } }', None),
    ],
)  # fmt: skip
def test_live_fields(config: str, expected: set[str] | None) -> None:
    got = live_fields(compile_pipeline(config))
    assert (None if got is None else set(got)) == expected


def test_projection_after_types_are_known() -> None:
    decoder = ChunkDecoder(frozenset({"a", "B"}))
    first = decode_chunk(decoder, b'{"a": 1, "z": "x"}\n', {})
    assert first is not None and first.column_names == ["a", "z"]
    assert decoder.projection is None  # "b" not seen yet: every field is parsed
    decode_chunk(decoder, b'{"b": "t", "z": 1}\n', {})
    assert decoder.projection is not None
    # "h" of the stamp is not live: not stored; "b" fills only the rows that lack it
    later = decode_chunk(decoder, b'{"a": 2, "b": "u", "z": [1]}\n{"a": 3}\n', {"h": "s", "b": "v"})
    assert later is not None and later.to_pylist() == [{"a": 2, "b": "u"}, {"a": 3, "b": "v"}]
    # a chunk that does not fit the declared types is parsed whole
    odd = decode_chunk(decoder, b'{"a": "text", "q": 1}\n', {})
    assert odd is not None and odd.to_pylist() == [{"a": "text", "q": 1}]
