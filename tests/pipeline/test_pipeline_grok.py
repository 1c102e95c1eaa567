"""grok: pattern compilation, the exact segmented matcher, and the kernel's semantics."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.pipeline.batch import PARALLEL_MIN_ROWS
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.grok import Grok
from sluice.pipeline.grok_match import Matcher, _plan
from sluice.pipeline.grok_patterns import builtin_patterns, compile_grok
from sluice.pipeline.settings.filters import GrokSettings

LINE = (
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
    '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
)
PATTERNS = [
    "%{COMBINEDAPACHELOG}",
    "%{COMMONAPACHELOG}",
    "%{IPORHOST:ip} %{USER:u} %{GREEDYDATA:rest}",
    '\\[%{HTTPDATE:ts}\\] "%{WORD:verb}',
    "%{SYSLOGBASE} %{GREEDYDATA:msg}",
    "%{NUMBER:a} %{NUMBER:b}",
]


def test_every_builtin_pattern_compiles_to_re2() -> None:
    lib = builtin_patterns()
    for name in ("USERNAME", "IPV6", "HOSTNAME", "URI", "TIMESTAMP_ISO8601", "SYSLOGBASE",
                 "LOGLEVEL", "COMBINEDAPACHELOG", "HTTPD_ERRORLOG", "QS", "UUID", "MAC"):  # fmt: skip
        assert name in lib
    for name in lib:
        compile_grok("%{" + name + "}")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("%{IPV6:ip}", "2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
        ("%{IPV6:ip}", "::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("%{IPV4:ip}", "10.1.255.3", "10.1.255.3"),
        (
            "%{TIMESTAMP_ISO8601:t}",
            "2026-11-01T13:05:09.123+01:00",
            "2026-11-01T13:05:09.123+01:00",
        ),
        (
            "%{UUID:u}",
            "123e4567-e89b-12d3-a456-426614174000",
            "123e4567-e89b-12d3-a456-426614174000",
        ),
        ("%{LOGLEVEL:l}", "WARNING", "WARNING"),
        ("%{QS:q}", '"say \\"hi\\""', '"say \\"hi\\""'),
        (
            "%{URI:u}",
            "https://user@example.com:8443/a/b?x=1",
            "https://user@example.com:8443/a/b?x=1",
        ),
    ],
)
def test_library_patterns_match(pattern: str, value: str, expected: str) -> None:
    c = compile_grok("^" + pattern + "$")
    got = pc.extract_regex(pa.array([value]), pattern=c.regex)
    assert got.field(0)[0].as_py() == expected


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("%{NOPE}", "unknown grok pattern %{NOPE}"),
        ("%{INT:x:long}", "unknown grok type 'long'"),
        ("(?=a)%{WORD:w}", "look-around"),
        ("(a)\\1", "backreference"),
        ("%{LOOP}", "refers to itself"),
        ("a{2000}", "not valid RE2"),
    ],
)
def test_compile_errors(pattern: str, fragment: str) -> None:
    lib = {**builtin_patterns(), "LOOP": "x%{LOOP}"}
    with pytest.raises(ConfigError) as info:
        compile_grok(pattern, lib)
    assert fragment in str(info.value)


def test_capture_names_are_safe_group_names() -> None:
    c = compile_grok("%{WORD:[http][verb]} (?<@metadata>\\d+) %{INT:a.b:int}")
    assert [(cap.group, cap.path, cap.type) for cap in c.captures] == [
        ("g0", ("http", "verb"), None),
        ("g1", ("@metadata",), None),
        ("g2", ("a.b",), "int"),
    ]
    assert "(?P<g1>" in c.regex


def test_combined_log_is_planned_in_segments() -> None:
    plan = _plan(compile_grok("%{COMBINEDAPACHELOG}").regex)
    assert plan is not None
    assert [p.sep for p in plan.pieces] == [" ", " ", " ", "]"]
    assert [p.whole for p in plan.pieces] == ["g0", "g1", "g2", "g3"]
    assert plan.pieces[3].pre == 1  # the "[" left over from the " [" separator


def _reference(regex: str, strings: pa.Array) -> tuple[list[bool], dict[str, list[str | None]]]:
    ref = pc.extract_regex(strings, pattern=regex)
    ok = ref.is_valid().fill_null(False)
    groups = {
        ref.type.field(i).name: pc.if_else(
            ok, ref.field(i), pa.nulls(len(ref), pa.string())
        ).to_pylist()
        for i in range(ref.type.num_fields)
    }
    return ok.to_pylist(), groups


_pieces = st.sampled_from(
    [LINE, "10.0.0.1", "::1", "host.example", " ", "-", "[", "]", '"', "GET", "/x", "HTTP/1.1",
     "200", "junk", "31/Oct/2026:23:59:59 +0000", "May 29 16:37:11", "sadness", "logger:", "a b",
     '"quoted text"', "'single'", '"esc\\" aped"', "\\", '""']
)  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(_pieces, max_size=8).map(" ".join), min_size=1, max_size=20),
    st.sampled_from(PATTERNS),
)
def test_segmented_matcher_equals_plain_extract_regex(lines: list[str], pattern: str) -> None:
    c = compile_grok(pattern)
    strings = pa.array([*lines, LINE, None], pa.string())
    ok, groups = Matcher(c.regex, [cap.group for cap in c.captures]).match(strings)
    ref_ok, ref_groups = _reference(c.regex, strings)
    assert ok.to_pylist() == ref_ok
    for name, values in ref_groups.items():
        got = pc.if_else(ok, groups[name], pa.nulls(len(strings), pa.string())).to_pylist()
        assert got == values, name


def test_matcher_gives_up_on_segments_when_rows_rarely_fit() -> None:
    c = compile_grok("%{IP:ip} %{WORD:w}")
    m = Matcher(c.regex, [cap.group for cap in c.captures])
    assert m.plan is not None
    for _ in range(Matcher._GIVE_UP):
        m.match(pa.array(["no match here"] * 10))
    assert m.plan is None


def _grok(**kw: object) -> Grok:
    return Grok(GrokSettings.model_validate(kw))


def test_capture_into_existing_field_without_overwrite_makes_an_array() -> None:
    t = pa.table({"message": ["a b"]})
    out, failed = _grok(match={"message": "%{WORD} %{WORD:message}"}).apply(t)
    assert out.column("message").to_pylist() == [["a b", "b"]]
    assert failed.to_pylist() == [False]


def test_absent_field_matches_as_empty_string() -> None:
    t = pa.table({"other": [1, 2]})
    out, failed = _grok(match={"message": "^%{GREEDYDATA:all}$"}, tag_on_failure=[]).apply(t)
    assert failed.to_pylist() == [False, False]
    assert "all" not in out.column_names  # the empty capture is dropped


def test_keep_empty_captures_and_named_captures_only_false() -> None:
    t = pa.table({"message": ["x"]})
    out, _ = _grok(match={"message": "^%{DATA:e}%{WORD}$"}, keep_empty_captures=True,
                   named_captures_only=False).apply(t)  # fmt: skip
    assert out.to_pylist() == [{"message": "x", "e": "", "WORD": "x"}]


def test_match_across_fields_breaks_on_first_match() -> None:
    t = pa.table({"a": ["1", "x"], "b": ["y", "2"]})
    out, failed = _grok(match={"a": "^%{INT:n}$", "b": "^%{INT:n}$"}).apply(t)
    assert out.column("n").to_pylist() == ["1", "2"]
    assert failed.to_pylist() == [False, False]


def test_numbers_are_matched_as_text() -> None:
    t = pa.table({"code": [200, 404]})
    out, _ = _grok(match={"code": "^%{INT:c:int}$"}).apply(t)
    assert out.column("c").to_pylist() == [200, 404]


def test_patterns_dir(tmp_path: Path) -> None:
    (tmp_path / "extra").write_text("# mine\nTICKET [A-Z]+-\\d+\n")
    t = pa.table({"message": ["fix ABC-12 now"]})
    out, _ = _grok(match={"message": "%{TICKET:ticket}"}, patterns_dir=[str(tmp_path)]).apply(t)
    assert out.column("ticket").to_pylist() == ["ABC-12"]


def test_bad_patterns_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        _grok(match={"message": "%{WORD:w}"}, patterns_dir=[str(tmp_path / "missing")])


def test_large_batches_use_parallel_slices() -> None:
    """A column longer than PARALLEL_MIN_ROWS is matched in slices on several threads;
    the result is the one small batches give, whatever falls on a slice boundary."""
    other = LINE.replace("GET /apache_pb.gif HTTP/1.0", "-").replace("2326", "-")
    pattern = [LINE, other, "no match", None, LINE.replace("frank", "a@b.c")]
    lines = pa.array(pattern * (PARALLEL_MIN_ROWS // 2 + 1))
    grok = _grok(match={"message": "%{COMBINEDAPACHELOG}"})
    out, failed = grok.apply(pa.table({"message": lines}))
    small = [
        grok.apply(pa.table({"message": lines.slice(i, 997)})) for i in range(0, len(lines), 997)
    ]
    assert failed.to_pylist() == [v for _, f in small for v in f.to_pylist()]
    assert out.to_pylist() == [row for t, _ in small for row in t.to_pylist()]
    assert out.column("bytes").to_pylist()[-5:-3] == ["2326", None]
    assert out.column("rawrequest").to_pylist()[1] == "-"


def test_overwrite_names_captures_without_target() -> None:
    t = pa.table({"message": ["abc"], "t": pa.array([{"message": "old"}])})
    out, _ = _grok(match={"message": "%{WORD:message}"}, target="t", overwrite=["message"]).apply(t)
    assert out.column("t").to_pylist() == [{"message": "abc"}]


def test_empty_and_chunked_tables() -> None:
    g = _grok(match={"message": "%{WORD:k}=%{INT:v:int}"})
    empty, failed = g.apply(pa.table({"message": pa.array([], pa.string())}))
    assert empty.num_rows == 0
    assert len(failed) == 0
    chunked = pa.concat_tables([pa.table({"message": ["a=1"]}), pa.table({"message": ["c=3"]})])
    out, _ = g.apply(chunked)
    assert out.column("v").to_pylist() == [1, 3]


_HEAD = '10.0.0.1 - - [31/Oct/2026:23:59:59 +0000] "GET '
_REQUESTS = [
    '/x HTTP/1.1" 200 5 "r" "a"',  # the usual line
    '/a"b HTTP/1.1" 200 5 "r" "a"',  # a quote inside the request
    '/a"b" 200 5 "r" "a"',  # no version: the request stops at a quote
    '/a\tb HTTP/1.1" 200 5 "r" "a"',  # a tab: the run ends before the first space
    '/x  HTTP/1.1" 200 5 "r" "a"',  # two spaces
    '/x HTTP/1.1 more" 200 5 "r" "a"',  # the version does not end the request
    '/x" 200 - "r" "a" trailing',  # no version, no bytes, text after the agent
    '/x HTTP/1.1" 200 5 "r\\" x" "a"',  # an escaped quote in the referrer
    '/x HTTP/1.1" 200 5',  # referrer and agent missing
    "/x",  # cut short
    '" 200 5 "r" "a"',  # an empty request
]


def test_greedy_run_cut_equals_plain_extract_regex() -> None:
    c = compile_grok("%{COMBINEDAPACHELOG}")
    strings = pa.array([_HEAD + r for r in _REQUESTS] * 3, pa.string())
    ok, groups = Matcher(c.regex, [cap.group for cap in c.captures]).match(strings)
    ref_ok, ref_groups = _reference(c.regex, strings)
    assert ok.to_pylist() == ref_ok
    assert ref_ok.count(True) >= 7  # the lines above mostly match
    for name, values in ref_groups.items():
        got = pc.if_else(ok, groups[name], pa.nulls(len(strings), pa.string())).to_pylist()
        assert got == values, name


def test_greedy_run_cut_needs_a_remainder_that_ignores_what_came_before() -> None:
    fits = _plan(r"^(?P<g0>\S+)(?: v(?P<g1>\d+))?;")
    assert fits is not None and fits.pieces[-1].keep and fits.pieces[-1].whole == "g0"
    assert fits.rest.startswith("^(?:(?: v")
    for regex in (
        r"^(?P<g0>\S+)(?:\b v(?P<g1>\d+))?;",  # \b would look at the run's last character
        r"^(?P<g0>\S+)(?:^ v(?P<g1>\d+))?;",  # ^ matches at the remainder's start only
        r"^(?P<g0>\S+?)(?: v(?P<g1>\d+))?;",  # a lazy run's first path is the shortest
        r"^(?P<g0>.+)(?: v(?P<g1>\d+))?;",  # the run may contain a space
    ):
        plan = _plan(regex)
        assert plan is None or not plan.pieces[-1].keep, regex


@pytest.mark.parametrize(
    "rows",
    [
        ['"a b" "c"', "\"x\" 'y'", '"" ""', '"a" nope'],
        ['"a b" "c"', '"a\\" b" "c"', '"a\\\\" "b"', "'q\\'' `t`"],  # escapes
    ],
)
def test_quoted_strings_match_as_extract_regex_with_or_without_escapes(rows: list[str]) -> None:
    c = compile_grok("%{QS:first} %{QS:second}")
    matcher = Matcher(c.regex, [cap.group for cap in c.captures])
    strings = pa.array(rows * 3 + [None], pa.string())
    ok, groups = matcher.match(strings)
    ref_ok, ref_groups = _reference(c.regex, strings)
    assert ok.to_pylist() == ref_ok
    assert any(ref_ok)
    for name, values in ref_groups.items():
        got = pc.if_else(ok, groups[name], pa.nulls(len(strings), pa.string())).to_pylist()
        assert got == values, name
