"""Grok pattern libraries and the grok-to-RE2 compiler.

Who calls it: :class:`sluice.pipeline.grok.Grok` when a grok filter is built (once per
pipeline, never per batch). A grok expression such as
``%{IPORHOST:clientip} \\[%{HTTPDATE:timestamp}\\] %{INT:code:int}`` becomes one RE2 regex
whose capture groups are all named ``g0``, ``g1``, ...; :class:`CompiledGrok` maps each
group back to its field path and type, so field names like ``[a][b]`` or ``@metadata``
never need to be valid group names.

Rules: ``%{NAME}`` expands to a non-capturing group; ``%{NAME:field}`` and
``%{NAME:field:int|float}`` to a named capture. Named captures inside library patterns
(``SYSLOGPROG`` has ``%{PROG:program}``) are captured too, as in Logstash. Oniguruma named
groups ``(?<field>...)`` in user patterns capture ``field``; plain ``(...)`` groups become
non-capturing. Look-arounds and backreferences do not exist in RE2 and are rejected with a
:class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import re2

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.fields import FieldPath, parse_ref

__all__ = [
    "CompiledGrok",
    "PatternLibrary",
    "builtin_patterns",
    "compile_grok",
    "parse_pattern_text",
]

_REF = re.compile(r"%\{(\w+)(?::([^:{}]+))?(?::(\w+))?\}")
_TYPES = frozenset({"int", "float"})
PatternLibrary = Mapping[str, str]


def parse_pattern_text(text: str, source: str = "<patterns>") -> dict[str, str]:
    """Parse a patterns file: ``NAME regex`` per line, ``#`` comments and blanks ignored."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, _, regex = stripped.partition(" ")
        if not re.fullmatch(r"\w+", name) or not regex.strip():
            raise ConfigError(f"{source}:{lineno}: expected 'NAME regex', found {line!r}")
        out[name] = regex.strip()
    return out


@functools.cache
def builtin_patterns() -> dict[str, str]:
    """Sluice's legacy grok library (``src/sluice/pipeline/patterns/``), by name."""
    out: dict[str, str] = {}
    folder = resources.files("sluice.pipeline").joinpath("patterns")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_file() and not entry.name.startswith("."):
            out.update(parse_pattern_text(entry.read_text("utf-8"), entry.name))
    return out


def load_patterns_dirs(dirs: Iterable[str], glob: str = "*") -> dict[str, str]:
    """Read every file matching ``glob`` in ``dirs`` (Logstash ``patterns_dir``)."""
    out: dict[str, str] = {}
    for d in dirs:
        folder = Path(d)
        if not folder.is_dir():
            raise ConfigError(f"patterns_dir {d!r} is not a directory")
        for path in sorted(folder.glob(glob)):
            if path.is_file():
                out.update(parse_pattern_text(path.read_text("utf-8"), str(path)))
    return out


@dataclass(frozen=True, slots=True)
class Capture:
    """One named group: ``group`` is the RE2 name, ``path`` the field, ``type`` a cast."""

    group: str
    path: FieldPath
    type: str | None


@dataclass(frozen=True, slots=True)
class CompiledGrok:
    """A grok expression compiled to RE2 (``regex``) with its captures in group order."""

    source: str
    regex: str
    captures: tuple[Capture, ...]


class _Compiler:
    def __init__(self, library: PatternLibrary, named_only: bool) -> None:
        self.library = library
        self.named_only = named_only
        self.captures: list[Capture] = []

    def capture(self, field: str, type_: str | None) -> str:
        try:
            path = parse_ref(field)
        except ConfigError as exc:
            raise ConfigError(f"bad capture name {field!r}: {exc.reason}") from None
        group = f"g{len(self.captures)}"
        self.captures.append(Capture(group, path, type_))
        return group

    def expand(self, pattern: str, stack: tuple[str, ...]) -> str:
        out: list[str] = []
        pos = 0
        for m in _REF.finditer(pattern):
            out.append(self.regex_part(pattern[pos : m.start()]))
            pos = m.end()
            name, field, type_ = m.group(1), m.group(2), m.group(3)
            if name not in self.library:
                close = difflib.get_close_matches(name, list(self.library), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(f"unknown grok pattern %{{{name}}}{hint}", expected=close)
            if name in stack:
                chain = " -> ".join((*stack, name))
                raise ConfigError(f"grok pattern %{{{name}}} refers to itself: {chain}")
            if type_ is not None and type_ not in _TYPES:
                raise ConfigError(
                    f"unknown grok type {type_!r} in %{{{m.group(0)[2:-1]}}}",
                    expected=sorted(_TYPES),
                )
            inner = self.expand(self.library[name], (*stack, name))
            if field is None and not self.named_only:
                field = name
            if field is None:
                out.append(f"(?:{inner})")
            else:
                out.append(f"(?P<{self.capture(field, type_)}>{inner})")
        out.append(self.regex_part(pattern[pos:]))
        return "".join(out)

    def regex_part(self, text: str) -> str:
        """Rewrite raw regex text: named groups get ``gN`` names, plain groups lose capture."""
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if ch == "\\":
                nxt = text[i + 1 : i + 2]
                if nxt.isdigit() and nxt != "0":
                    raise ConfigError(f"backreference \\{nxt} is not supported by RE2")
                out.append(text[i : i + 2])
                i += 2
            elif ch == "[":
                j = i + 1
                if j < n and text[j] == "^":
                    j += 1
                if j < n and text[j] == "]":
                    j += 1
                while j < n and text[j] != "]":
                    j += 2 if text[j] == "\\" else 1
                out.append(text[i : j + 1])
                i = j + 1
            elif ch == "(" and text.startswith("(?", i):
                m = re.match(r"\(\?(?:P?<([A-Za-z_@\[\]][^>]*)>)", text[i:])
                if m and not text.startswith(("(?<=", "(?<!"), i):
                    out.append(f"(?P<{self.capture(m.group(1), None)}>")
                    i += m.end()
                elif text.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                    raise ConfigError(f"look-around {text[i : i + 4]!r}... is not supported by RE2")
                elif text.startswith("(?>", i):
                    out.append("(?:")
                    i += 3
                else:
                    out.append("(?")
                    i += 2
            elif ch == "(":
                out.append("(?:")
                i += 1
            else:
                out.append(ch)
                i += 1
        return "".join(out)


def _quiet() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


def compile_grok(
    pattern: str, library: PatternLibrary | None = None, *, named_captures_only: bool = True
) -> CompiledGrok:
    """Compile one grok expression against ``library`` (the built-in set by default).

    Raises:
        ConfigError: unknown pattern, recursion, unsupported construct, or RE2 rejection.
    """
    lib = builtin_patterns() if library is None else library
    compiler = _Compiler(lib, named_captures_only)
    regex = compiler.expand(pattern, ())
    try:
        re2.compile(regex, _quiet())
    except re2.error as exc:
        raise ConfigError(f"grok pattern {pattern!r} is not valid RE2: {exc}") from None
    return CompiledGrok(pattern, regex, tuple(compiler.captures))
