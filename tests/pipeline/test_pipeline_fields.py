"""Field references on Arrow tables: parse, get, set, remove, tags, append."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sluice.pipeline import fields as f
from sluice.pipeline.errors import ConfigError


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        ("a", ("a",)),
        ("[a]", ("a",)),
        ("[a][b]", ("a", "b")),
        ("a.b", ("a.b",)),
        ("[@metadata][x]", ("@metadata", "x")),
        (" [a] ", ("a",)),
    ],
)
def test_parse_ref(ref: str, path: tuple[str, ...]) -> None:
    assert f.parse_ref(ref) == path


@pytest.mark.parametrize("bad", ["", "[a", "a]", "[a]b", "[]"])
def test_parse_ref_rejects_malformed(bad: str) -> None:
    with pytest.raises(ConfigError):
        f.parse_ref(bad)


def test_get_nested_reads_null_under_absent_parent() -> None:
    t = pa.table({"a": pa.array([{"b": 1}, None, {"b": None}])})
    arr = f.get(t, ("a", "b"))
    assert arr is not None
    assert arr.to_pylist() == [1, None, None]
    assert f.get(t, ("a", "zz")) is None
    assert f.get(t, ("missing",)) is None


def test_set_nested_creates_parents_only_where_set() -> None:
    t = pa.table({"x": [1, 2]})
    t = f.set_field(t, ("a", "b", "c"), pa.array(["v", None]))
    assert t.column("a").to_pylist() == [{"b": {"c": "v"}}, None]


def test_set_nested_under_scalar_is_a_conflict() -> None:
    t = pa.table({"a": ["text"]})
    with pytest.raises(f.FieldConflictError):
        f.set_field(t, ("a", "b"), pa.array([1]))


def test_set_where_keeps_other_rows_and_casts_old_values() -> None:
    t = pa.table({"n": [1, 2, 3]})
    t = f.set_where(t, ("n",), pa.array(["x", "y", None]), pa.array([True, False, True]))
    assert t.column("n").to_pylist() == ["x", "2", "3"]


def test_remove_nested_and_clear_where() -> None:
    t = pa.table({"a": pa.array([{"b": 1, "c": 2}, {"b": 3, "c": 4}]), "d": [1, 2]})
    t = f.remove(t, ("a", "b"))
    assert t.column("a").to_pylist() == [{"c": 2}, {"c": 4}]
    t = f.clear_where(t, ("d",), pa.array([True, False]))
    assert t.column("d").to_pylist() == [None, 2]
    t = f.clear_where(t, ("d",), pa.array([False, True]))
    assert "d" not in t.column_names


def test_add_tags_skips_present_tags_and_wraps_string_tags() -> None:
    t = pa.table({"tags": pa.array([["a"], None, ["b", "a"]])})
    t = f.add_tags(t, ["a", "c"], pa.array([True, True, False]))
    assert t.column("tags").to_pylist() == [["a", "c"], ["a", "c"], ["b", "a"]]
    t2 = f.add_tags(pa.table({"tags": ["solo", None]}), ["x"])
    assert t2.column("tags").to_pylist() == [["solo", "x"], ["x"]]


def test_remove_tags_only_on_masked_rows() -> None:
    t = pa.table({"tags": pa.array([["a", "b"], ["a"], None])})
    t = f.remove_tags(t, ["a"], pa.array([True, False, True]))
    assert t.column("tags").to_pylist() == [["b"], ["a"], None]


def test_append_values_promotes_to_lists() -> None:
    out = f.append_values(pa.array(["x", None, "z"]), pa.array(["1", "2", None]))
    assert out.to_pylist() == [["x", "1"], ["2"], ["z"]]
    out = f.append_values(pa.array([["p", "q"], None]), pa.array(["r", None]))
    assert out.to_pylist() == [["p", "q", "r"], None]


def test_row_index() -> None:
    assert f.row_index(4).to_pylist() == [0, 1, 2, 3]
    assert f.row_index(0).to_pylist() == []
