"""Parser: the Logstash config syntax, values, conditions and positioned errors."""

from __future__ import annotations

import pytest

from sluice.pipeline import ast
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.parser import parse, parse_condition

FULL = """
# a comment
input {
  stdin {}
  tcp { port => 5000 codec => json_lines { charset => "UTF-8" } }
}
filter {
  if [type] == "apache" and ([status] >= 500 or "x" in [tags]) {
    grok { match => { "message" => "%{COMBINEDAPACHELOG}" } tag_on_failure => [] }
  } else if ![foo] { drop {} }
  else { mutate { add_field => { "a" => 1 } x => true y => -1.5 z => bare } }
}
output { stdout { codec => rubydebug } }
"""


def test_parses_all_value_kinds() -> None:
    cfg = parse(FULL)
    assert [s.kind for s in cfg.sections] == ["input", "filter", "output"]
    tcp = cfg.inputs[1]
    assert isinstance(tcp, ast.PluginCall)
    assert tcp.settings[0] == ast.Setting("port", ast.Number(5000))
    codec = tcp.settings[1].value
    assert codec == ast.PluginCall("json_lines", (ast.Setting("charset", ast.String("UTF-8")),))
    branch = cfg.filters[0]
    assert isinstance(branch, ast.If)
    assert len(branch.branches) == 2
    assert branch.else_body is not None
    mutate = branch.else_body[0]
    assert isinstance(mutate, ast.PluginCall)
    values = [s.value for s in mutate.settings]
    assert values == [
        ast.Hash(((ast.String("a"), ast.Number(1)),)),
        ast.Boolean(True),
        ast.Number(-1.5),
        ast.Bareword("bare"),
    ]


def test_positions_are_recorded() -> None:
    cfg = parse(FULL)
    tcp = cfg.inputs[1]
    assert isinstance(tcp, ast.PluginCall)
    assert (tcp.position.line, tcp.position.column) == (5, 3)
    assert (tcp.settings[0].position.line, tcp.settings[0].position.column) == (5, 9)


def test_operator_precedence_and_binds_tighter_than_or() -> None:
    cond = parse_condition("[a] or [b] and [c] xor [d] nand [e]")
    a, b, c, d, e = (ast.Truthy(ast.FieldRef((x,))) for x in "abcde")
    assert cond == ast.BoolOp(
        "xor", ast.BoolOp("or", a, ast.BoolOp("and", b, c)), ast.BoolOp("nand", d, e)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[a][b] =~ /x\\/y/", ast.RegexMatch(ast.FieldRef(("a", "b")), ast.Regex("x\\/y"))),
        ('[a] !~ "re"', ast.RegexMatch(ast.FieldRef(("a",)), ast.String("re"), negate=True)),
        ('"x" not in [tags]', ast.In(ast.String("x"), ast.FieldRef(("tags",)), negate=True)),
        (
            '[a] in ["x", 1]',
            ast.In(ast.FieldRef(("a",)), ast.Array((ast.String("x"), ast.Number(1)))),
        ),
        ("![a]", ast.Not(ast.Truthy(ast.FieldRef(("a",))))),
        ("!([a] == 1)", ast.Not(ast.Compare("==", ast.FieldRef(("a",)), ast.Number(1)))),
        (
            "[@metadata][x] <= 2.5",
            ast.Compare("<=", ast.FieldRef(("@metadata", "x")), ast.Number(2.5)),
        ),
    ],
)
def test_condition_forms(text: str, expected: ast.Condition) -> None:
    assert parse_condition(text) == expected


def test_raw_strings_keep_backslashes_like_logstash() -> None:
    cfg = parse(r"""filter { a { b => "x\"y" c => 'it\'s' d => "\[%{HTTPDATE}\]" } }""")
    plugin = cfg.filters[0]
    assert isinstance(plugin, ast.PluginCall)
    assert [s.value for s in plugin.settings] == [
        ast.String('x\\"y'),
        ast.String("it\\'s"),
        ast.String("\\[%{HTTPDATE}\\]"),
    ]


def test_escapes_when_enabled() -> None:
    cfg = parse(r"""filter { a { b => "x\"y\n\t\\" c => 'q\[' } }""", support_escapes=True)
    plugin = cfg.filters[0]
    assert isinstance(plugin, ast.PluginCall)
    assert [s.value for s in plugin.settings] == [ast.String('x"y\n\t\\'), ast.String("q\\[")]


def test_quoted_names_and_multiple_sections() -> None:
    cfg = parse('filter { "my-plugin" { "odd key" => 1 } } filter { b {} }')
    assert len(cfg.filters) == 2
    first = cfg.filters[0]
    assert isinstance(first, ast.PluginCall)
    assert first.name == "my-plugin"
    assert first.settings[0].key == "odd key"


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("", 1, 1, "expected 'input', 'filter' or 'output' but found end of input"),
        ("filter {", 1, 9, "but found end of input"),
        ("filter { grok { match x } }", 1, 23, "expected '=>' but found 'x'"),
        ("foo {}", 1, 1, "but found 'foo'"),
        ("filter {\n  if [a] == { }\n}", 2, 13, "but found '{'"),
        ('filter { a { b => "open } }', 1, 19, "unterminated string"),
        ('filter { a { b => {"x" => 1 "x" => 2} } }', 1, 29, "duplicate key 'x'"),
        ("filter { a { b => [1,] } }", 1, 22, "but found ']'"),
    ],
)
def test_errors_name_line_column_and_expectation(
    text: str, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert fragment in str(err)
    assert str(err).startswith(f"line {line}, column {column}: ")


def test_error_lists_expected_tokens() -> None:
    with pytest.raises(ConfigError) as info:
        parse("filter { grok { match => } }")
    assert "'['" in info.value.expected
    assert "a string" in info.value.expected


def test_non_string_input_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        parse(b"filter {}")  # type: ignore[arg-type]
