"""Parallel, newline-delimited decoding agrees with the reference codec on any batch."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.bus import Records
from sluice.bus.memory import MemoryBus
from sluice.runtime.records import DERIVED_FIELDS, decode_json_values, record_schema
from sluice.runtime.tasks.batch import InputBatch
from sluice.runtime.tasks.codec import decode_input
from sluice.runtime.tasks.fastjson import decode_values

SCHEMA = [("a", "long"), ("s", "string"), ("f", "double"), ("b", "boolean"), ("i", "int")]
NOW = 1_700_000_000_000
Decoded = tuple[list[dict[str, Any]], list[tuple[int, str]]]


def rows(result: tuple[pa.Table, list[tuple[int, str]]]) -> Decoded:
    table, bad = result
    assert table.schema == record_schema(SCHEMA)
    return table.to_pylist(), bad


def reference(values: list[bytes | None], stamps: list[int] | None = None) -> Decoded:
    """The original reader: the values' buffer read as concatenated objects."""
    return rows(
        decode_json_values(
            values, SCHEMA, timestamps_ms=stamps, now_ms=NOW, newline_delimited=False
        )
    )


def fast(values: list[bytes | None], stamps: list[int] | None = None, **kw: Any) -> Decoded:
    return rows(decode_values(values, SCHEMA, timestamps_ms=stamps, now_ms=NOW, **kw))


good_records = st.fixed_dictionaries(
    {},
    optional={
        "a": st.none() | st.integers(-(2**63), 2**63 - 1),
        "s": st.none() | st.text(max_size=12),
        "f": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "b": st.none() | st.booleans(),
        "i": st.none() | st.integers(-(2**31), 2**31 - 1),
        "extra": st.lists(st.integers(-(2**63), 2**64 - 1) | st.text(max_size=4), max_size=3),
        "dtEventTimeStamp": st.integers(0, 4_000_000_000_000),
    },
)
# Values of the wrong type that convert losslessly (kept) or do not (bad), malformed JSON,
# non-objects, out-of-range numbers, bad UTF-8, empty and null values.
odd_values = st.sampled_from([
    b'{"a": "12", "s": 5, "f": "1.5", "b": 1}', b'{"s": {"x": [1]}}', b'{"a": 2.0}',
    b'{"a": 1e2}', b'{"b": "true"}', b'{"a": "zz"}', b'{"a": 1.5}', b'{"b": "maybe"}',
    b'{"i": 99999999999}', b'{"a": 9223372036854775808}', b'{"f": 1e400}', b'{bad',
    b'{"a": oops}', b'{"a":1,}', b"[1, 2]", b'"text"', b"42", b'{"a":3}{"a":4}', b"\xff\xfe",
    b'{"s": "\xff"}', b"", None, b' {"a": 4} ', b'{\n  "a": 5,\n  "s": "multi"\n}',
    b'{"a":\r6}', b'{"a": 7, "a": 8}', b'{"s": "\\u00e9\\ud83c\\udf89"}', b'{"s": "\\ud800"}',
    b'{"\\u0061": 9}', b"{}", b'{"a": null, "s": null}', b'{"f": -0.0, "a": -0}',
])  # fmt: skip
values_strategy = st.lists(st.one_of(good_records.map(orjson.dumps), odd_values), max_size=60)


@settings(max_examples=150, deadline=None)
@given(values_strategy, st.integers(1, 5), st.integers(1, 7), st.booleans())
def test_fast_paths_agree_with_the_reference(
    values: list[bytes | None], workers: int, min_piece: int, stamped: bool
) -> None:
    stamps = [1_600_000_000_000 + i for i in range(len(values))] if stamped else None
    expected = reference(values, stamps)
    lines = rows(decode_json_values(values, SCHEMA, timestamps_ms=stamps, now_ms=NOW))
    assert lines == expected
    assert fast(values, stamps, workers=workers, min_piece=min_piece) == expected


def test_big_batch_in_pieces_with_scattered_bad_records() -> None:
    values: list[bytes | None] = [orjson.dumps({"a": i, "s": f"v{i}"}) for i in range(20_000)]
    broken = [0, 4_999, 5_000, 12_345, 19_999]
    for i in broken:
        values[i] = b'{"a": oops}'
    values[777] = b'{\n "a": 777\n}'
    got_rows, bad = fast(values, workers=4, min_piece=1000)
    assert [i for i, _ in bad] == broken
    assert all(reason.startswith("invalid JSON") for _, reason in bad)
    assert [r["a"] for r in got_rows] == [i for i in range(20_000) if i not in broken]
    assert (got_rows, bad) == reference(values)


def test_invalid_values_never_merge_across_their_boundary() -> None:
    # Concatenated, these two invalid values read as two objects: {"s":1}{"t":"}{"}.
    values: list[bytes | None] = [b'{"s":1}{"t":"}', b'{"}', b'{"a": 1}']
    got_rows, bad = fast(values)
    assert [r["a"] for r in got_rows] == [1]
    assert [i for i, _ in bad] == [0, 1]
    assert "unexpected content after document" in dict(bad)[0]


def test_system_fields_share_one_processing_time_across_pieces() -> None:
    values: list[bytes | None] = [b'{"a": 1}'] * 10
    table, bad = decode_values(values, SCHEMA, workers=5, min_piece=2)
    assert bad == []
    assert table.num_rows == 10
    assert len(set(table.column("localTime").to_pylist())) == 1
    assert len(set(table.column("dtEventTimeStamp").to_pylist())) == 1


