"""Print a :mod:`sluice.pipeline.ast` tree back to canonical config text.

Who calls it: the API and CLI (to show a normalised pipeline) and the round-trip tests.
The contract: ``parse(print_config(cfg, support_escapes=e), support_escapes=e) == cfg`` for
every tree the parser can produce. A tree that no text can express (say a raw-mode string
holding both an unescaped ``"`` and ``'``) raises :class:`ValueError` naming the node.

Canonical form: two-space indentation, one setting per line, strings double-quoted when
possible, boolean sub-conditions parenthesised.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sluice.pipeline import ast

__all__ = ["print_condition", "print_config", "print_value"]

_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]*)?")
_KEYWORDS = frozenset({"if", "else", "input", "filter", "output", "true", "false"})
_FIELD_RE = re.compile(r"[^\[\],]+")
_FIELDREF_RE = re.compile(r"\[[^\[\],]+\]")
_ESCAPE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def print_config(config: ast.PipelineConfig, *, support_escapes: bool = False) -> str:
    """Return the canonical text of a whole config."""
    p = _Printer(support_escapes)
    for section in config.sections:
        p.block(section.kind, section.body, 0)
    return "".join(p.out)


def print_value(value: ast.Value, *, support_escapes: bool = False) -> str:
    """Return the text of one setting value (a plugin value spans several lines)."""
    p = _Printer(support_escapes)
    p.out.append(p.value(value, 0))
    return "".join(p.out)


def print_condition(cond: ast.Condition, *, support_escapes: bool = False) -> str:
    """Return the text of one condition."""
    return _Printer(support_escapes).condition(cond)


def _quote_raw(value: str) -> str | None:
    for q in ('"', "'"):
        ok = not value.endswith("\\") and all(
            i > 0 and value[i - 1] == "\\" for i, ch in enumerate(value) if ch == q
        )
        if ok:
            return q + value + q
    return None


class _Printer:
    def __init__(self, support_escapes: bool) -> None:
        self.esc = support_escapes
        self.out: list[str] = []

    def line(self, depth: int, text: str) -> None:
        self.out.append("  " * depth + text + "\n")

    def block(self, head: str, body: tuple[ast.Statement, ...], depth: int) -> None:
        if not body:
            self.line(depth, head + " {}")
            return
        self.line(depth, head + " {")
        self.statements(body, depth + 1)
        self.line(depth, "}")

    def statements(self, body: tuple[ast.Statement, ...], depth: int) -> None:
        for stmt in body:
            if isinstance(stmt, ast.If):
                self.branch(stmt, depth)
            else:
                self.out.append("  " * depth + self.plugin(stmt, depth) + "\n")

    def branch(self, node: ast.If, depth: int) -> None:
        if not node.branches:
            raise ValueError("an if statement needs at least one branch")
        for i, (cond, body) in enumerate(node.branches):
            head = ("if " if i == 0 else "} else if ") + self.condition(cond) + " {"
            self.line(depth, head)
            self.statements(body, depth + 1)
        if node.else_body is not None:
            self.line(depth, "} else {")
            self.statements(node.else_body, depth + 1)
        self.line(depth, "}")

    def plugin(self, node: ast.PluginCall, depth: int) -> str:
        name = self.name(node.name)
        if not node.settings:
            return name + " {}"
        inner = "  " * (depth + 1)
        lines = [name + " {"]
        for s in node.settings:
            lines.append(f"{inner}{self.name(s.key)} => {self.value(s.value, depth + 1)}")
        lines.append("  " * depth + "}")
        return "\n".join(lines)

    def name(self, name: str) -> str:
        # A name starting like a number is quoted: where a number may also follow (after a
        # hash value) the lexer reads the digits as a number.
        if _NAME_RE.fullmatch(name) and name not in _KEYWORDS and not _NUMBER_RE.match(name):
            return name
        return self.string(name)

    def string(self, value: str) -> str:
        if self.esc:
            return '"' + "".join(_ESCAPE.get(ch, ch) for ch in value) + '"'
        quoted = _quote_raw(value)
        if quoted is None:
            raise ValueError(f"string {value!r} cannot be written without escapes")
        return quoted

    def number(self, value: int | float) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"not a number: {value!r}")
        if isinstance(value, int):
            return str(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"number {value!r} cannot be written in a config")
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"

    def value(self, value: ast.Value, depth: int) -> str:
        if isinstance(value, ast.String):
            return self.string(value.value)
        if isinstance(value, ast.Number):
            return self.number(value.value)
        if isinstance(value, ast.Boolean):
            return "true" if value.value else "false"
        if isinstance(value, ast.Bareword):
            word = value.value
            if not _NAME_RE.fullmatch(word) or _NUMBER_RE.match(word) or word in _KEYWORDS:
                raise ValueError(f"bareword {word!r} cannot be written unquoted")
            return word
        if isinstance(value, ast.Array):
            for item in value.items:
                if isinstance(item, ast.PluginCall):
                    raise ValueError("a plugin cannot be an array item")
            return "[" + ", ".join(self.value(v, depth) for v in value.items) + "]"
        if isinstance(value, ast.Hash):
            return self.hash(value, depth)
        if isinstance(value, ast.PluginCall):
            self.value(ast.Bareword(value.name), depth)  # the name must be a bareword
            return self.plugin(value, depth)
        raise ValueError(f"not a value: {value!r}")

    def hash(self, value: ast.Hash, depth: int) -> str:
        if not value.entries:
            return "{}"
        inner = "  " * (depth + 1)
        lines = ["{"]
        for key, item in value.entries:
            if not isinstance(key, ast.String | ast.Number | ast.Bareword):
                raise ValueError(f"a hash key must be a string, number or bareword: {key!r}")
            lines.append(f"{inner}{self.value(key, depth + 1)} => {self.value(item, depth + 1)}")
        lines.append("  " * depth + "}")
        return "\n".join(lines)

    # conditions -----------------------------------------------------------------------

    def condition(self, cond: ast.Condition) -> str:
        if isinstance(cond, ast.BoolOp):
            return f"{self.operand(cond.left)} {cond.op} {self.operand(cond.right)}"
        if isinstance(cond, ast.Not):
            inner = cond.operand
            if isinstance(inner, ast.Truthy) and isinstance(inner.value, ast.FieldRef):
                return "!" + self.rvalue(inner.value)
            return "!(" + self.condition(inner) + ")"
        if isinstance(cond, ast.Compare):
            return f"{self.rvalue(cond.left)} {cond.op} {self.rvalue(cond.right)}"
        if isinstance(cond, ast.RegexMatch):
            op = "!~" if cond.negate else "=~"
            return f"{self.rvalue(cond.left)} {op} {self.rvalue(cond.pattern)}"
        if isinstance(cond, ast.In):
            op = "not in" if cond.negate else "in"
            return f"{self.rvalue(cond.needle)} {op} {self.rvalue(cond.haystack)}"
        if isinstance(cond, ast.Truthy):
            return self.rvalue(cond.value)
        raise ValueError(f"not a condition: {cond!r}")

    def operand(self, cond: ast.Condition) -> str:
        text = self.condition(cond)
        return f"({text})" if isinstance(cond, ast.BoolOp) else text

    def rvalue(self, value: ast.RValue) -> str:
        if isinstance(value, ast.FieldRef):
            if not value.path or not all(_FIELD_RE.fullmatch(p) for p in value.path):
                raise ValueError(f"field reference {value.path!r} cannot be written")
            return str(value)
        if isinstance(value, ast.Regex):
            pat = value.pattern
            if pat.endswith("\\") or any(
                ch == "/" and (i == 0 or pat[i - 1] != "\\") for i, ch in enumerate(pat)
            ):
                raise ValueError(f"regex {pat!r} cannot be written between slashes")
            return "/" + pat + "/"
        if isinstance(value, ast.Array):
            if len(value.items) == 1:
                raise ValueError("a one-item array in a condition reads as a field reference")
            items = []
            for item in value.items:
                if not isinstance(item, ast.String | ast.Number):
                    raise ValueError(f"condition arrays hold strings and numbers: {item!r}")
                items.append(self.value(item, 0))
            text = "[" + ", ".join(items) + "]"
            if _FIELDREF_RE.match(text):  # e.g. ["a]", 1]: Logstash reads a field reference
                raise ValueError(f"condition array {text} would read as a field reference")
            return text
        if isinstance(value, ast.String):
            return self.string(value.value)
        if isinstance(value, ast.Number):
            return self.number(value.value)
        raise ValueError(f"not a right-value: {value!r}")
