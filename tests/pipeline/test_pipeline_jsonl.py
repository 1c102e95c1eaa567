"""JSON-lines encoding of Arrow tables."""

from __future__ import annotations

import json

import pyarrow as pa
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conftest import clean  # type: ignore[import-not-found]
from sluice.pipeline.jsonl import encode_jsonl, encode_jsonl_buffer
from sluice.plugins.codecs.json_codecs import JsonLinesCodec


def test_round_trips_through_json() -> None:
    t = pa.table(
        {
            "s": ['x"y\\z', None, "ctl\x01\n", "ü"],
            "n": [1, None, -3, 4],
            "f": [1.0, 2.5, None, 1e20],
            "b": [True, False, None, True],
            "l": [["a"], None, [], ["b", "c"]],
            "o": pa.array([{"k": 1}, None, {"k": None}, {"k": 2}]),
            "@metadata": [1, 2, 3, 4],
        }
    )
    lines = encode_jsonl(t).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {k: v for k, v in clean(row).items() if k != "@metadata"} for row in t.to_pylist()
    ]
    assert lines[0].startswith('{"s":"x\\"y\\\\z","n":1,"f":1.0')


def test_first_column_with_nulls_and_empty_table() -> None:
    t = pa.table({"a": [None, "x"], "b": ["1", None]})
    assert encode_jsonl(t) == b'{"b":"1"}\n{"a":"x"}\n'
    assert encode_jsonl(t.slice(0, 0)) == b""
    assert encode_jsonl(pa.table({"a": pa.nulls(2)})) == b"{}\n{}\n"


def test_non_finite_floats_are_null() -> None:
    t = pa.table({"f": [float("nan"), float("inf")]})
    assert encode_jsonl(t) == b'{"f":null}\n{"f":null}\n'


def test_escapes_are_found_in_each_column_and_slice() -> None:
    t = pa.table({
        "quote": ['a"b', "c"], "slash": ["\\", "d"], "ctl": ["\t", "e"], "none": ["ü", None],
        "del": ["\x7f", "f"],
    })  # fmt: skip
    lines = encode_jsonl(t).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {k: v for k, v in row.items() if v is not None} for row in t.to_pylist()
    ]
    assert lines[0] == '{"quote":"a\\"b","slash":"\\\\","ctl":"\\t","none":"ü","del":"\x7f"}'
    # the escaped characters of row 0 lie outside the slice: plain text is passed as it is
    assert encode_jsonl(t.slice(1)) == b'{"quote":"c","slash":"d","ctl":"e","del":"f"}\n'


def test_the_buffer_holds_exactly_the_bytes() -> None:
    table = pa.table({"a": ["x", None, 'q"'], "n": [1, 2, None]})
    assert encode_jsonl_buffer(table).to_pybytes() == encode_jsonl(table)
    assert encode_jsonl_buffer(table.slice(0, 0)).to_pybytes() == b""
    for settings in ({}, {"delimiter": "\r\n"}):
        codec = JsonLinesCodec(settings)
        assert bytes(codec.encode_buffer(table)) == codec.encode(table)


_cells = {
    "s": st.none() | st.text(max_size=5),
    "n": st.none() | st.integers(-(2**63), 2**63 - 1),
    "b": st.none() | st.booleans(),
    "t": st.none() | st.sampled_from(["plain", 'q"', "back\\", "tab\t"]),
}


@hsettings(max_examples=80, deadline=None)
@given(
    st.lists(st.fixed_dictionaries(_cells), min_size=1, max_size=8), st.permutations(sorted(_cells))
)
def test_any_mix_of_null_and_null_free_columns_round_trips(
    rows: list[dict[str, object]], order: list[str]
) -> None:
    types = {"s": pa.string(), "n": pa.int64(), "b": pa.bool_(), "t": pa.string()}
    table = pa.Table.from_pylist(rows, schema=pa.schema([(k, types[k]) for k in order]))
    lines = encode_jsonl(table).decode().split("\n")
    assert lines[-1] == ""
    decoded = [json.loads(line) for line in lines[:-1]]
    assert decoded == [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]
    assert all(list(d) == [k for k in order if k in d] for d in decoded)  # keys in column order
