"""``mutate { gsub => [...] }``: replace every match of an RE2 pattern in string columns.

Who calls it: :mod:`sluice.plugins.filters.mutate` builds one :func:`gsub_fn` per
``(field, regex, replacement)`` triple when the kernel is built and applies it to a string
column (or the items of a list of strings) on each batch.

The reference semantics are those of ``pyarrow.compute.replace_substring_regex`` (RE2 global
replacement: matches found left to right, non-overlapping; ``^``/``$`` anchor at the start
and end of the whole value; ``\\1`` in the replacement is a group). Running RE2 over every
value is the expensive part of a typical Logstash config such as the W2 benchmark's
``gsub => [ "agent", "^\\"|\\"$", "" ]`` (unquoting a grok ``QS`` capture), so patterns that
are plain literals take kernels that give the same result without a regex:

- ``^A|B$`` (in that order), ``^A`` and ``B$``, with ``A``/``B`` non-empty literals: a value
  starting with ``A`` loses it, then what is left loses a trailing ``B``; the replacement
  is put where each was. This is what the regex does: its only match at position 0 can be
  ``^A`` (``B$`` there would need the whole value to be ``B``, which the order of the
  alternatives tries second), and ``B$`` then matches only at the end of what ``^A`` did
  not consume;
- ``A`` alone (unanchored literal): ``replace_substring`` (same left-to-right,
  non-overlapping scan).

A literal is made of characters other than RE2's metacharacters ``\\.+*?()|[]{}^$``, and of
``\\`` followed by ASCII punctuation (an escaped literal). The fast paths apply only when the
replacement has no ``\\`` (then it is literal text for RE2 too); everything else runs RE2.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.errors import ConfigError

__all__ = ["LiteralPlan", "gsub_fn", "literal_plan", "regex_gsub"]

_META = frozenset("\\.+*?()|[]{}^$")
_ESCAPABLE = frozenset(string.punctuation)


@dataclass(frozen=True, slots=True)
class LiteralPlan:
    """A pattern the literal kernels can apply: ``^prefix|suffix$`` (either may be
    ``None``, not both) or, with both ``None``, the unanchored literal ``literal``."""

    prefix: str | None = None
    suffix: str | None = None
    literal: str | None = None


def _tokens(alternative: str) -> list[tuple[bool, str]] | None:
    """``(is_literal, char)`` of an alternative; ``None`` when it has an escape that is not
    an escaped punctuation character (``\\d``, ``\\n``, ``\\x41``...)."""
    out: list[tuple[bool, str]] = []
    i = 0
    while i < len(alternative):
        ch = alternative[i]
        if ch == "\\":
            if i + 1 >= len(alternative) or alternative[i + 1] not in _ESCAPABLE:
                return None
            out.append((True, alternative[i + 1]))
            i += 2
            continue
        out.append((ch not in _META, ch))
        i += 1
    return out


def _split_alternatives(regex: str) -> list[str]:
    """``regex`` cut at unescaped ``|`` (brackets and groups are not understood: any
    alternative containing them is not a literal anyway)."""
    parts, start, i = [], 0, 0
    while i < len(regex):
        if regex[i] == "\\":
            i += 2
            continue
        if regex[i] == "|":
            parts.append(regex[start:i])
            start = i + 1
        i += 1
    parts.append(regex[start:])
    return parts


def _anchored(alternative: str) -> tuple[str, str] | None:
    """``("^", text)``, ``("$", text)`` or ``("", text)`` for an alternative that is a
    non-empty literal with at most one anchor; ``None`` otherwise."""
    tokens = _tokens(alternative)
    if not tokens:
        return None
    anchor = ""
    if tokens[0] == (False, "^"):
        anchor, tokens = "^", tokens[1:]
    elif tokens[-1] == (False, "$"):
        anchor, tokens = "$", tokens[:-1]
    if not tokens or not all(lit for lit, _ in tokens):
        return None
    return anchor, "".join(ch for _, ch in tokens)


def literal_plan(regex: str, replacement: str) -> LiteralPlan | None:
    """The literal kernels' plan for ``regex``/``replacement``, or ``None`` when only RE2
    gives the reference result (see the module doc for what qualifies)."""
    if "\\" in replacement:
        return None
    alts = [_anchored(a) for a in _split_alternatives(regex)]
    if any(a is None for a in alts) or len(alts) > 2:
        return None
    kinds = tuple(a[0] for a in alts if a is not None)
    texts = [a[1] for a in alts if a is not None]
    if kinds == ("^", "$"):
        return LiteralPlan(prefix=texts[0], suffix=texts[1])
    if kinds == ("^",):
        return LiteralPlan(prefix=texts[0])
    if kinds == ("$",):
        return LiteralPlan(suffix=texts[0])
    if kinds == ("",):
        return LiteralPlan(literal=texts[0])
    return None


def regex_gsub(strings: pa.Array, regex: str, replacement: str) -> pa.Array:
    """The reference: RE2 global replacement over a string array."""
    return pc.replace_substring_regex(strings, pattern=regex, replacement=replacement)


def _mask(values: pa.Array) -> tuple[pa.Array, int]:
    """A boolean array with nulls as false, and how many values are true."""
    mask = pc.fill_null(values, False)
    return mask, pc.sum(mask).as_py() or 0


def _byte_slice(strings: pa.Array, start: int, stop: int) -> pa.Array:
    """``strings`` sliced by bytes (``stop`` < 0 counts from the end). The caller cuts only
    at code point boundaries (around a literal that is there), so the bytes stay UTF-8."""
    binary = pa.large_binary() if pa.types.is_large_string(strings.type) else pa.binary()
    return pc.binary_slice(strings.view(binary), start, stop).view(strings.type)


def _apply_anchored(strings: pa.Array, prefix: str, suffix: str, replacement: str) -> pa.Array:
    """``strings`` with a leading ``prefix`` and then a trailing ``suffix`` of what is left
    replaced (``""`` means that side is absent); same result as the regex ``^A|B$``."""
    n = len(strings) - strings.null_count  # null values stay null whatever is done
    la, lb = len(prefix.encode()), len(suffix.encode())
    head, heads = _mask(pc.starts_with(strings, prefix)) if prefix else (None, 0)
    tail, tails = (None, 0)
    if n and heads == n and suffix:  # the common case: one slice when all have both
        tail, tails = _mask(pc.ends_with(strings, suffix))
        if tails == n and pc.min(pc.binary_length(strings)).as_py() >= la + lb:
            return _framed(_byte_slice(strings, la, -lb), head, tail, replacement)
    rest = strings
    if heads:
        # binary_slice with a positive stop allocates (stop - start) bytes per value, so the
        # prefix goes by replacing its first occurrence: at position 0 where it starts.
        cut = pc.replace_substring(strings, pattern=prefix, replacement="", max_replacements=1)
        rest = cut if heads == n else pc.if_else(head, cut, strings)
    if suffix:
        tail, tails = _mask(pc.ends_with(rest, suffix))
        if tails:
            cut = _byte_slice(rest, 0, -lb)
            rest = cut if tails == n else pc.if_else(tail, cut, rest)
    return _framed(rest, head if heads else None, tail if tails else None, replacement)


def _framed(
    rest: pa.Array, head: pa.Array | None, tail: pa.Array | None, replacement: str
) -> pa.Array:
    """``rest`` with ``replacement`` before it where ``head`` and after it where ``tail``."""
    if not replacement or (head is None and tail is None):
        return rest
    empty = pa.scalar("", rest.type)
    text = pa.scalar(replacement, rest.type)
    parts = [empty if m is None else pc.if_else(m, text, empty) for m in (head, tail)]
    return pc.binary_join_element_wise(parts[0], rest, parts[1], empty)


def _apply(plan: LiteralPlan, strings: pa.Array, replacement: str) -> pa.Array:
    """``strings`` with ``plan`` applied (same result as :func:`regex_gsub`)."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    if plan.literal is not None:
        return pc.replace_substring(strings, pattern=plan.literal, replacement=replacement)
    return _apply_anchored(strings, plan.prefix or "", plan.suffix or "", replacement)


def gsub_fn(regex: str, replacement: str) -> Callable[[pa.Array], pa.Array]:
    """The gsub of one triple, applied to a string array (``string`` or ``large_string``).

    Raises:
        ConfigError: ``regex`` is not a valid RE2 pattern (checked now, not per batch).
    """
    try:
        regex_gsub(pa.array([""]), regex, replacement)
    except pa.ArrowInvalid as exc:
        raise ConfigError(f"mutate gsub regex {regex!r} is invalid for RE2: {exc}") from None
    plan = literal_plan(regex, replacement)
    if plan is None:
        return lambda strings: regex_gsub(strings, regex, replacement)
    return lambda strings: _apply(plan, strings, replacement)
