"""Ruby-style number conversion of string columns (``to_int``, ``to_float``): the bulk
cast taken when every string is a plain number and the per-string lead extraction
give Ruby's ``to_i``/``to_f``."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sluice.pipeline.batch import to_float, to_int


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
