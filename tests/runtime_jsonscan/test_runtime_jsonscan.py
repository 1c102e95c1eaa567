"""The native JSON decoder: every row it is sure of is exactly what Arrow's reader gives.

The property tests generate arbitrary values (valid objects of every JSON kind, objects
written with odd spacing, escapes and duplicate keys, and byte-level mutations of them that
are often invalid JSON) and check, value by value, that a value the native decoder decodes
is read by the general reader (``pyarrow.json`` as the codec calls it) to the same row, bit
for bit, and that the codec's result on a whole batch is the same with and without the
native pass.
"""

from __future__ import annotations

import json
import math
from typing import Any
from unittest.mock import patch

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.runtime import jsonscan, records
from sluice.runtime.records import decode_json_values, record_schema

SCHEMA = [("s", "string"), ("l", "long"), ("i", "int"), ("d", "double"), ("f", "float"),
          ("b", "boolean"), ("t", "text")]  # fmt: skip
ARROW = record_schema(SCHEMA, derived_fields=False)
NOW = 1_700_000_000_000
KEYS = [name for name, _ in SCHEMA] + ["dtEventTimeStamp", "zz", "", "s2", "é"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(-(2**31) - 2, 2**31 + 2)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=12)
    | st.sampled_from(["12", "1.5", "true", "0", "\u2028", "\ud83d\ude00", 'a\\b"c', "\x00\x1f"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def objects(draw: st.DrawFn) -> bytes:
    """A JSON object as text, written in one of several styles, sometimes with a key twice."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), json_values), max_size=8))
    ascii_only = draw(st.booleans())
    space = draw(st.sampled_from(["", " ", "\t", "\n", " \r\n "]))
    escape_keys = draw(st.booleans())
    items = [
        (_escaped(key) if escape_keys else json.dumps(key, ensure_ascii=ascii_only))
        + space
        + ":"
        + space
        + json.dumps(value, ensure_ascii=ascii_only)
        for key, value in pairs
    ]
    text = "{" + space + ("," + space).join(items) + space + "}"
    return text.encode("utf-8", "surrogatepass")


def _escaped(key: str) -> str:
    """``key`` as a JSON string with every character written as a ``\\u`` escape."""
    return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """An object with one byte-level edit: often invalid JSON, sometimes odd valid JSON."""
    value = bytearray(draw(objects()))
    edit = draw(st.sampled_from([b",", b"}", b"{", b'"', b"\\", b"NaN", b"-", b"0", b"e", b"\x01",
                                 b"\\u", b"\\ud800", b"tru", b"]", b" ", b"1e999", b":", b""]))  # fmt: skip
    at = draw(st.integers(0, len(value)))
    cut = draw(st.integers(0, 2))
    value[at : at + cut] = edit
    return bytes(value)


jsonish = st.text(alphabet='{}[]",:0123456789.eE+-truefalsnNI\\ /\t', max_size=40).map(
    lambda body: ("{" + body + "}").encode()
)
"""Short texts of JSON's characters between braces: mostly invalid, sometimes odd valid JSON."""

any_value = objects() | mutated() | jsonish


def _bits(row: dict[str, Any]) -> dict[str, Any]:
    """The row with floats as their exact bits (so -0.0 and 0.0 differ)."""
    return {k: v.hex() if isinstance(v, float) and not math.isnan(v) else v for k, v in row.items()}


def _arrow_read(value: bytes) -> dict[str, Any] | None:
    """The general reader's row for one value, or None when it rejects the value."""
    try:
        table = records._read(pa.array([value], pa.binary()), ARROW)
    except (pa.ArrowInvalid, ValueError):
        return None
    return _bits(table.to_pylist()[0])


@settings(max_examples=600, deadline=None)
@given(st.lists(any_value, min_size=1, max_size=12))
def test_every_sure_row_is_the_general_readers_row(values: list[bytes]) -> None:
    usable = [v for v in values if _utf8(v) and b"\n" not in v and b"\r" not in v]
    if not usable:
        return
    table, unsure = jsonscan.scan(pa.array(usable, pa.binary()), ARROW)
    left = set() if unsure is None else set(unsure.to_pylist())
    sure = [v for i, v in enumerate(usable) if i not in left]
    assert table.num_rows == len(sure)
    for value, row in zip(sure, table.to_pylist(), strict=True):
        assert _bits(row) == _arrow_read(value), value


@settings(max_examples=300, deadline=None)
@given(st.lists(any_value, max_size=24))
def test_the_codec_gives_the_same_result_with_and_without_the_native_pass(
    values: list[bytes],
) -> None:
    with_native = decode_json_values(values, SCHEMA, now_ms=NOW, derived_fields=False)
    with patch.object(records.jsonscan, "supports", return_value=False):
        without = decode_json_values(values, SCHEMA, now_ms=NOW, derived_fields=False)
    assert [_bits(r) for r in with_native[0].to_pylist()] == [
        _bits(r) for r in without[0].to_pylist()
    ]
    assert with_native[1] == without[1]


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_plain_values_are_all_decoded_natively() -> None:
    values = [b'{"s":"a\\u00e9\\ud83d\\ude00\\n","l":-9223372036854775808,"i":2147483647,'
              b'"d":-0.0,"f":1.5,"b":true,"zz":[1,{"x":null}],"t":null}',
              b'{}', b' { "d" : 1e22 , "f" : 3 } ']  # fmt: skip
    table, unsure = jsonscan.scan(pa.array(values, pa.binary()), ARROW)
    assert unsure is None
    rows = table.to_pylist()
    assert rows[0]["s"] == "aé😀\n"
    assert rows[0]["l"] == -(2**63) and rows[0]["i"] == 2**31 - 1
    assert math.copysign(1.0, rows[0]["d"]) == -1.0
    assert rows[1] == dict.fromkeys(ARROW.names)
    assert rows[2]["d"] == 1e22 and rows[2]["f"] == 3.0


@pytest.mark.parametrize(
    "value",
    [b'{"l":"12"}', b'{"l":9223372036854775808}', b'{"i":2147483648}', b'{"l":1.0}',
     b'{"s":5}', b'{"s":{"x":1}}', b'{"b":1}', b'{"d":NaN}', b'{"d":1e999}', b'{"s":"a","s":"b"}',
     b'{"\\u0073":"x"}', b'{"s":"\\ud800"}', b'{"s":"\x01"}', b'{"zz":[1,]}', b'{"a":1}{"a":2}',
     b'{"zz":' + b"[" * 70 + b"]" * 70 + b"}", b'{"l":01}', b'{"d":1e-400}'],
)  # fmt: skip
def test_unusual_values_are_left_to_the_general_readers(value: bytes) -> None:
    table, unsure = jsonscan.scan(pa.array([b"{}", value], pa.binary()), ARROW)
    assert table.num_rows == 1
    assert unsure is not None and unsure.to_pylist() == [1]


def test_large_binary_and_sliced_inputs() -> None:
    values = pa.array([b'{"l":1}', b'{"l":2}', b'{"l":"x"}', b'{"l":4}'], pa.large_binary())
    table, unsure = jsonscan.scan(values.slice(1), ARROW)
    assert table.column("l").to_pylist() == [2, 4]
    assert unsure is not None and unsure.to_pylist() == [1]


def test_unsupported_schema_and_nulls_are_refused() -> None:
    with pytest.raises(ValueError, match="does not support"):
        jsonscan.scan(pa.array([b"{}"], pa.binary()), pa.schema([("x", pa.date32())]))
    with pytest.raises(ValueError, match="without nulls"):
        jsonscan.scan(pa.array([b"{}", None], pa.binary()), ARROW)


def test_values_over_the_size_bound_are_all_left_to_the_general_readers() -> None:
    values = [b'{"l":1}', b'{"l":2}']
    with patch.object(jsonscan, "_MAX_BYTES", 10):
        table, unsure = jsonscan.scan(pa.array(values, pa.binary()), ARROW)
        assert table.num_rows == 0
        assert unsure is not None and unsure.to_pylist() == [0, 1]
        decoded, bad = decode_json_values(values, SCHEMA, now_ms=NOW, derived_fields=False)
    assert bad == [] and decoded.column("l").to_pylist() == [1, 2]