def test_arrow_inputs_and_timestamps() -> None:
    values = pa.chunked_array([[b'{"a": 2}'] * 3, [b'{"a": 3}'] * 3], pa.large_binary())
    stamps = pa.array(range(6), pa.int32())
    table, bad = decode_values(values, SCHEMA, timestamps_ms=stamps, workers=3, min_piece=1)
    assert bad == []
    assert table.column("a").to_pylist() == [2, 2, 2, 3, 3, 3]
    assert table.column("dtEventTimeStamp").to_pylist() == list(range(6))


def test_empty_batch() -> None:
    table, bad = decode_values([], SCHEMA, now_ms=NOW)
    assert (table.num_rows, bad, table.schema) == (0, [], record_schema(SCHEMA))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_piece": 0}, "min_piece >= 1"),
        ({"workers": 0}, "workers >= 1"),
        ({"timestamps_ms": [1]}, "1 timestamps were given for 2 values"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_values([b"{}", b"{}"], SCHEMA, **kwargs)


def test_decode_input_reports_dead_letters_and_kept_indices() -> None:
    bus = MemoryBus()
    bus.create_topic("t", 1)
    values = [b'{"a": 1}', b"{bad", b'{"a": 3}', b'{"a": 1.5}', b'{"a": 5}']
    bus.produce("t", 0, Records(values=values, timestamps=[10, 11, 12, 13, 14]))
    fetched = bus.fetch("t", 0, 0)
    batch = InputBatch("1_rt", [(0, b) for b in fetched.batches])
    table, dead, kept = decode_input(batch, SCHEMA, "UTC")
    assert table.column("a").to_pylist() == [1, 3, 5]
    assert table.column("dtEventTimeStamp").to_pylist() == [10, 12, 14]
    assert [(d.rt, d.index) for d in dead] == [("1_rt", 1), ("1_rt", 3)]
    assert dead[0].reason.startswith("bad record: invalid JSON")
    assert dead[1].reason == "bad record: field `a` expects int64, got 1.5"
    assert kept is not None and kept.to_pylist() == [0, 2, 4]
    clean = InputBatch("1_rt", [(0, bus.fetch("t", 0, 4).batches[0])])
    table, dead, kept = decode_input(clean, SCHEMA, "UTC")
    assert (table.column("a").to_pylist(), dead, kept) == ([5], [], None)


@settings(max_examples=120, deadline=None)
@given(values_strategy, st.lists(st.integers(0, 60), max_size=6), st.integers(1, 4),
       st.integers(1, 7))  # fmt: skip
def test_chunked_inputs_are_cut_at_chunk_bounds_and_agree_with_the_reference(
    values: list[bytes | None], cuts: list[int], workers: int, min_piece: int
) -> None:
    bounds = sorted({0, len(values), *(c for c in cuts if c <= len(values))})
    chunks = [values[a:b] for a, b in itertools.pairwise(bounds)] or [[]]
    column = pa.chunked_array(chunks, pa.binary())
    stamps = [1_600_000_000_000 + i for i in range(len(values))]
    got = decode_values(
        column, SCHEMA, timestamps_ms=stamps, now_ms=NOW, workers=workers, min_piece=min_piece
    )
    assert rows(got) == reference(values, stamps)


@settings(max_examples=80, deadline=None)
@given(values_strategy, st.integers(1, 4), st.integers(1, 7))
def test_without_derived_fields_only_they_are_left_out(
    values: list[bytes | None], workers: int, min_piece: int
) -> None:
    full, bad = decode_values(values, SCHEMA, now_ms=NOW, workers=workers, min_piece=min_piece)
    lean, lean_bad = decode_values(
        values, SCHEMA, now_ms=NOW, workers=workers, min_piece=min_piece, derived_fields=False
    )
    assert lean_bad == bad
    assert lean.schema == record_schema(SCHEMA, derived_fields=False)
    assert lean.column_names == [n for n in full.column_names if n not in DERIVED_FIELDS]
    assert lean.to_pylist() == full.drop_columns(sorted(DERIVED_FIELDS)).to_pylist()


def test_decode_input_over_several_fetched_batches() -> None:
    bus = MemoryBus()
    bus.create_topic("t", 2)
    first = [orjson.dumps({"a": i}) for i in range(6)]
    first[4] = b"{bad"
    second = [orjson.dumps({"a": 10 + i}) for i in range(5)]
    second[0] = b'{"a": 1.5}'
    bus.produce("t", 0, Records(values=first[:3], timestamps=1))
    bus.produce("t", 0, Records(values=first[3:], timestamps=2))
    bus.produce("t", 1, Records(values=second, timestamps=3))
    fetched = [(p, b) for p in (0, 1) for b in bus.fetch("t", p, 0).batches]
    batch = InputBatch("1_rt", fetched)
    assert len(batch.value_chunks) == 3
    table, dead, kept = decode_input(batch, SCHEMA, "UTC", derived_fields=False)
    assert [(d.index, batch.origin(d.index)) for d in dead] == [(4, (0, 4)), (6, (1, 0))]
    assert batch.value(6) == b'{"a": 1.5}'
    assert table.column("a").to_pylist() == [0, 1, 2, 3, 5, 11, 12, 13, 14]
    assert table.column("dtEventTimeStamp").to_pylist() == [1, 1, 1, 2, 2, 3, 3, 3, 3]
    assert "thedate" not in table.column_names
    assert kept is not None and kept.to_pylist() == [0, 1, 2, 3, 5, 7, 8, 9, 10]
    assert batch.values.to_pylist() == first + second
    assert batch.timestamps.to_pylist() == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]
