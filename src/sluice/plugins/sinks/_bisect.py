"""Find the rows a store refuses by halving: the good rows are written, each bad one reported.

SQL stores refuse a whole multi-row statement for one bad row. :func:`write_bisect` retries
the two halves of a failed range, down to single rows, so a batch with ``b`` bad rows costs
``O(b log n)`` extra statements and a clean batch costs nothing extra.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sluice.plugins.base import Rejected

__all__ = ["index_name", "write_bisect"]


def write_bisect(
    start: int,
    stop: int,
    attempt: Callable[[int, int], None],
    row_error: Callable[[Exception], str | None],
) -> list[Rejected]:
    """Write rows ``[start, stop)`` with ``attempt(lo, hi)``, halving failed ranges.

    ``row_error(exc)`` returns the reason when ``exc`` is about the rows written (bad data)
    and ``None`` otherwise; any other exception propagates at once. ``attempt`` must leave
    the store unchanged when it raises (one statement, or a savepoint).
    """
    rejected: list[Rejected] = []
    stack = [(start, stop)]
    while stack:
        lo, hi = stack.pop()
        try:
            attempt(lo, hi)
        except Exception as exc:
            reason = row_error(exc)
            if reason is None:
                raise
            if hi - lo == 1:
                rejected.append(Rejected(lo, reason))
            else:
                mid = (lo + hi) // 2
                stack.append((mid, hi))
                stack.append((lo, mid))
    rejected.sort(key=lambda r: r.index)
    return rejected


def index_name(prefix: str, fields: list[str], scope: str = "", limit: int = 63) -> str:
    """A readable index name within ``limit`` characters (MySQL allows 64, PostgreSQL 63),
    made unique by a digest when the plain name is too long. ``scope`` (the table) is part
    of the name where index names are per schema (PostgreSQL)."""
    base = "_".join(p for p in (prefix, scope, *fields) if p)
    if len(base) <= limit:
        return base
    digest = hashlib.sha1(base.encode()).hexdigest()[:10]
    return f"{base[: limit - 11]}_{digest}"
