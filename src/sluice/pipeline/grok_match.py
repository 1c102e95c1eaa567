"""Run a compiled grok regex over a string column, fast and exactly.

Who calls it: :class:`sluice.pipeline.grok.Grok`, once per pattern per batch.

RE2 extracts submatches with its NFA when a regex is large (as expanded grok patterns
are), which is several times slower than its DFA or one-pass engines. :class:`Matcher`
therefore plans a *segmented* match when it is provably exact:

1. The regex is flattened into top-level atoms. A literal atom ``c`` splits it when no
   string of the atoms before it (since the previous split) can contain ``c``: then in
   every match that starts at offset 0 that segment ends at the first ``c``, so its text
   is fixed and its submatches are those of the segment regex matched against exactly
   that text (RE2's leftmost-first submatches with both ends anchored).
2. One DFA pass checks every segment at once (``^R1c1R2c2...``: each ``Ri`` spans exactly
   its segment in any match, since it cannot contain ``ci``); ``split_pattern`` at the first
   occurrence of each separator then cuts the rows. A segment that is one capture group
   (with literal text around it) *is* the group's value, so RE2 never extracts it; other
   segments are extracted ``^...$`` with their own small regex.
3. The remainder is matched ``^...`` by a nested :class:`Matcher`. An anchored regex that
   starts with an alternation ``(?:A|B)`` is tried as ``^A...`` first and ``^B...`` on the
   rows ``^A...`` missed: leftmost-first order makes that the whole regex's result.
4. Rows where the segmented path fails (no match at offset 0, or no match at all) are
   matched again with the full regex (after a DFA check), so the result is always that of
   ``pyarrow.compute.extract_regex(strings, regex)``. A matcher whose batches mostly miss
   the segmented path stops planning.

The "cannot contain ``c``" test is conservative (Python's regex parser over the segment,
any doubt answers "may contain"), so a doubtful split is never made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline import grok_regex as rx
from sluice.pipeline.batch import (
    PARALLEL_MIN_ROWS,
    extract,
    parallel_workers,
    slice_pool,
)
from sluice.pipeline.strcut import split_parts

__all__ = ["Matcher"]


@dataclass(frozen=True, slots=True)
class _Piece:
    """Cut at the first ``sep``; the head must fully match ``regex`` (``""``: be empty).

    When the head is literal text around one capture group with no groups inside
    (``\\[(?P<g3>...)``), ``whole`` names that group: its value is the head minus
    ``pre`` leading and ``post`` trailing characters, and RE2 only has to *check* the head
    (a DFA run) instead of extracting submatches.
    """

    regex: str
    sep: str
    whole: str | None = None
    pre: int = 0
    post: int = 0
    body: str = ""
    keep: bool = False  # the separator starts the remainder (a greedy run's cut; last piece)


@dataclass(frozen=True, slots=True)
class _Plan:
    """``prefix`` checks every piece at once: each piece's regex followed by its separator,
    anchored at the start. A piece cannot contain the first character of its separator, so
    in any match of ``prefix`` every piece spans exactly its head."""

    pieces: tuple[_Piece, ...]
    rest: str
    prefix: str


_GROUP = re.compile(r"\(\?P<(g\d+)>")


def _piece(atoms: list[str], sep: str) -> _Piece:
    if not atoms:
        return _Piece("", sep)
    body = "".join(atoms)
    regex = "^(?:" + body + ")$"
    lits = [rx.literal(a) for a in atoms]
    groups = [i for i, a in enumerate(atoms) if lits[i] is None]
    if len(groups) == 1:
        atom = atoms[groups[0]]
        m = _GROUP.match(atom)
        text = "".join(lit or "" for lit in lits)
        if m and atom.endswith(")") and len(_GROUP.findall(atom)) == 1 and text.isascii():
            post = len(atoms) - groups[0] - 1
            return _Piece(regex, sep, m.group(1), groups[0], post, body)
    return _Piece(regex, sep, body=body)


def _single_char_cuts(pieces: list[_Piece], rest: str) -> tuple[list[_Piece], str]:
    """Cut at the first character of each separator where that is the same cut: the rest of
    the separator becomes literal text at the start of the next segment (which must not
    contain the next cut character). Consecutive cuts at one character then share a split.
    """
    out: list[_Piece] = []
    carry = ""
    for i, p in enumerate(pieces):
        if carry:
            body = re.escape(carry) + p.body
            regex = "^(?:" + body + ")$"
            pre = p.pre + len(carry) if p.whole is not None else 0
            p = _Piece(regex, p.sep, p.whole, pre, p.post, body)
        rem = p.sep[1:]
        nxt = pieces[i + 1].sep[0] if i + 1 < len(pieces) else ""
        if rem and rem.isascii() and (not nxt or nxt not in rem):
            p = _Piece(p.regex or "^(?:)$", p.sep[0], p.whole, p.pre, p.post, p.body)
            carry = rem
        else:
            carry = ""
        out.append(p)
    return out, (re.escape(carry) if carry else "") + rest


def _plan(regex: str) -> _Plan | None:
    atom_list = rx.atoms(regex)
    if not atom_list:
        return None
    if atom_list[0] == "^":  # every plan is anchored at the start already
        atom_list = atom_list[1:]
    pieces: list[_Piece] = []
    current: list[str] = []
    sep = ""
    for k, atom in enumerate(atom_list):
        lit = rx.literal(atom)
        if sep and lit is not None:
            sep += lit  # extend the separator run with following literals
            continue
        if sep:
            pieces[-1] = _replace_sep(pieces[-1], sep)
            sep = ""
        if lit is not None and lit in rx.SEPARATORS and not rx.may_contain("".join(current), lit):
            pieces.append(_piece(current, lit))
            sep = lit
            current = []
            continue
        run = None if current else _greedy_run(atom, atom_list[k + 1 :])
        if run is not None:  # the last piece: everything after it is the remainder
            pieces.append(run)
            current = atom_list[k + 1 :]
            break
        current.append(atom)
    if sep:
        pieces[-1] = _replace_sep(pieces[-1], sep)
    if not any(p.regex for p in pieces):
        return None  # only literal text before the remainder: nothing worth a split
    prefix = "^" + "".join(
        (f"(?:{p.regex[4:-2]})" if p.regex else "") + re.escape(p.sep) for p in pieces
    )
    cut, rest = _single_char_cuts(pieces, "".join(current))
    return _Plan(tuple(cut), "^(?:" + rest + ")", prefix)


def _replace_sep(piece: _Piece, sep: str) -> _Piece:
    return _Piece(piece.regex, sep, piece.whole, piece.pre, piece.post, piece.body)


_RUN = re.compile(r"\(\?P<(g\d+)>(.+)\+\)")
_RUN_CUT = " "


def _greedy_run(atom: str, rest: list[str]) -> _Piece | None:
    """A cut after a group that is one greedy run of a character class without a space,
    ``(?P<g>\\S+)``, followed by atoms that are not literal text (``rest``): the piece ends
    at the first space, which stays at the start of the remainder (``keep``).

    Exact on the rows where it applies: the highest-priority path of a greedy run is the
    longest one, and a run that cannot contain a space, followed by a space, is the longest.
    So when the remainder matches from that space, the whole regex's leftmost-first match
    takes that path and the remainder's own submatches; rows where it does not match go to
    the full regex. The remainder is matched without the text before it, so it must not
    look at that text: no ``^``, ``\\b``, ``\\B`` or ``\\A`` in it."""
    m = _RUN.fullmatch(atom)
    if m is None or not rest or rx.literal(rest[0]) is not None:
        return None
    unit = m.group(2)
    if rx.atoms(unit) != [unit] or unit[0] not in "\\[" or unit[:2] in _ASSERTIONS:
        return None
    if rx.may_contain(unit + "+", _RUN_CUT) or not _context_free("".join(rest)):
        return None
    body = atom
    return _Piece("^(?:" + body + ")$", _RUN_CUT, m.group(1), 0, 0, body, keep=True)


_ASSERTIONS = frozenset({"\\b", "\\B", "\\A", "\\z", "\\Z", "\\G"})


def _context_free(regex: str) -> bool:
    """No assertion that looks before the start of the text (``^``, ``\\b``, ``\\B``,
    ``\\A``) anywhere outside character classes (conservative)."""
    i, n, in_class = 0, len(regex), False
    while i < n:
        ch = regex[i]
        if ch == "\\":
            if not in_class and regex[i : i + 2] in _ASSERTIONS:
                return False
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            i += 1
            if i < n and regex[i] == "^":
                i += 1
            if i < n and regex[i] == "]":
                i += 1
            continue
        elif ch == "^":
            return False
        i += 1
    return True


class Matcher:
    """Match one compiled grok regex against string columns.

    ``match(strings)`` returns ``(matched, groups)``: a non-null boolean per row and, per
    RE2 group name of the regex, a string column (null where the row did not match;
    ``""`` for a group that did not take part, as ``extract_regex`` reports it).
    """

    _GIVE_UP = 3  # batches in a row where most rows missed the segmented path

    def __init__(self, regex: str, group_names: list[str], depth: int = 0) -> None:
        self.regex = regex
        self.group_names = group_names
        self.alts: list[Matcher] = []
        try:
            self.plan = _plan(regex) if group_names else None
            if self.plan is None and group_names and depth < 3:
                self.alts = [
                    Matcher(alt, _group_names(alt), depth + 1) for alt in _hoisted(regex) or []
                ]
        except (ValueError, IndexError, RecursionError):  # plans are only an optimisation
            self.plan, self.alts = None, []
        self.rest = None
        if self.plan is not None:
            self.rest = Matcher(self.plan.rest, _group_names(self.plan.rest), depth + 1)
        self._misses = 0

    def match(self, strings: pa.Array) -> tuple[pa.Array, dict[str, pa.Array]]:
        """Match every row; a long column is cut into slices matched on several threads
        (every step is row by row, so the slices' results put together are the column's)."""
        n = len(strings)
        workers = parallel_workers()
        if n < PARALLEL_MIN_ROWS or workers == 1:
            return self._match(strings)
        step = -(-n // workers)
        slices = [strings.slice(i, step) for i in range(0, n, step)]
        parts = list(slice_pool().map(self._match, slices))
        ok = pa.concat_arrays([p[0] for p in parts])
        return ok, {k: pa.concat_arrays([p[1][k] for p in parts]) for k in self.group_names}

    def _match(self, strings: pa.Array) -> tuple[pa.Array, dict[str, pa.Array]]:
        n = len(strings)
        if not self.group_names:
            matched = pc.match_substring_regex(strings, self.regex).fill_null(False)
            return matched, {}
        if self.alts:
            return self._alternatives(strings)
        plan, rest = self.plan, self.rest  # another thread may drop the plan meanwhile
        if plan is None or rest is None:
            return self._full(strings)
        groups: dict[str, pa.Array] = {}
        nulls = pa.nulls(n, pa.string())
        ok = _check(strings, plan.prefix).fill_null(False)
        tail = strings if pc.all(ok).as_py() else pc.if_else(ok, strings, nulls)
        pieces = plan.pieces
        heads: list[tuple[_Piece, pa.Array]] = []
        i = 0
        while i < len(pieces):  # consecutive cuts at one separator share one split
            j = i
            while j + 1 < len(pieces) and pieces[j + 1].sep == pieces[i].sep:
                j += 1
            parts = split_parts(tail, pieces[i].sep, j - i + 1)
            heads += [(pieces[m], parts[m - i]) for m in range(i, j + 1)]
            tail = parts[-1]
            i = j + 1
        if pieces and pieces[-1].keep:
            tail = pc.binary_join_element_wise(pieces[-1].sep, tail, "")
        for piece, head in heads:
            if piece.whole is not None:
                stop = -piece.post if piece.post else None
                groups[piece.whole] = pc.utf8_slice_codeunits(head, piece.pre, stop)
            elif "(?P<" in piece.regex:
                part = extract(head, piece.regex)
                ok = pc.and_(ok, part.is_valid()).fill_null(False)
                groups.update(_fields(part))
        all_ok = pc.all(ok).as_py()
        rest_ok, rest_groups = rest._match(tail if all_ok else pc.if_else(ok, tail, nulls))
        ok = pc.and_(ok, rest_ok).fill_null(False)
        groups.update(rest_groups)
        missed = pc.invert(ok)
        n_missed = n - pc.sum(ok).as_py() if n else 0
        self._misses = self._misses + 1 if n_missed * 2 > n else 0
        if self._misses >= self._GIVE_UP:
            self.plan = None  # the data rarely fits at offset 0: the full regex is cheaper
        if n_missed:
            matched_rest, rest_groups = self._full(pc.filter(strings, missed), dfa_first=True)
            for name in self.group_names:
                mine = pc.if_else(ok, groups[name], nulls)
                groups[name] = pc.replace_with_mask(mine, missed, rest_groups[name])
            ok = pc.replace_with_mask(ok, missed, matched_rest)
        return ok, {name: groups[name] for name in self.group_names}

    def _alternatives(self, strings: pa.Array) -> tuple[pa.Array, dict[str, pa.Array]]:
        """An anchored regex starting with ``(?:A|B|...)``: rows try ``^A...`` first, the
        rest ``^B...``, and so on; the first alternative that matches a row is the one the
        whole regex would take there (leftmost-first order), so the result is identical."""
        n = len(strings)
        nulls = pa.nulls(n, pa.string())
        empty = nulls.fill_null("")
        ok = pa.nulls(n, pa.bool_()).fill_null(False)
        groups = dict.fromkeys(self.group_names, nulls)
        todo = strings.is_valid()
        for alt in self.alts:
            if not pc.any(todo).as_py():
                break
            everything = pc.all(todo).as_py()
            hit, found = alt._match(strings if everything else pc.if_else(todo, strings, nulls))
            hit = pc.and_(hit, todo).fill_null(False)
            whole = everything and pc.all(hit).as_py()
            for name in self.group_names:
                value = found.get(name, empty)
                groups[name] = value if whole else pc.if_else(hit, value, groups[name])
            ok = pc.or_(ok, hit)
            todo = pc.and_(todo, pc.invert(hit))
        return ok, groups

    def _full(
        self, strings: pa.Array, dfa_first: bool = False
    ) -> tuple[pa.Array, dict[str, pa.Array]]:
        """Plain ``extract_regex``; with ``dfa_first``, rows are first checked with the
        DFA and only matching rows are extracted (cheap when most rows do not match)."""
        if not dfa_first:
            result = extract(strings, self.regex)
            return result.is_valid().fill_null(False), _fields(result)
        hit = _check(strings, self.regex).fill_null(False)
        n = len(strings)
        nulls = pa.nulls(n, pa.string())
        if not pc.any(hit).as_py():
            return hit, dict.fromkeys(self.group_names, nulls)
        result = extract(pc.filter(strings, hit), self.regex)
        groups = {k: pc.replace_with_mask(nulls, hit, v) for k, v in _fields(result).items()}
        return hit, groups


_NAMES = re.compile(r"\(\?P<(\w+)>")


def _group_names(regex: str) -> list[str]:
    return _NAMES.findall(regex)


def _hoisted(regex: str) -> list[str] | None:
    """For ``^lit(?:A|B)rest`` (anchored, literal text, then an alternation):
    ``[^lit(?:A)rest, ^lit(?:B)rest]``."""
    parts = rx.atoms(regex)
    if not parts or parts[0] != "^":
        return None
    k = 1
    while k < len(parts) and rx.literal(parts[k]) is not None:
        k += 1
    if k >= len(parts):
        return None
    first = parts[k]
    if not first.startswith("(?:") or not first.endswith(")"):
        return None
    alts = rx.alternatives(first[3:-1])
    if alts is None:
        return None
    lead, tail = "".join(parts[1:k]), "".join(parts[k + 1 :])
    return [f"^{lead}(?:{alt}){tail}" for alt in alts]


def _check(strings: pa.Array, regex: str) -> pa.Array:
    """Does each string match? (RE2's DFA only: no submatches are extracted)."""
    return pc.match_substring_regex(strings, regex)


def _fields(struct: pa.StructArray) -> dict[str, pa.Array]:
    return {struct.type.field(i).name: struct.field(i) for i in range(struct.type.num_fields)}
