"""Parse Logstash pipeline config text into the :mod:`sluice.pipeline.ast` tree.

Who calls it: the compiler (:func:`sluice.pipeline.compiler.compile_pipeline`), the CLI
(``sluice pipeline run FILE``) and the API when a pipeline is submitted. The parser is a
lark LALR(1) parser (``grammar.lark``); every syntax problem, and every semantic problem
the tree itself shows (duplicate hash keys), raises :class:`ConfigError` with the line, the
column and what was expected. No other exception escapes :func:`parse`.

Strings: by default a backslash is kept literally, as Logstash does unless
``config.support_escapes`` is set (``\\"`` only keeps a double-quoted string open). With
``support_escapes=True``, ``\\\\ \\" \\' \\n \\r \\t \\0`` are unescaped; other backslash
pairs stay as written (as in Logstash).

Boolean operators: ``and`` and ``nand`` bind tighter than ``or`` and ``xor``; operators of
one level associate to the left. Parentheses group.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar, cast

import lark
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from sluice.pipeline import ast
from sluice.pipeline.errors import ConfigError

__all__ = ["parse", "parse_condition"]

# Lark evaluates grammar regexps as Python string literals (and drops a backslash before a
# double quote), so each regex backslash below is doubled and a quote after one is \x22.
_RAW_DQ = r"(?:\\\x22|[^\x22])*"
_RAW_SQ = r"(?:\\'|[^'])*"
_ESC_DQ = r"(?:\\[\s\S]|[^\x22\\])*"
_ESC_SQ = r"(?:\\[\s\S]|[^'\\])*"
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t", "0": "\0"}
_ESCAPE_RE = re.compile(r"\\(.)", re.S)
_T = TypeVar("_T")
_PRECEDENCE = {"and": 2, "nand": 2, "or": 1, "xor": 1}

# Friendly names for the regex terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "SECTION_KIND": "'input', 'filter' or 'output'",
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING_DQ": "a string",
    "STRING_SQ": "a string",
    "FIELDREF": "a field reference",
    "REGEX": "a /regex/",
    "BOOL_OP": "'and', 'or', 'xor' or 'nand'",
    "COMPARE_OP": "a comparison operator",
    "REGEX_OP": "'=~' or '!~'",
    "$END": "end of input",
}


@functools.cache
def _parser(support_escapes: bool, start: str) -> Lark:
    text = resources.files("sluice.pipeline").joinpath("grammar.lark").read_text("utf-8")
    dq, sq = (_ESC_DQ, _ESC_SQ) if support_escapes else (_RAW_DQ, _RAW_SQ)
    text = text.replace("DQ_BODY", dq).replace("SQ_BODY", sq)
    return Lark(
        text,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        start=start,
    )


def parse(text: str, *, support_escapes: bool = False) -> ast.PipelineConfig:
    """Parse a whole config (one or more ``input``/``filter``/``output`` sections).

    Raises:
        ConfigError: for any syntax error, positioned, naming what was expected.
    """
    tree = _run(text, support_escapes, "start")
    builder = _Builder(support_escapes)
    return _guard(lambda: builder.config(tree))


def parse_condition(text: str, *, support_escapes: bool = False) -> ast.Condition:
    """Parse the text of one condition, e.g. ``[status] >= 500 and "x" in [tags]``."""
    tree = _run(text, support_escapes, "condition")
    builder = _Builder(support_escapes)
    return _guard(lambda: builder.condition(tree))


def _guard(build: Callable[[], _T]) -> _T:
    try:
        return build()
    except RecursionError:
        raise ConfigError("the config is nested too deeply", 1, 1) from None


def _run(text: str, support_escapes: bool, start: str) -> Tree[Token]:
    if not isinstance(text, str):
        raise ConfigError(f"config text must be a str, not {type(text).__name__}")
    parser = _parser(support_escapes, start)
    try:
        return parser.parse(text)
    except UnexpectedInput as exc:
        raise _translate(exc, text, parser) from None
    except RecursionError:
        raise ConfigError("the config is nested too deeply", 1, 1) from None


def _describe(names: set[str] | frozenset[str], parser: Lark) -> list[str]:
    out: set[str] = set()
    for name in names:
        if name in _TERMINAL_NAMES:
            out.add(_TERMINAL_NAMES[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            out.add(name.lower())
            continue
        if isinstance(pattern, lark.lexer.PatternStr):
            out.add(repr(pattern.value))
        else:
            out.add(name.lower())
    return sorted(out)


def _end_position(text: str) -> tuple[int, int]:
    line = text.count("\n") + 1
    return line, len(text) - (text.rfind("\n") + 1) + 1


def _translate(exc: UnexpectedInput, text: str, parser: Lark) -> ConfigError:
    if isinstance(exc, UnexpectedCharacters):
        expected = _describe(exc.allowed or set(), parser)
        pos = exc.pos_in_stream or 0
        found = repr(text[pos]) if pos < len(text) else "end of input"
        if found in ("'\"'", '"\'"'):
            found += " (an unterminated string?)"
        line, column = exc.line, exc.column
    elif isinstance(exc, UnexpectedToken):
        expected = _describe(exc.accepts or exc.expected, parser)
        token = exc.token
        if token.type == "$END":
            found = "end of input"
            line, column = _end_position(text)
        else:
            found = repr(str(token))
            line, column = exc.line, exc.column
    elif isinstance(exc, UnexpectedEOF):
        expected = _describe(set(exc.expected), parser)
        found = "end of input"
        line, column = _end_position(text)
    else:  # pragma: no cover - lark has no other UnexpectedInput kinds
        return ConfigError(str(exc), 1, 1)
    what = "expected " + (expected[0] if len(expected) == 1 else "one of " + ", ".join(expected))
    return ConfigError(f"{what} but found {found}", max(line, 1), max(column, 1), expected)


def _position(node: Tree[Token] | Token) -> ast.Position:
    if isinstance(node, Token):
        return ast.Position(node.line or 0, node.column or 0)
    meta = node.meta
    return ast.Position(getattr(meta, "line", 0), getattr(meta, "column", 0))


class _Builder:
    """Walks the lark tree and builds AST nodes."""

    def __init__(self, support_escapes: bool) -> None:
        self.support_escapes = support_escapes

    def config(self, tree: Tree[Token]) -> ast.PipelineConfig:
        sections = []
        for sec in tree.children:
            sec = cast("Tree[Token]", sec)
            kind = cast("ast.SectionKind", str(sec.children[0]))
            body = self.body(sec.children[1:])
            sections.append(ast.Section(kind, body, _position(sec)))
        return ast.PipelineConfig(tuple(sections))

    def body(self, children: list[Any]) -> tuple[ast.Statement, ...]:
        out: list[ast.Statement] = []
        for child in children:
            if child.data == "plugin":
                out.append(self.plugin(child))
            else:
                out.append(self.branch(child))
        return tuple(out)

    def plugin(self, tree: Tree[Token]) -> ast.PluginCall:
        name_node = cast("Tree[Token]", tree.children[0])
        settings = tuple(self.setting(cast("Tree[Token]", c)) for c in tree.children[1:])
        return ast.PluginCall(self.name(name_node), settings, _position(tree))

    def name(self, tree: Tree[Token]) -> str:
        child = tree.children[0]
        if isinstance(child, Tree):
            return self.string(child).value
        return str(child)

    def setting(self, tree: Tree[Token]) -> ast.Setting:
        key = self.name(cast("Tree[Token]", tree.children[0]))
        return ast.Setting(key, self.value(tree.children[1]), _position(tree))

    def value(self, node: Tree[Token] | Token) -> ast.Value:
        if isinstance(node, Token):  # pragma: no cover - every value is wrapped in a rule
            raise ConfigError(f"unexpected {node!r}", node.line or 1, node.column or 1)
        kind = node.data
        if kind == "string":
            return self.string(node)
        if kind == "number":
            return self.number(node)
        if kind == "bareword":
            word = str(node.children[0])
            if word in ("true", "false"):
                return ast.Boolean(word == "true")
            return ast.Bareword(word)
        if kind == "array":
            items = [c for c in node.children if c is not None]
            return ast.Array(tuple(self.value(c) for c in items))
        if kind == "hash":
            return self.hash(node)
        if kind == "value_plugin":
            settings = tuple(self.setting(cast("Tree[Token]", c)) for c in node.children[1:])
            return ast.PluginCall(str(node.children[0]), settings, _position(node))
        raise ConfigError(f"unexpected {kind}", *_line_col(node))  # pragma: no cover

    def hash(self, node: Tree[Token]) -> ast.Hash:
        entries: list[tuple[ast.HashKey, ast.Value]] = []
        seen: dict[ast.HashKey, ast.Position] = {}
        for entry in node.children:
            entry = cast("Tree[Token]", entry)
            key = cast("ast.HashKey", self.value(entry.children[0]))
            if isinstance(key, ast.Boolean):
                key = ast.Bareword("true" if key.value else "false")
            if key in seen:
                raise ConfigError(f"duplicate key {_key_text(key)!r} in hash", *_line_col(entry))
            seen[key] = _position(entry)
            entries.append((key, self.value(entry.children[1])))
        return ast.Hash(tuple(entries))

    def string(self, node: Tree[Token]) -> ast.String:
        raw = str(node.children[0])[1:-1]
        if self.support_escapes:
            raw = _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw)
        return ast.String(raw)

    def number(self, node: Tree[Token]) -> ast.Number:
        text = str(node.children[0])
        return ast.Number(float(text) if "." in text else int(text))

    def branch(self, tree: Tree[Token]) -> ast.If:
        branches: list[tuple[ast.Condition, tuple[ast.Statement, ...]]] = []
        else_body: tuple[ast.Statement, ...] | None = None
        for clause in tree.children:
            if clause is None:
                continue
            clause = cast("Tree[Token]", clause)
            if clause.data == "else_clause":
                else_body = self.body(clause.children)
            else:
                cond = self.condition(cast("Tree[Token]", clause.children[0]))
                branches.append((cond, self.body(clause.children[1:])))
        return ast.If(tuple(branches), else_body, _position(tree))

    def condition(self, tree: Tree[Token]) -> ast.Condition:
        operands: list[ast.Condition] = [self.expression(tree.children[0])]
        ops: list[str] = []
        for i in range(1, len(tree.children), 2):
            ops.append(str(tree.children[i]))
            operands.append(self.expression(tree.children[i + 1]))
        return _fold(operands, ops)

    def expression(self, node: Any) -> ast.Condition:
        if isinstance(node, Token) or (node.data != "condition" and node.data not in _EXPR):
            return ast.Truthy(self.rvalue(node))
        kind = node.data
        ch = node.children
        if kind == "condition":
            return self.condition(node)
        if kind == "not_cond":
            return ast.Not(self.condition(ch[0]))
        if kind == "not_field":
            return ast.Not(ast.Truthy(_fieldref(ch[0])))
        if kind in ("in_expr", "not_in_expr"):
            return ast.In(self.rvalue(ch[0]), self.rvalue(ch[-1]), kind == "not_in_expr")
        if kind == "compare":
            op = cast("ast.CompareOp", str(ch[1]))
            return ast.Compare(op, self.rvalue(ch[0]), self.rvalue(ch[2]))
        if kind == "regex_match":
            pattern = self.rvalue(ch[2])
            assert isinstance(pattern, ast.Regex | ast.String)
            return ast.RegexMatch(self.rvalue(ch[0]), pattern, str(ch[1]) == "!~")
        return ast.Truthy(self.rvalue(ch[0]))  # truthy

    def rvalue(self, node: Any) -> ast.RValue:
        if isinstance(node, Token):
            if node.type == "REGEX":
                return ast.Regex(str(node)[1:-1])
            return _fieldref(node)  # pragma: no cover - FIELDREF is wrapped
        if node.data == "fieldref":
            return _fieldref(node.children[0])
        if node.data == "carray":
            items = [c for c in node.children if c is not None]
            return ast.Array(tuple(cast("ast.Value", self.rvalue(c)) for c in items))
        if node.data == "cstring":
            return self.string(node)
        return self.number(node)


_EXPR = frozenset(
    {"not_cond", "not_field", "in_expr", "not_in_expr", "compare", "regex_match", "truthy"}
)


def _fieldref(token: Token) -> ast.FieldRef:
    return ast.FieldRef(tuple(re.findall(r"\[([^\[\],]+)\]", str(token))))


def _line_col(node: Tree[Token]) -> tuple[int, int]:
    pos = _position(node)
    return max(pos.line, 1), max(pos.column, 1)


def _key_text(key: ast.HashKey) -> str:
    return str(key.value)


def _fold(operands: list[ast.Condition], ops: list[str]) -> ast.Condition:
    """Shunting-yard over ``a op b op c``: and/nand before or/xor, left-associative."""
    out: list[ast.Condition] = [operands[0]]
    stack: list[str] = []

    def reduce() -> None:
        op = stack.pop()
        right, left = out.pop(), out.pop()
        out.append(ast.BoolOp(cast("ast.BoolOperator", op), left, right))

    for op, operand in zip(ops, operands[1:], strict=True):
        while stack and _PRECEDENCE[stack[-1]] >= _PRECEDENCE[op]:
            reduce()
        stack.append(op)
        out.append(operand)
    while stack:
        reduce()
    return out[0]
