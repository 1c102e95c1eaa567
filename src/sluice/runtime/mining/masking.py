"""Batch preparation for the miner: truncate, mask, dedupe, case-fold, tokenise.

:meth:`Masker.prepare` works on a whole Arrow array of messages at once: truncation is an
Arrow kernel, every mask RE2 can compile is one ``pyarrow.compute.replace_substring_regex``
pass (case-insensitive unless the miner is case-sensitive), and the masked lines are
dictionary-encoded so the rest runs once per *distinct* masked line. A mask RE2 refuses
(look-arounds, back-references) falls back to Python :mod:`re`, applied to the distinct lines
only, with that mask and every later one (masks apply in order). Case folding happens last,
on the distinct lines: lines equal but for case become one, shown as the first of them.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from sluice.runtime.mining.config import MaskRule, MinerConfigError

__all__ = ["MIN_PIECE", "Masker", "Prepared", "Tokenizer"]

MIN_PIECE = 20_000
"""Fewest messages per piece masked in a thread of its own (Arrow kernels drop the GIL)."""
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(1, min(os.cpu_count() or 1, 4))
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sluice-mask")
        return _pool


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch of messages reduced to its distinct masked lines.

    ``lines[indices[i]]`` is the masked form of message ``i`` (for a case-insensitive
    masker: of the first message equal to it but for case); ``lines`` are in order of first
    appearance and distinct (case-insensitively when the masker is).
    """

    lines: list[str]
    indices: pa.Array


def _re2_ok(pattern: str) -> bool:
    try:
        pc.replace_substring_regex(pa.array([""]), pattern=pattern, replacement="")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


class Masker:
    """Applies ``max_log_length``, the masks and case folding to batches of messages.

    Raises:
        MinerConfigError: a mask is a valid regex for neither RE2 nor Python.
    """

    def __init__(self, rules: Sequence[MaskRule], case_sensitive: bool, max_length: int) -> None:
        self.case_sensitive = case_sensitive
        self.max_length = max_length
        self._workers = max(1, min(os.cpu_count() or 1, 4))
        flag = "" if case_sensitive else "(?i)"
        self._arrow: list[tuple[str, str]] = []
        self._python: list[tuple[re.Pattern[str], str]] = []
        for rule in rules:
            replacement = f"#{rule.name}#"
            if not self._python and _re2_ok(flag + rule.regex):
                self._arrow.append((flag + rule.regex, replacement))
                continue
            try:
                compiled = re.compile(rule.regex, 0 if case_sensitive else re.IGNORECASE)
            except re.error as exc:
                raise MinerConfigError(
                    f"predefined variable {rule.name}: invalid regex {rule.regex!r}: {exc}"
                ) from exc
            self._python.append((compiled, replacement.replace("\\", "\\\\")))

    def mask(self, messages: pa.Array) -> pa.Array:
        """Truncated messages with the RE2 masks applied (Arrow kernels only).

        A batch of at least ``2 * MIN_PIECE`` messages is cut into pieces masked in parallel
        (one per CPU, at most 4); the result is the same as one pass.
        """
        pieces = min(len(messages) // MIN_PIECE, self._workers)
        if pieces <= 1:
            return self._mask_piece(messages)
        size = -(-len(messages) // pieces)
        parts = [messages.slice(i, size) for i in range(0, len(messages), size)]
        return pa.concat_arrays(list(_executor().map(self._mask_piece, parts)))

    def _mask_piece(self, messages: pa.Array) -> pa.Array:
        out = messages
        if self.max_length and (pc.max(pc.binary_length(out)).as_py() or 0) > self.max_length:
            out = pc.utf8_slice_codeunits(out, 0, self.max_length)
        for pattern, replacement in self._arrow:
            out = pc.replace_substring_regex(out, pattern=pattern, replacement=replacement)
        return out

    def prepare(self, messages: pa.Array) -> Prepared:
        """Mask ``messages`` (non-null strings) and dedupe the result.

        Raises:
            ValueError: ``messages`` holds nulls or is not a string array.
        """
        if isinstance(messages, pa.ChunkedArray):
            messages = messages.combine_chunks()
        if not (pa.types.is_string(messages.type) or pa.types.is_large_string(messages.type)):
            raise ValueError(f"messages must be strings, got {messages.type}")
        if messages.null_count:
            raise ValueError(f"messages hold {messages.null_count} nulls")
        encoded = pc.dictionary_encode(self.mask(messages))
        lines: list[str] = encoded.dictionary.to_pylist()
        indices: pa.Array = encoded.indices
        if not self._python and self.case_sensitive:
            return Prepared(lines, indices)
        slot: dict[str, int] = {}
        shown: list[str] = []
        remap: list[int] = []
        for line in lines:
            for compiled, replacement in self._python:
                line = compiled.sub(replacement, line)
            key = line if self.case_sensitive else line.lower()
            found = slot.get(key)
            if found is None:
                found = slot[key] = len(shown)
                shown.append(line)
            remap.append(found)
        return Prepared(shown, pa.array(remap, pa.int32()).take(indices))


class Tokenizer:
    """Splits a masked line into tokens at runs of separators (the ``delimiter`` regex).

    :meth:`split` returns ``(tokens, gaps)`` with ``len(gaps) == len(tokens) + 1``: the text
    before, between and after the tokens, so a template renders back with the separators of
    the line that created it.

    Raises:
        MinerConfigError: the delimiter is not a valid regex.
    """

    def __init__(self, delimiter: str) -> None:
        try:
            self._runs = re.compile(f"(?:{delimiter})+")
        except re.error as exc:
            raise MinerConfigError(f"invalid delimiter regex {delimiter!r}: {exc}") from exc

    def split(self, line: str) -> tuple[list[str], list[str]]:
        """Tokens of ``line`` and the separator text around them."""
        tokens: list[str] = []
        gaps: list[str] = []
        start = 0
        gap_start = 0
        for match in self._runs.finditer(line):
            begin, end = match.span()
            if begin == end:
                continue
            if begin > start:
                gaps.append(line[gap_start:start])
                tokens.append(line[start:begin])
                gap_start = begin
            start = end
        if start < len(line):
            gaps.append(line[gap_start:start])
            tokens.append(line[start:])
            gap_start = len(line)
        gaps.append(line[gap_start:])
        return tokens, gaps
