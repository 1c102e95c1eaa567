"""Regex syntax analysis for the grok matcher: top-level atoms, literals, alternatives,
and a conservative "can this regex produce character c?" test.

Who calls it: :mod:`sluice.pipeline.grok_match` when it plans a segmented match. Every
function answers conservatively: when a regex cannot be analysed, the answer is the one
that keeps the plain (always exact) path.
"""

from __future__ import annotations

import re
import sre_constants as sc
import warnings
from collections.abc import Callable
from typing import Any, cast

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_parse

__all__ = ["SEPARATORS", "alternatives", "atoms", "literal", "may_contain"]

SEPARATORS = frozenset(" !\"#%&',-./:;<=>@[]_`|~") | frozenset("\t")
_QUANT = re.compile(r"(?:[*+?]|\{\d+(?:,\d*)?\})[?+]?")


def atoms(regex: str) -> list[str] | None:
    """Top-level atoms (each with its quantifier), inlining plain ``(?:...)`` groups;
    ``None`` when the regex has a top-level ``|`` or cannot be scanned."""
    out: list[str] = []
    i, n = 0, len(regex)
    while i < n:
        ch = regex[i]
        if ch == "|":
            return None
        if ch == "\\":
            if i + 1 >= n or regex[i + 1] in "xpPQCN0123456789":
                return None
            j = i + 2
        elif ch == "[":
            j = i + 1
            if j < n and regex[j] == "^":
                j += 1
            if j < n and regex[j] == "]":
                j += 1
            while j < n and regex[j] != "]":
                if regex.startswith("[:", j):
                    end = regex.find(":]", j + 2)
                    if end < 0:
                        return None
                    j = end + 2
                    continue
                j += 2 if regex[j] == "\\" else 1
            if j >= n:
                return None
            j += 1
        elif ch == "(":
            depth, j = 0, i
            while j < n:
                c = regex[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "[":
                    k = j + 1
                    if k < n and regex[k] == "^":
                        k += 1
                    if k < n and regex[k] == "]":
                        k += 1
                    while k < n and regex[k] != "]":
                        k += 2 if regex[k] == "\\" else 1
                    j = k + 1
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                return None
            j += 1
        else:
            j = i + 1
        m = _QUANT.match(regex, j)
        end = m.end() if m else j
        atom = regex[i:end]
        if not m and atom.startswith("(?:"):
            inner = atoms(atom[3:-1])
            if inner is not None:
                out.extend(inner)
                i = end
                continue
        out.append(atom)
        i = end
    return out


def literal(atom: str) -> str | None:
    if len(atom) == 1 and atom not in "\\^$.|?*+()[]{}":
        return atom
    if len(atom) == 2 and atom[0] == "\\" and not atom[1].isalnum():
        return atom[1]
    return None


def may_contain(regex: str, ch: str) -> bool:
    """Could some string matched by ``regex`` contain ``ch``? (conservative)"""
    if not regex:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree: Any = cast(Any, sre_parse).parse(regex)
    except Exception:
        return True
    if tree.state.flags & (re.IGNORECASE | re.DOTALL) and ch.isalpha():
        return True
    return _tree_may(tree, ord(ch), bool(tree.state.flags & re.DOTALL))


def _tree_may(items: Any, code: int, dotall: bool) -> bool:
    for op, av in items:
        if op is sc.LITERAL:
            if av == code:
                return True
        elif op is sc.NOT_LITERAL:
            if av != code:
                return True
        elif op is sc.ANY:
            if dotall or code != 10:
                return True
        elif op is sc.IN:
            if _in_class(av, code):
                return True
        elif op is sc.BRANCH:
            if any(_tree_may(b, code, dotall) for b in av[1]):
                return True
        elif op is sc.SUBPATTERN:
            add_flags = av[1]
            if add_flags & (re.IGNORECASE | re.DOTALL):
                return True
            if _tree_may(av[3], code, dotall):
                return True
        elif op in (sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", None)):
            if av[1] != 0 and _tree_may(av[2], code, dotall):
                return True
        elif op is sc.AT:
            continue
        else:
            return True
    return False


_CATEGORIES: dict[Any, Callable[[int], bool]] = {
    sc.CATEGORY_DIGIT: lambda c: 48 <= c <= 57,
    sc.CATEGORY_NOT_DIGIT: lambda c: not 48 <= c <= 57,
    sc.CATEGORY_SPACE: lambda c: c in (9, 10, 11, 12, 13, 32),
    sc.CATEGORY_NOT_SPACE: lambda c: c not in (9, 10, 11, 12, 13, 32),
    sc.CATEGORY_WORD: lambda c: chr(c).isalnum() or c == 95,
    sc.CATEGORY_NOT_WORD: lambda c: not (chr(c).isalnum() or c == 95),
}


def _in_class(items: Any, code: int) -> bool:
    negate = False
    hit = False
    for op, av in items:
        if op is sc.NEGATE:
            negate = True
        elif op is sc.LITERAL:
            hit |= av == code
        elif op is sc.RANGE:
            hit |= av[0] <= code <= av[1]
        elif op is sc.CATEGORY:
            test = _CATEGORIES.get(av)
            if test is None:
                return True
            hit |= test(code)
        else:
            return True
    return hit != negate


def alternatives(body: str) -> list[str] | None:
    """Split ``body`` at its top-level ``|``; ``None`` when it has none or cannot be scanned."""
    parts: list[str] = []
    depth, i, start, n = 0, 0, 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < n and body[j] == "^":
                j += 1
            if j < n and body[j] == "]":
                j += 1
            while j < n and body[j] != "]":
                j += 2 if body[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(body[start:i])
            start = i + 1
        i += 1
    if depth != 0 or not parts:
        return None
    parts.append(body[start:])
    return parts
