"""dissect and kv kernels beyond the conformance cases: parsing errors, edge shapes."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.pipeline.dissect import Dissect, parse_dissect
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.kv import Kv
from sluice.pipeline.settings.filters import DissectSettings, KvSettings


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("no keys", "has no %{...} key"),
        ("%{a}%{b}", "need a delimiter"),
        ("%{&v} %{x}", "needs a %{*name}"),
    ],
)
def test_dissect_pattern_errors(pattern: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dissect(pattern)
    assert fragment in str(info.value)


def test_dissect_multichar_delimiters_padding_and_trailing_text() -> None:
    d = Dissect(DissectSettings(mapping={"message": "<<%{a->} :: %{b}]] ignored"}))
    t = pa.table({"message": ["<<one ::  :: two]] ignored tail", "<<one two"]})
    out, failed = d.apply(t)
    assert out.column("a").to_pylist() == ["one", None]
    assert out.column("b").to_pylist() == ["two", None]
    assert failed.to_pylist() == [False, True]


def test_dissect_absent_source_is_a_failure_and_non_strings_are_text() -> None:
    d = Dissect(DissectSettings(mapping={"code": "%{major}0%{minor}"}))
    out, failed = d.apply(pa.table({"code": [204, None]}))
    assert out.column("major").to_pylist() == ["2", None]
    assert out.column("minor").to_pylist() == ["4", None]
    assert failed.to_pylist() == [False, True]
    assert out.column("tags").to_pylist() == [None, ["_dissectfailure"]]


def test_dissect_first_occurrence_semantics() -> None:
    # dissect cuts at the first delimiter and fails if a later one is then missing; a
    # backtracking regex would have matched this line.
    d = Dissect(DissectSettings(mapping={"message": "%{a} - %{b}:%{c}"}))
    out, failed = d.apply(pa.table({"message": ["x - y - z:w", "p - q"]}))
    assert out.column("b").to_pylist() == ["y - z", None]
    assert failed.to_pylist() == [False, True]


def _kv(**kw: object) -> Kv:
    return Kv(KvSettings.model_validate(kw))


def test_kv_patterns_and_transform_value() -> None:
    t = pa.table({"message": ["a: 1 ;; b: two", None]})
    out, failed = _kv(field_split_pattern=r"\s*;;\s*", value_split_pattern=r":\s*",
                      transform_value="uppercase").apply(t)  # fmt: skip
    assert out.column("a").to_pylist() == ["1", None]
    assert out.column("b").to_pylist() == ["TWO", None]
    assert failed.to_pylist() == [False, False]


def test_kv_control_characters_in_input_do_not_break_pairs() -> None:
    t = pa.table({"message": ["a=1\x1eb=2 c=3"]})
    out, _ = _kv().apply(t)
    assert out.column("c").to_pylist() == ["3"]
    assert out.column("a").to_pylist() == ["1\ufffdb=2"]


def test_kv_escaped_quotes_and_missing_source() -> None:
    t = pa.table({"message": ['say="he said \\"hi\\"" n=1']})
    out, _ = _kv().apply(t)
    assert out.column("say").to_pylist() == ['he said \\"hi\\"']
    same, _ = _kv(source="absent").apply(t)
    assert same.column_names == ["message"]


def test_kv_settings_validation() -> None:
    with pytest.raises(ValueError, match="recursive"):
        KvSettings(recursive=True)
    with pytest.raises(ConfigError, match="field_split"):
        _kv(field_split="")
    with pytest.raises(ConfigError, match="RE2"):
        _kv(field_split_pattern="(")


def test_module_level_apply_functions() -> None:
    from sluice.pipeline import dissect, grok, kv
    from sluice.pipeline.settings.filters import GrokSettings

    t = pa.table({"message": ["a=1 b"]})
    assert kv.apply(t, KvSettings())[0].column("a").to_pylist() == ["1"]
    out, failed = dissect.apply(t, DissectSettings(mapping={"message": "%{x} %{y}"}))
    assert out.column("y").to_pylist() == ["b"]
    out, failed = grok.apply(t, GrokSettings(match={"message": "%{INT:n:int}"}))
    assert out.column("n").to_pylist() == [1]
    assert failed.to_pylist() == [False]


_noise = st.lists(
    st.sampled_from(
        [
            "a",
            "b=",
            "=",
            " ",
            "&",
            '"',
            "'",
            "(",
            ")",
            "[",
            "]",
            "<",
            ">",
            "\\",
            "x=1",
            "é",
            "\n",
            ":",
        ]
    ),
    max_size=20,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), _noise), min_size=1, max_size=6))
def test_kernels_never_fail_on_arbitrary_text(lines: list[str | None]) -> None:
    t = pa.table({"message": pa.array(lines, pa.string())})
    for kernel in (
        Kv(KvSettings()),
        Kv(KvSettings(field_split="&", allow_duplicate_values=False, trim_value="\"'")),
        Dissect(DissectSettings(mapping={"message": "%{a}=%{+a} %{?k}:%{&k}"})),
    ):
        out, failed = kernel.apply(t)
        assert out.num_rows == len(lines)
        assert len(failed) == len(lines)
