"""Ruby-style number conversion of string columns (``to_int``, ``to_float``): the bulk
cast taken when every string is a plain number and the per-string lead extraction
give Ruby's ``to_i``/``to_f``. ``list_item`` picks items of split lists."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.pipeline.batch import list_item, to_float, to_int


@pytest.mark.parametrize(
    ("strings", "expected"),
    [
        (["1", "-3", "007", None], [1, -3, 7, None]),  # plain: one cast
        (["1", "+2", "+-3", " +4x", "-", "x", "1e5", None], [1, 2, 0, 4, 0, 0, 1, None]),
        ([None, None], [None, None]),
        ([], []),
    ],
)
def test_to_int_is_ruby_to_i(strings: list[str | None], expected: list[int | None]) -> None:
    got = to_int(pa.array(strings, pa.string()))
    assert got.type == pa.int64() and got.to_pylist() == expected


@pytest.mark.parametrize(
    ("strings", "expected"),
    [
        (["1.5", "-0", "+0.25", "12", None], [1.5, -0.0, 0.25, 12.0, None]),  # plain
        (["1.", ".5", "1e5", "inf", "nan", " 2.5kg", "x", None],
         [1.0, 0.5, 100000.0, 0.0, 0.0, 2.5, 0.0, None]),
    ],
)  # fmt: skip
def test_to_float_is_ruby_to_f(strings: list[str | None], expected: list[float | None]) -> None:
    got = to_float(pa.array(strings, pa.string()))
    assert got.type == pa.float64() and got.to_pylist() == expected


@given(
    st.lists(st.none() | st.lists(st.text(max_size=5), max_size=4), max_size=30),
    st.integers(0, 4),
    st.integers(0, 3),
)
def test_list_item_is_list_element_with_nulls_for_short_lists(
    lists: list[list[str] | None], index: int, start: int
) -> None:
    array = pa.array(lists, pa.list_(pa.string())).slice(min(start, len(lists)))
    expected = [None if v is None or index >= len(v) else v[index] for v in array.to_pylist()]
    got = list_item(array, index)
    assert got.type == pa.string()
    assert got.to_pylist() == expected
    if all(v is not None and len(v) > index for v in array.to_pylist()):
        assert got.equals(pc.list_element(array, index))
