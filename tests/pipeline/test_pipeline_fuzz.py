"""Fuzzing: any text, valid or mangled, yields a config or a positioned ConfigError."""

from __future__ import annotations

import string
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.parser import parse

CORPUS = [
    "input { tcp { port => 5000 codec => json_lines } }",
    'filter { grok { match => { "message" => "%{COMBINEDAPACHELOG}" } } }',
    'filter { if [a] == "x" and [b] > 3 { drop {} } else if "t" in [tags] { kv {} } else { dissect { mapping => { "message" => "%{a} %{b}" } } } }',
    "output { if [x] =~ /^a.*$/ { stdout {} } elasticsearch { hosts => ['127.0.0.1:9200'] index => 'x-%{+YYYY.MM.dd}' } }",
    'filter { kv { field_split => "&" value_split => "=" include_keys => ["a", "b"] prefix => "kv_" } }',
    'filter { grok { match => ["message", "%{IP:ip} %{WORD:w}"] add_tag => "x" } }',
]
TOKENS = ["{", "}", "[", "]", "(", ")", "=>", "==", "=~", "!", "if", "else", "and", "in", "not",
          '"', "'", "/", "#", "\n", ",", "%{", "input", "filter", "-1.5", "[a][b]", "\\"]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "token"]))
        if action == "insert":
            text = text[:pos] + draw(st.text(max_size=3)) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 6)) :]
        elif action == "replace":
            text = text[:pos] + draw(st.sampled_from(string.printable)) + text[pos + 1 :]
        else:
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
    return text


def _error_of(call: Callable[[], object]) -> ConfigError | None:
    """Run ``call``; return its ConfigError (any other exception propagates)."""
    try:
        call()
    except ConfigError as exc:
        return exc
    return None


def _check(text: str) -> None:
    err = _error_of(lambda: parse(text))
    if err is not None:
        assert err.line >= 1
        assert err.column >= 1
        assert str(err).startswith(f"line {err.line}, column {err.column}: ")
        return
    err = _error_of(lambda: compile_pipeline(text))
    if err is not None:  # semantic errors point at the plugin or setting too
        assert err.line >= 1, err


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.text(max_size=80))
def test_random_text_never_crashes(text: str) -> None:
    _check(text)


@_SETTINGS
@given(st.lists(st.sampled_from([*TOKENS, "a", "b", "1", " "]), max_size=30).map(" ".join))
def test_token_soup_never_crashes(text: str) -> None:
    _check(text)


@_SETTINGS
@given(mutated())
def test_mutated_configs_never_crash(text: str) -> None:
    _check(text)


def test_deep_nesting_is_a_positioned_error_or_parses() -> None:
    text = "filter { if " + "(" * 3000 + "[a]" + ")" * 3000 + " { drop {} } }"
    err = _error_of(lambda: parse(text))
    assert err is None or err.line >= 1
