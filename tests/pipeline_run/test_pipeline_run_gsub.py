"""mutate gsub: the literal fast paths (``^A|B$``, ``^A``, ``B$``, ``A``) give exactly what the
RE2 path (``replace_substring_regex``) gives, on tricky values; other patterns keep RE2."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import FilterChain
from sluice.plugins.filters import filter_kernels
from sluice.plugins.filters.gsub import LiteralPlan, gsub_fn, literal_plan, regex_gsub

TRICKY: list[str | None] = [
    None, "", '"', '""', '"""', '"-"', '"x', 'x"', "x", '"é"', 'é"', '"é', "éé", '"\n"',
    '"x\n', '\n"', "$", "^", '^"|"$', "abab", "ab", "a", "b", '"日本語"', '"\u00e9\u0301"',
]  # fmt: skip

FAST = [
    '^"|"$', r"^\"|\"$", '^"', '"$', '"', "^ab|b$", "^a|ab$", '^é|"$', "^é", "é$", "ab",
    r"\$", r"^\^|\$$", '^""|"$', r"^\.|\|$", r"\.",
]  # fmt: skip
SLOW = ['^"$', '"$|^"', "^a|^b", "a|b", r"\d", "^", "$", "", "(a)", "a*", "[ab]", "^a|b", "a.c"]
REPLACEMENTS = ["", "X", "$", "é", '""']


def _compare(regex: str, replacement: str, values: list[str | None]) -> None:
    fn = gsub_fn(regex, replacement)
    for typ in (pa.string(), pa.large_string()):
        arr = pa.array(values, typ)
        got, want = fn(arr), regex_gsub(arr, regex, replacement)
        assert got.type == want.type
        assert got.to_pylist() == want.to_pylist(), (regex, replacement, values)


@pytest.mark.parametrize("regex", FAST)
@pytest.mark.parametrize("replacement", REPLACEMENTS)
def test_fast_path_equals_regex_on_tricky_values(regex: str, replacement: str) -> None:
    assert literal_plan(regex, replacement) is not None
    _compare(regex, replacement, TRICKY)
    for value in TRICKY:  # alone: the "every value matches" shortcuts
        _compare(regex, replacement, [value] * 3)
    _compare(regex, replacement, [])
    _compare(regex, replacement, ['"a"', None, '"é"', '""'])  # every valid value matches
    _compare(regex, replacement, [None, None])


@pytest.mark.parametrize("regex", FAST)
def test_fast_path_equals_regex_on_random_batches(regex: str) -> None:
    rng = random.Random(regex)  # seeded: the same batches every run
    fn = gsub_fn(regex, "")
    for _ in range(300):
        values = [rng.choice(TRICKY) for _ in range(rng.randint(0, 6))]
        arr = pa.array(values, pa.string())
        assert fn(arr).to_pylist() == regex_gsub(arr, regex, "").to_pylist(), values


@pytest.mark.parametrize("regex", SLOW)
def test_other_patterns_keep_re2(regex: str) -> None:
    assert literal_plan(regex, "") is None
    _compare(regex, "-", TRICKY)


def test_plans() -> None:
    assert literal_plan('^"|"$', "") == LiteralPlan(prefix='"', suffix='"')
    assert literal_plan(r"^\"|\"$", "") == LiteralPlan(prefix='"', suffix='"')
    assert literal_plan("^ab", "") == LiteralPlan(prefix="ab")
    assert literal_plan(r"a\$", "") == LiteralPlan(literal="a$")
    assert literal_plan(r"\$$", "") == LiteralPlan(suffix="$")
    # a backslash in the replacement is RE2 rewrite syntax (\1, \\): only RE2 does that
    assert literal_plan('^"|"$', r"\0") is None


def test_invalid_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid for RE2"):
        gsub_fn("(", "")
    with pytest.raises(ConfigError, match="invalid for RE2"):
        gsub_fn("a[", "")


def _run(config: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    chain = FilterChain(compile_pipeline(config).filters, filter_kernels())
    out = chain.run(pa.Table.from_struct_array(pa.array(events)))
    return [{k: v for k, v in row.items() if v is not None} for row in out.to_pylist()]


def test_w2_unquoting_through_mutate() -> None:
    config = r"""filter { mutate {
        gsub => [ "referrer", "^\"|\"$", "", "agent", "^\"|\"$", "", "tags", "^\"|\"$", "" ]
    } }"""
    events = [
        {"referrer": '"-"', "agent": '"Mozilla/5.0 (X11; Linux) é"', "tags": ['"a"', '"', None]},
        {"referrer": '"', "agent": "", "tags": None},
        {"referrer": None, "agent": 'only-end"', "tags": []},
        {"agent": '"only-start', "tags": ['""']},
    ]
    assert _run(config, events) == [
        {"referrer": "-", "agent": "Mozilla/5.0 (X11; Linux) é", "tags": ["a", "", None]},
        {"referrer": "", "agent": ""},
        {"agent": "only-end", "tags": []},
        {"agent": "only-start", "tags": [""]},
    ]
