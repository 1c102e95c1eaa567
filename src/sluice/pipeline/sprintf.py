"""Logstash ``sprintf`` strings (``"%{host}-%{+YYYY.MM.dd}"``) rendered for a whole batch.

Who calls it: the common filter options (``add_field``, ``add_tag``, ...), outputs with
templated settings (``index => "logs-%{+YYYY.MM.dd}"``, ``path => "/x/%{type}.log"``).
Compile once with :func:`compile_sprintf`, then :meth:`Sprintf.render` returns one string
per row.

References:

- ``%{field}``, ``%{[a][b]}``: the field's value; strings as-is, integers and booleans as
  text, floats as Ruby prints them (``1.0``), arrays joined with ``,``, objects as JSON.
  A row where the field is absent keeps the reference text literally (``%{field}``).
- ``%{+FORMAT}``: ``@timestamp`` formatted with a Joda-Time pattern, in UTC
  (``%{+YYYY.MM.dd}``, ``%{+HH:mm:ss.SSS}``, ``%{+EEE, dd MMM yyyy}``); ``%{+%s}`` is epoch
  seconds. ``%{{FORMAT}}`` (Java ``DateTimeFormatter``) uses the same letters.
  ``@timestamp`` may be a timestamp column, ISO-8601 strings, or epoch milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.fields import FieldPath, get, parse_ref

__all__ = ["Sprintf", "compile_sprintf", "format_timestamp"]

_REF = re.compile(r"%\{\{([^}]*)\}\}|%\{([^}]*)\}")
_JODA = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True, slots=True)
class _Part:
    literal: str | None = None
    path: FieldPath | None = None
    date: str | None = None
    raw: str = ""


def _text(arr: pa.Array) -> pa.Array:
    """Each value as sprintf prints it (null stays null)."""
    t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if pa.types.is_boolean(t):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return arr.cast(pa.string())
    if pa.types.is_floating(t):
        text = arr.cast(pa.float64()).cast(pa.string())
        whole = pc.and_(pc.is_finite(arr), pc.equal(arr, pc.floor(arr))).fill_null(False)
        plain = pc.invert(pc.match_substring(text, "e")).fill_null(False)
        return pc.if_else(pc.and_(whole, plain), pc.binary_join_element_wise(text, ".0", ""), text)
    if pa.types.is_timestamp(t):
        return format_timestamp(arr, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
    is_list = pa.types.is_list(t) or pa.types.is_large_list(t)
    if is_list and (pa.types.is_string(t.value_type) or pa.types.is_integer(t.value_type)):
        return pc.binary_join(arr.cast(pa.list_(pa.string())), ",")
    values = [None if v is None else _plain(v) for v in arr.to_pylist()]
    return pa.array(values, pa.string())


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ",".join(_plain(v) for v in value)
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_NAIVE_UTC).decode()


def _timestamps(arr: pa.Array) -> pa.Array:
    """A naive UTC ``timestamp[ms]`` view of an ``@timestamp`` column."""
    t = arr.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            arr = arr.cast(pa.timestamp(t.unit, "UTC"))
        return pc.cast(arr, pa.timestamp("ms", "UTC"), safe=False).cast(pa.timestamp("ms"))
    if pa.types.is_integer(t):
        return arr.cast(pa.int64()).cast(pa.timestamp("ms"))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        try:
            return arr.cast(pa.timestamp("ms", "UTC")).cast(pa.timestamp("ms"))
        except pa.ArrowInvalid:
            return pa.nulls(len(arr), pa.timestamp("ms"))
    return pa.nulls(len(arr), pa.timestamp("ms"))


def _pad(values: pa.Array, width: int) -> pa.Array:
    text = values.cast(pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width > 1 else text


def _name(index: pa.Array, names: list[str], width: int) -> pa.Array:
    table = pa.array(names if width >= 4 else [n[:3] for n in names])
    return pc.take(table, index)


_Token = Callable[[pa.Array, int], pa.Array]
_TOKENS: dict[str, _Token] = {
    "y": lambda ts, w: (
        pc.utf8_slice_codeunits(_pad(pc.year(ts), 4), 2) if w == 2 else _pad(pc.year(ts), w)
    ),
    "M": lambda ts, w: (
        _name(pc.subtract(pc.month(ts), 1), _MONTHS, w) if w >= 3 else _pad(pc.month(ts), w)
    ),
    "d": lambda ts, w: _pad(pc.day(ts), w),
    "D": lambda ts, w: _pad(pc.day_of_year(ts), w),
    "H": lambda ts, w: _pad(pc.hour(ts), w),
    "k": lambda ts, w: _pad(pc.if_else(pc.equal(pc.hour(ts), 0), 24, pc.hour(ts)), w),
    "h": lambda ts, w: _pad(
        pc.if_else(
            pc.equal(pc.hour(ts), 0),
            12,
            pc.if_else(pc.greater(pc.hour(ts), 12), pc.subtract(pc.hour(ts), 12), pc.hour(ts)),
        ),
        w,
    ),
    "K": lambda ts, w: _pad(
        pc.if_else(pc.greater_equal(pc.hour(ts), 12), pc.subtract(pc.hour(ts), 12), pc.hour(ts)), w
    ),
    "m": lambda ts, w: _pad(pc.minute(ts), w),
    "s": lambda ts, w: _pad(pc.second(ts), w),
    "S": lambda ts, w: pc.utf8_rpad(
        pc.utf8_slice_codeunits(_pad(pc.millisecond(ts), 3), 0, w), width=w, padding="0"
    ),
    "E": lambda ts, w: _name(pc.day_of_week(ts), _DAYS, w),
    "e": lambda ts, w: _pad(pc.add(pc.day_of_week(ts), 1), w),
    "a": lambda ts, w: pc.if_else(pc.less(pc.hour(ts), 12), "AM", "PM"),
    "w": lambda ts, w: _pad(pc.iso_week(ts), w),
    "x": lambda ts, w: _pad(pc.iso_year(ts), w),
    "Z": lambda ts, w: pa.nulls(len(ts), pa.string()).fill_null("+00:00" if w == 2 else "+0000"),
    "z": lambda ts, w: pa.nulls(len(ts), pa.string()).fill_null("UTC"),
}
_TOKENS["Y"] = _TOKENS["y"]  # Joda: year of era; Logstash configs use YYYY for the year
_TOKENS["u"] = _TOKENS["y"]


def format_timestamp(ts: pa.Array, pattern: str) -> pa.Array:
    """Format timestamps (any Arrow timestamp, ISO strings or epoch ms) with a Joda pattern,
    in UTC. Raises :class:`ConfigError` for a pattern letter Sluice does not support."""
    ts = _timestamps(ts)
    n = len(ts)
    if pattern == "%s":
        return pc.divide(ts.cast(pa.int64()), 1000).cast(pa.string())
    parts: list[pa.Array | str] = []
    for m in _JODA.finditer(pattern):
        text = m.group(0)
        if text.startswith("'"):
            parts.append(text[1:-1].replace("''", "'") if text != "''" else "'")
        elif m.group(1):
            letter = m.group(1)
            if letter not in _TOKENS:
                raise ConfigError(
                    f"unsupported date pattern letter {letter!r} in {pattern!r}",
                    expected=sorted(_TOKENS),
                )
            parts.append(_TOKENS[letter](ts, len(text)))
        else:
            parts.append(text)
    if not parts:
        return pa.nulls(n, pa.string()).fill_null("")
    arrays = [
        p if isinstance(p, pa.Array) else pa.nulls(n, pa.string()).fill_null(p) for p in parts
    ]
    return pc.binary_join_element_wise(*arrays, "")


class Sprintf:
    """A compiled sprintf template. ``render(table)`` gives one string per row."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.parts: list[_Part] = []
        pos = 0
        for m in _REF.finditer(template):
            if m.start() > pos:
                self.parts.append(_Part(literal=template[pos : m.start()]))
            pos = m.end()
            if m.group(1) is not None:
                self.parts.append(_Part(date=m.group(1), raw=m.group(0)))
                format_timestamp(pa.array([0], pa.int64()), m.group(1))  # validate now
            elif m.group(2).startswith("+"):
                self.parts.append(_Part(date=m.group(2)[1:], raw=m.group(0)))
                format_timestamp(pa.array([0], pa.int64()), m.group(2)[1:])
            else:
                self.parts.append(_Part(path=parse_ref(m.group(2)), raw=m.group(0)))
        if pos < len(template):
            self.parts.append(_Part(literal=template[pos:]))

    @property
    def is_constant(self) -> bool:
        """True when the template has no ``%{...}`` reference."""
        return all(p.literal is not None for p in self.parts)

    @property
    def fields(self) -> frozenset[str] | None:
        """The top-level fields the template reads (a date reads ``@timestamp``), or
        ``None`` when it reads the whole event."""
        names: set[str] = set()
        for part in self.parts:
            if part.date is not None:
                names.add("@timestamp")
            elif part.path is not None:
                if not part.path:
                    return None
                names.add(part.path[0])
        return frozenset(names)

    def render(self, table: pa.Table) -> pa.Array:
        """The template for every row of ``table`` (absent references stay literal)."""
        n = table.num_rows
        arrays: list[pa.Array] = []
        for part in self.parts:
            if part.literal is not None:
                arrays.append(pa.nulls(n, pa.string()).fill_null(part.literal))
                continue
            if part.date is not None:
                ts = get(table, ("@timestamp",))
                value = None if ts is None else format_timestamp(ts, part.date)
            else:
                assert part.path is not None
                arr = get(table, part.path)
                value = None if arr is None else _text(arr)
            arrays.append(
                pa.nulls(n, pa.string()).fill_null(part.raw)
                if value is None
                else value.fill_null(part.raw)
            )
        if not arrays:
            return pa.nulls(n, pa.string()).fill_null("")
        if len(arrays) == 1:
            return arrays[0]
        return pc.binary_join_element_wise(*arrays, "")


def compile_sprintf(template: str) -> Sprintf:
    """Compile ``template``; raises :class:`ConfigError` for a bad field reference or an
    unsupported date pattern letter."""
    return Sprintf(template)
