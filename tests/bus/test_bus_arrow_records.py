"""``Records`` built from Arrow arrays encode, split and produce exactly like Python lists."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.bus import Bus, EmbeddedBus, EmbeddedConfig, Records
from sluice.bus.batch import RecordBatch, check_crc, parse_header
from sluice.bus.encode import encode_batch, encode_parts, split_for_batches

VALUES = [b"abc", b"", b"hello", b"x" * 10, b"\x00\xff"]


def _arrow_shapes() -> list[Any]:
    whole = pa.array(VALUES, pa.binary())
    return [
        whole,
        whole.slice(1),
        whole.slice(2, 2),
        pa.array(VALUES, pa.large_binary()).slice(1),
        pa.array(["a", "", "é🎉"], pa.string()).slice(1),
        pa.chunked_array([VALUES[:2], VALUES[2:]], pa.binary()),
        pa.array([b""] * 3, pa.binary()),
    ]


@pytest.mark.parametrize("values", _arrow_shapes())
@pytest.mark.parametrize("stamps", ["none", "one", "varied", "uniform", "sliced"])
def test_arrow_columns_encode_to_the_same_bytes_as_lists(values: Any, stamps: str) -> None:
    as_list = values.cast(pa.binary()).to_pylist()
    n = len(as_list)
    arrow_ts: Any = {
        "none": None,
        "one": 7,
        "varied": pa.array(range(100, 100 + n), pa.int64()),
        "uniform": pa.array([5] * n, pa.int32()),
        "sliced": pa.array(range(10 + n), pa.int64()).slice(10),
    }[stamps]
    list_ts = arrow_ts.to_pylist() if isinstance(arrow_ts, pa.Array) else arrow_ts
    if arrow_ts is None:
        list_ts = arrow_ts = 1_700_000_000_000  # "now" would differ between the two calls
    got = encode_batch(Records(values=values, timestamps=arrow_ts), 3)
    want = encode_batch(Records(values=as_list, timestamps=list_ts), 3)
    assert got == want
    batch = RecordBatch(got)
    assert batch.values == as_list
    assert batch.values_array().to_pylist() == as_list


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=80),
    st.integers(0, 5),
    st.integers(1, 300),
)
def test_arrow_split_matches_the_list_split(values: list[bytes], skip: int, max_bytes: int) -> None:
    column = pa.array([b"pad"] * skip + values, pa.binary()).slice(skip)
    arrow_runs = split_for_batches(Records(values=column), max_bytes)
    list_runs = split_for_batches(Records(values=values), max_bytes)
    assert [len(r) for r in arrow_runs] == [len(r) for r in list_runs]
    assert [v for r in arrow_runs for v in r.values.to_pylist()] == values


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"values": pa.array([b"a", None])}, "holds 1 null"),
        ({"values": pa.array([1, 2])}, "binary or string array, not int64"),
        ({"values": pa.array([b"a"]), "timestamps": pa.array([None], pa.int64())}, "null"),
        ({"values": pa.array([b"a"]), "timestamps": pa.array([1.5])}, "integers, not double"),
    ],
)
def test_bad_arrow_columns_are_refused(records: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_batch(Records(**records))


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="timestamps has 1 entries for 2"):
        Records(values=pa.array([b"a", b"b"]), timestamps=pa.array([1]))


def test_take_slice_and_lists() -> None:
    records = Records(values=pa.array(VALUES), timestamps=pa.array(range(5), pa.int64()))
    picked = records.take([4, 0])
    assert (picked.values.to_pylist(), picked.timestamps.to_pylist()) == ([b"\x00\xff", b"abc"],
                                                                          [4, 0])  # fmt: skip
    part = records.slice(1, 3).as_lists()
    assert (part.values, part.timestamps) == ([b"", b"hello"], [1, 2])
    assert not part.columnar and records.columnar
    plain = Records(values=[b"a"])
    assert plain.as_lists() is plain


def test_produce_arrow_columns_on_every_backend(bus: Bus, topic: str) -> None:
    bus.create_topic(topic, 2)
    stamps = pa.array([1_000 + i for i in range(5)], pa.int64())
    bus.produce(topic, 1, Records(values=pa.array(VALUES).slice(0), timestamps=stamps))
    keyed = Records(values=pa.array(VALUES), keys=[b"k1", b"k2", None, b"k1", b"k2"])
    bus.produce(topic, None, keyed)
    got = bus.fetch(topic, 1, 0)
    assert got.values()[:5] == VALUES
    assert [t for b in got.batches for t in b.timestamps][:5] == stamps.to_pylist()
    total = sum(len(bus.fetch(topic, p, 0)) for p in range(2))
    assert total == 10


def test_embedded_fetch_returns_whole_batches_within_max_bytes(tmp_path: Any) -> None:
    bus = EmbeddedBus(EmbeddedConfig(path=tmp_path, fsync="os")).open()
    try:
        bus.create_topic("t", 1)
        for i in range(6):
            bus.produce("t", 0, Records(values=pa.array([bytes([65 + i]) * 100] * 10)))
        one = bus.fetch("t", 0, 0, max_bytes=10)
        assert [len(b) for b in one.batches] == [10]
        size = one.batches[0].header.size
        three = bus.fetch("t", 0, 5, max_bytes=3 * size)
        assert [len(b) for b in three.batches] == [5, 10, 10]
        capped = bus.fetch("t", 0, 0, max_records=15, max_bytes=1 << 20)
        assert [len(b) for b in capped.batches] == [10, 5]
        assert len(bus.fetch("t", 0, 0, max_bytes=1 << 20)) == 60
    finally:
        bus.close()


@pytest.mark.parametrize("values", _arrow_shapes())
def test_parts_hold_the_same_bytes_and_a_valid_crc_at_any_base_offset(values: Any) -> None:
    records = Records(
        values=values,
        timestamps=pa.array(range(len(values)), pa.int64()),
        keys=[b"k", None, b""][: len(values)] + [None] * max(0, len(values) - 3),
        headers=[(("h", b"v"),)] * len(values),
    )
    parts = encode_parts(records, 3)
    joined = parts.join()
    assert joined == encode_batch(records, 3)
    assert parts.size == len(joined) == parse_header(joined).size
    parts.set_base_offset(1 << 40)
    moved = parts.join()
    assert moved[8:] == joined[8:]  # only the base offset changed
    assert parse_header(moved).base_offset == 1 << 40
    assert check_crc(moved, 0, parse_header(moved))
    assert RecordBatch(moved).values == values.cast(pa.binary()).to_pylist()
