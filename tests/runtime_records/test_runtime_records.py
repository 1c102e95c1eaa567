"""The JSON <-> Arrow record codec: whole batches, bad records located with reasons."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.runtime.records import decode_json_values, encode_json_rows, record_schema

SCHEMA = [("a", "long"), ("s", "string"), ("f", "double"), ("b", "boolean"), ("i", "int")]
NOW = 1_700_000_000_000


def decode(
    values: Sequence[bytes | None], **kwargs: object
) -> tuple[list[dict[str, object]], list[tuple[int, str]]]:
    table, bad = decode_json_values(values, SCHEMA, now_ms=NOW, **kwargs)  # type: ignore[arg-type]
    return table.select([n for n, _ in SCHEMA]).to_pylist(), bad


def test_good_batch_keeps_order_and_fills_missing_fields() -> None:
    rows, bad = decode([b'{"a": 1, "s": "x", "zz": [1]}', b'{"f": 2, "b": true, "i": 7}'])
    assert bad == []
    assert rows == [
        {"a": 1, "s": "x", "f": None, "b": None, "i": None},
        {"a": None, "s": None, "f": 2.0, "b": True, "i": 7},
    ]


def test_bad_json_is_located_and_good_records_survive() -> None:
    values = [b'{"a": 1}', b"{bad", b'{"a": 2}', None, b"", b"[1, 2]", b'"text"', b'{"a":3}{"a":4}',
              b"\xff\xfe", b'{"a": 5}']  # fmt: skip
    rows, bad = decode(values)
    assert [r["a"] for r in rows] == [1, 2, 5]
    assert [i for i, _ in bad] == [1, 3, 4, 5, 6, 7, 8]
    reasons = dict(bad)
    assert reasons[1].startswith("invalid JSON")
    assert reasons[3] == "empty value"
    assert reasons[5] == "not a JSON object (a JSON list value)"
    assert reasons[6] == "not a JSON object (a JSON str value)"
    assert "unexpected content after document" in reasons[7]
    assert "UTF-8" in reasons[8]


def test_wrong_types_convert_when_lossless_else_bad() -> None:
    values = [b'{"a": "12", "s": 5, "f": "1.5", "b": 1}', b'{"s": {"x": [1]}}', b'{"a": "zz"}',
              b'{"i": 99999999999}', b'{"a": 1.5}', b'{"b": "maybe"}']  # fmt: skip
    rows, bad = decode(values)
    assert rows == [
        {"a": 12, "s": "5", "f": 1.5, "b": True, "i": None},
        {"a": None, "s": '{"x":[1]}', "f": None, "b": None, "i": None},
    ]
    assert [i for i, _ in bad] == [2, 3, 4, 5]
    assert dict(bad)[2] == 'field `a` expects int64, got "zz"'
    assert "does not fit the schema" in dict(bad)[3]


def test_unicode_and_pretty_printed_values() -> None:
    rows, bad = decode(['{"s": "你好, мир 🎉"}'.encode(), b'{\n  "a": 3,\n  "s": "x"\n}',
                        b' {"a": 4} '])  # fmt: skip
    assert bad == []
    assert [(r["a"], r["s"]) for r in rows] == [(None, "你好, мир 🎉"), (3, "x"), (4, None)]


def test_system_fields_from_value_bus_timestamp_or_now() -> None:
    values = [b'{"a": 1, "dtEventTimeStamp": 1600000000000}', b'{"a": 2}', b'{"a": 3}']
    table, bad = decode_json_values(values, SCHEMA, timestamps_ms=[1, 1_650_000_000_000, None],
                                    now_ms=NOW, timezone="Asia/Shanghai")  # fmt: skip
    assert bad == []
    got = table.select(["dtEventTimeStamp", "dtEventTime", "thedate", "localTime"]).to_pylist()
    assert got == [
        {"dtEventTimeStamp": 1_600_000_000_000, "dtEventTime": "2020-09-13 20:26:40",
         "thedate": 20200913, "localTime": "2023-11-15 06:13:20"},
        {"dtEventTimeStamp": 1_650_000_000_000, "dtEventTime": "2022-04-15 13:20:00",
         "thedate": 20220415, "localTime": "2023-11-15 06:13:20"},
        {"dtEventTimeStamp": NOW, "dtEventTime": "2023-11-15 06:13:20",
         "thedate": 20231115, "localTime": "2023-11-15 06:13:20"},
    ]  # fmt: skip
    assert table.schema == record_schema(SCHEMA)


def test_bus_timestamps_follow_their_records_around_bad_ones() -> None:
    table, bad = decode_json_values([b"{x", b'{"a": 1}'], SCHEMA, timestamps_ms=[5, 6], now_ms=NOW)
    assert [i for i, _ in bad] == [0]
    assert table.column("dtEventTimeStamp").to_pylist() == [6]


@pytest.mark.parametrize(
    "values",
    [
        pa.array([b'{"a": 1}', b'{"a": 2}', b'{"a": 3}'], pa.binary()).slice(1),
        pa.array(['{"a": 2}', '{"a": 3}'], pa.string()),
        pa.chunked_array([[b'{"a": 2}'], [b'{"a": 3}']], pa.large_binary()),
    ],
)
def test_arrow_inputs(values: pa.Array) -> None:
    table, bad = decode_json_values(values, SCHEMA, now_ms=NOW)
    assert bad == []
    assert table.column("a").to_pylist() == [2, 3]


def test_empty_batch() -> None:
    table, bad = decode_json_values([], SCHEMA, now_ms=NOW)
    assert (table.num_rows, bad, table.schema) == (0, [], record_schema(SCHEMA))


def test_large_batch_with_scattered_bad_records() -> None:
    values = [orjson.dumps({"a": i, "s": f"v{i}"}) for i in range(5000)]
    for i in (0, 777, 2500, 4999):
        values[i] = b'{"a": oops}'
    table, bad = decode_json_values(values, SCHEMA, now_ms=NOW)
    assert [i for i, _ in bad] == [0, 777, 2500, 4999]
    assert table.num_rows == 4996
    assert table.column("a").to_pylist() == [
        i for i in range(5000) if i not in (0, 777, 2500, 4999)
    ]


def test_encode_rows() -> None:
    table = pa.table({
        "a": pa.array([1, None], pa.int64()),
        "s": ['你好"\n', None],
        "f": pa.array([float("nan"), 0.25]),
        "b": [True, False],
        "odd name": [1, 2],
    })  # fmt: skip
    assert encode_json_rows(table).to_pylist() == [
        '{"a":1,"s":"你好\\"\\n","f":null,"b":true,"odd name":1}'.encode(),
        b'{"a":null,"s":null,"f":0.25,"b":false,"odd name":2}',
    ]
    assert encode_json_rows(table.slice(0, 0)).to_pylist() == []


json_values = st.fixed_dictionaries({
    "a": st.none() | st.integers(-(2**62), 2**62),
    "s": st.none() | st.text(max_size=20),
    "f": st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64),
    "b": st.none() | st.booleans(),
    "i": st.none() | st.integers(-(2**31), 2**31 - 1),
})  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(json_values, max_size=30))
def test_round_trip(records: list[dict[str, object]]) -> None:
    values = [orjson.dumps(r) for r in records]
    table, bad = decode_json_values(values, SCHEMA, now_ms=NOW)
    assert bad == []
    decoded = table.select([n for n, _ in SCHEMA])
    assert decoded.to_pylist() == records
    again, bad = decode_json_values(encode_json_rows(decoded), SCHEMA, now_ms=NOW)
    assert bad == []
    assert again.select([n for n, _ in SCHEMA]).to_pylist() == records


def test_invalid_utf8_inside_a_string_is_a_bad_record() -> None:
    # Arrow's JSON reader copies string bytes without checking UTF-8: checked beforehand.
    values: list[bytes | None] = [b'{"a": 1}', b'{"s": "\xff"}', b'{"a": 3, "s": "ok"}'] * 7
    rows, bad = decode(values)
    assert [i for i, _ in bad] == [1, 4, 7, 10, 13, 16, 19]
    assert all("UTF-8" in reason for _, reason in bad)
    assert [(r["a"], r["s"]) for r in rows] == [(1, None), (3, "ok")] * 7


@pytest.mark.parametrize("newline_delimited", [True, False])
def test_multi_line_values_beside_bad_ones(newline_delimited: bool) -> None:
    values = [b'{\n "a": 1\n}', b'{"a": 2}', b'{"a": oops}', b'{"a":\r\n4}'] * 10
    table, bad = decode_json_values(values, SCHEMA, now_ms=NOW, newline_delimited=newline_delimited)
    assert [i for i, _ in bad] == list(range(2, 40, 4))
    assert table.column("a").to_pylist() == [1, 2, 4] * 10


def test_newline_delimited_read_never_merges_invalid_neighbours() -> None:
    # Read as concatenated objects, {"s":1}{"t":"} + {"} would parse as two records.
    schema = [("s", "long"), ("t", "string")]
    table, bad = decode_json_values([b'{"s":1}{"t":"}', b'{"}'], schema, now_ms=NOW)
    assert table.num_rows == 0
    assert [i for i, _ in bad] == [0, 1]


def test_without_derived_fields_only_event_time_is_added() -> None:
    values = [b'{"a": 1, "dtEventTimeStamp": 1600000000000}', b'{"a": 2, "thedate": 20200101}']
    table, bad = decode_json_values(values, SCHEMA, timestamps_ms=[1, 2], now_ms=NOW,
                                    derived_fields=False)  # fmt: skip
    assert bad == []
    assert table.schema == record_schema(SCHEMA, derived_fields=False)
    assert table.column_names == [*(n for n, _ in SCHEMA), "dtEventTimeStamp"]
    assert table.column("dtEventTimeStamp").to_pylist() == [1_600_000_000_000, 2]
    declared = [*SCHEMA, ("thedate", "int")]
    table, _ = decode_json_values(values, declared, now_ms=NOW, derived_fields=False)
    assert table.column("thedate").to_pylist() == [20200913, 20200101]
    assert "dtEventTime" not in table.column_names
