"""W3's memory check: the window engine with 1,000,000 distinct keys in every window.

Who calls it: :mod:`bench.suite` once per W3 invocation (after W3's tools), and
:mod:`bench.report`, which prints the latest result under the W3 table.

The runner (``python -m bench.runners.sluice_window_w3 --distinct-keys N``) feeds
:data:`WINDOWS` consecutive 60 s windows of ``N`` distinct keys each through the node's
:class:`~sluice.windows.WindowOperator` (in 8 parts per window) and reports the largest state
seen after any part. The check passes when the state never held more than two windows' keys
(``2 * N`` partial rows) although ``WINDOWS * N`` keys went through: closed windows are
dropped, so memory follows the open windows, not the stream's length. Peak RSS is the runner
process's (``wait4``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.measure import run_command

__all__ = ["KEYS", "QUICK_KEYS", "WINDOWS", "check_memory", "memory_lines", "run_memory_check"]

KEYS = 1_000_000
"""Distinct keys per window in a full run (issue 7: "bounded with 1,000,000 distinct keys")."""
QUICK_KEYS = 50_000
"""Distinct keys per window in ``--quick`` runs."""
WINDOWS = 4
"""Consecutive windows the runner feeds (its ``distinct_keys`` default)."""


def check_memory(result: dict[str, Any], keys: int) -> tuple[bool, str]:
    """Whether the runner's result shows bounded state, and a one-line explanation."""
    peak = result.get("peak_state_rows")
    if not isinstance(peak, int) or result.get("events") != keys * WINDOWS:
        return False, f"the runner's result is incomplete: {result}"
    if peak > 2 * keys:
        return False, (
            f"state grew to {peak:,} partial rows, more than two windows' {2 * keys:,}: "
            "closed windows are not dropped"
        )
    return True, (
        f"bounded: at most {peak:,} partial rows in state while {WINDOWS} windows of "
        f"{keys:,} keys went through"
    )


def run_memory_check(
    python: str, repo: Path, work: Path, *, quick: bool, timeout: float
) -> dict[str, Any]:
    """Run the check once; returns the raw result row's fields (``status`` ok or failed)."""
    keys = QUICK_KEYS if quick else KEYS
    argv = [python, "-m", "bench.runners.sluice_window_w3", "--distinct-keys", str(keys)]
    work.mkdir(parents=True, exist_ok=True)
    m = run_command(argv, cwd=repo, env=None, timeout=timeout, logdir=work)
    row: dict[str, Any] = {"keys": keys, "wall_seconds": m.wall_seconds,
                           "max_rss_kib": m.max_rss_kib, "result": m.result}  # fmt: skip
    if m.error:
        row.update(status="failed", reason=m.error)
        return row
    ok, detail = check_memory(m.result, keys)
    row.update(status="ok" if ok else "failed", check=detail)
    return row


def memory_lines(rows: list[dict[str, Any]], *, quick: bool) -> list[str]:
    """Markdown lines for the latest memory check in ``rows`` (none when there is none)."""
    checks = [r for r in rows if r.get("type") == "memory" and bool(r.get("quick")) == quick]
    if not checks:
        return []
    latest = max(checks, key=lambda r: r.get("run_id", ""))
    result = latest.get("result", {})
    if latest.get("status") != "ok":
        return [f"**Memory with distinct keys** (run `{latest.get('run_id')}`): failed: "
                f"{latest.get('reason') or latest.get('check')}", ""]  # fmt: skip
    seconds = result.get("seconds") or 0
    rate = f"{result['events'] / seconds:,.0f} events/s" if seconds else "–"
    state_mib = (result.get("peak_state_bytes") or 0) / 2**20
    return [
        f"**Memory with distinct keys** (run `{latest.get('run_id')}`): the window operator "
        f"alone, {latest['keys']:,} distinct keys in each of {WINDOWS} consecutive windows "
        f"({result.get('events', 0):,} events, {rate}): peak state "
        f"{result.get('peak_state_rows', 0):,} partial rows ({state_mib:,.0f} MiB of Arrow), "
        f"peak RSS {latest.get('max_rss_kib', 0) / 1024:,.0f} MiB; check: {latest.get('check')}.",
        "",
    ]
