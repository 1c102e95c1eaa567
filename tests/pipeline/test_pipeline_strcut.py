"""The native string cutter gives exactly what ``split_pattern`` + ``list_item`` give."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.pipeline.batch import list_item
from sluice.pipeline.strcut import split_parts

rows = st.lists(
    st.none()
    | st.text(alphabet=st.sampled_from(["a", " ", '"', "é", "-", "\x00", "😀"]), max_size=12),
    max_size=40,
)


def _kernels(strings: pa.Array, separator: str, count: int) -> list[list[object]]:
    lists = pc.split_pattern(strings, separator, max_splits=count)
    return [list_item(lists, m).to_pylist() for m in range(count + 1)]


@settings(max_examples=400, deadline=None)
@given(
    rows, st.sampled_from([" ", '"', " -", "é", "😀", '" "']), st.integers(1, 4), st.integers(0, 5)
)
def test_parts_equal_the_kernels(
    values: list[str | None], separator: str, count: int, skip: int
) -> None:
    strings = pa.array(values, pa.string()).slice(min(skip, len(values)))
    parts = split_parts(strings, separator, count)
    assert [p.to_pylist() for p in parts] == _kernels(strings, separator, count)
    for part in parts:
        part.validate(full=True)


def test_large_strings_and_bad_counts() -> None:
    strings = pa.array(["a b c", None], pa.large_string())
    assert [p.to_pylist() for p in split_parts(strings, " ", 1)] == [["a", None], ["b c", None]]
    with pytest.raises(ValueError, match="count >= 1"):
        split_parts(strings, " ", 0)


def test_a_column_without_nulls_has_no_validity_bitmap() -> None:
    parts = split_parts(pa.array(["1 2", "3 4"]), " ", 1)
    assert [p.null_count for p in parts] == [0, 0]
    assert parts[1].buffers()[0] is None
