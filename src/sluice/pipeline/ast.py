"""The syntax tree of a Logstash-style pipeline config (pure data, frozen dataclasses).

Produced by :func:`sluice.pipeline.parser.parse`, printed back by
:func:`sluice.pipeline.printer.print_config`, compiled by
:func:`sluice.pipeline.compiler.compile_pipeline`. Positions (1-based line and column of the
node's first character) never take part in equality, so a parsed, printed and re-parsed
tree compares equal to the original.

Values (right-hand sides of ``key => value``): :class:`String`, :class:`Number`,
:class:`Boolean` (the barewords ``true``/``false``), :class:`Bareword`, :class:`Array`,
:class:`Hash` and :class:`PluginCall` (``codec => json { ... }``).

Conditions: :class:`Compare`, :class:`RegexMatch`, :class:`In`, :class:`Not`,
:class:`BoolOp`, :class:`Truthy`, over the right-values :class:`FieldRef`, :class:`String`,
:class:`Number`, :class:`Array` and :class:`Regex`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

__all__ = [
    "NO_POSITION",
    "Array",
    "Bareword",
    "BoolOp",
    "Boolean",
    "Compare",
    "Condition",
    "FieldRef",
    "Hash",
    "HashKey",
    "If",
    "In",
    "Not",
    "Number",
    "PipelineConfig",
    "PluginCall",
    "Position",
    "RValue",
    "Regex",
    "RegexMatch",
    "Section",
    "SectionKind",
    "Setting",
    "Statement",
    "String",
    "Truthy",
    "Value",
]


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in the config text."""

    line: int
    column: int


NO_POSITION = Position(0, 0)
"""The position of nodes built in code rather than parsed."""


@dataclass(frozen=True, slots=True)
class String:
    """A quoted string, after escape processing (if enabled)."""

    value: str


@dataclass(frozen=True, slots=True)
class Number:
    """``-?[0-9]+(.[0-9]*)?``: an ``int`` without a dot, a ``float`` with one."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Boolean:
    """The barewords ``true`` and ``false``."""

    value: bool


@dataclass(frozen=True, slots=True)
class Bareword:
    """An unquoted word such as ``json`` in ``codec => json`` (never ``true``/``false``)."""

    value: str


@dataclass(frozen=True, slots=True)
class Array:
    """``[v1, v2, ...]``."""

    items: tuple[Value, ...]


HashKey: TypeAlias = "String | Number | Bareword"


@dataclass(frozen=True, slots=True)
class Hash:
    """``{ key => value ... }`` (keys unique, order kept)."""

    entries: tuple[tuple[HashKey, Value], ...]


@dataclass(frozen=True, slots=True)
class Setting:
    """One ``key => value`` line of a plugin block."""

    key: str
    value: Value
    position: Position = field(default=NO_POSITION, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PluginCall:
    """``name { settings }``: a plugin in a section, or a codec as a setting value."""

    name: str
    settings: tuple[Setting, ...] = ()
    position: Position = field(default=NO_POSITION, compare=False, repr=False)


Value: TypeAlias = "String | Number | Boolean | Bareword | Array | Hash | PluginCall"


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field reference ``[a][b]`` as its path ``("a", "b")``."""

    path: tuple[str, ...]

    def __str__(self) -> str:
        return "".join(f"[{p}]" for p in self.path)


@dataclass(frozen=True, slots=True)
class Regex:
    """A ``/pattern/`` literal; ``pattern`` is the text between the slashes, as written."""

    pattern: str


RValue: TypeAlias = "FieldRef | String | Number | Array | Regex"

CompareOp = Literal["==", "!=", "<", ">", "<=", ">="]
BoolOperator = Literal["and", "or", "xor", "nand"]


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` for ``== != < > <= >=``."""

    op: CompareOp
    left: RValue
    right: RValue


@dataclass(frozen=True, slots=True)
class RegexMatch:
    """``left =~ /re/`` (``negate=False``) or ``left !~ /re/`` (``negate=True``)."""

    left: RValue
    pattern: Regex | String
    negate: bool = False


@dataclass(frozen=True, slots=True)
class In:
    """``needle in haystack`` or ``needle not in haystack`` (``negate=True``)."""

    needle: RValue
    haystack: RValue
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    """``!(condition)``, or ``![field]`` as ``Not(Truthy(FieldRef))``."""

    operand: Condition


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``left op right`` for ``and or xor nand``."""

    op: BoolOperator
    left: Condition
    right: Condition


@dataclass(frozen=True, slots=True)
class Truthy:
    """A bare right-value used as a condition (``if [field] { ... }``)."""

    value: RValue


Condition: TypeAlias = "Compare | RegexMatch | In | Not | BoolOp | Truthy"


@dataclass(frozen=True, slots=True)
class If:
    """``if c1 {..} else if c2 {..} else {..}``: ``branches`` in order, then ``else_body``."""

    branches: tuple[tuple[Condition, tuple[Statement, ...]], ...]
    else_body: tuple[Statement, ...] | None = None
    position: Position = field(default=NO_POSITION, compare=False, repr=False)


Statement: TypeAlias = "PluginCall | If"

SectionKind = Literal["input", "filter", "output"]


@dataclass(frozen=True, slots=True)
class Section:
    """One ``input {}``, ``filter {}`` or ``output {}`` block."""

    kind: SectionKind
    body: tuple[Statement, ...] = ()
    position: Position = field(default=NO_POSITION, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """A whole config: its sections in text order (a kind may appear several times)."""

    sections: tuple[Section, ...]

    def _of(self, kind: SectionKind) -> tuple[Statement, ...]:
        return tuple(s for sec in self.sections if sec.kind == kind for s in sec.body)

    @property
    def inputs(self) -> tuple[Statement, ...]:
        """The statements of every ``input`` section, concatenated in order."""
        return self._of("input")

    @property
    def filters(self) -> tuple[Statement, ...]:
        """The statements of every ``filter`` section, concatenated in order."""
        return self._of("filter")

    @property
    def outputs(self) -> tuple[Statement, ...]:
        """The statements of every ``output`` section, concatenated in order."""
        return self._of("output")
