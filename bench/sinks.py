"""The ``sinks`` workload: N events into MariaDB, PostgreSQL and Redis, Sluice vs plain driver.

Who calls it: :mod:`bench.suite` (the command line of a sink tool and the check of its
result) and :mod:`bench.report` (the target names and driver loops shown in the tables).
Each sink tool is one target of :mod:`bench.runners.sluice_sinks`, which writes the same
events through Sluice's sink plugin and through the plain driver in one loop, in one
process, and reads back what each side stored. The check here is independent of the
runner's own bookkeeping: both sides must have stored exactly ``n`` rows whose ids sum to
``n * (n - 1) / 2`` (ids ``0 .. n - 1``, each exactly once).
"""

from __future__ import annotations

from typing import Any

__all__ = ["DRIVERS", "TARGETS", "check_sink", "sink_argv"]

TARGETS: dict[str, str] = {
    "mysql": "MariaDB",
    "pgsql": "PostgreSQL",
    "redis": "Redis",
}
"""Runner ``--target`` -> the store's name in the report."""

DRIVERS: dict[str, str] = {
    "mysql": "pymysql `executemany` + `commit` per batch",
    "pgsql": "psycopg 3 `COPY ... FROM STDIN`, `write_row` per row, one transaction per batch",
    "redis": "redis-py pipeline of `SET key json` per event, executed per batch",
}
"""Runner ``--target`` -> the plain-driver loop it is compared with."""

_REQUIRED = ("events", "seconds", "driver_seconds", "rows", "id_sum", "driver_rows",
             "driver_id_sum")  # fmt: skip


def sink_argv(python: str, module: str, target: str, n: int) -> list[str]:
    """The command line of one run of the sink runner for ``target`` and ``n`` events."""
    return [python, "-m", module, "--target", target, "--events", str(n)]


def check_sink(result: dict[str, Any], n: int) -> tuple[bool, str]:
    """Whether both sides stored exactly the ``n`` events; a one-sentence detail either way."""
    missing = [k for k in _REQUIRED if k not in result]
    if missing:
        return False, f"the sink runner's result lacks {', '.join(missing)}"
    want = n * (n - 1) // 2
    problems = []
    for side, rows, ids in (("the Sluice sink", "rows", "id_sum"),
                            ("the plain driver", "driver_rows", "driver_id_sum")):  # fmt: skip
        if result[rows] != n:
            problems.append(f"{side} stored {result[rows]} rows, expected {n}")
        elif result[ids] != want:
            problems.append(f"{side}'s ids sum to {result[ids]}, expected {want} (lost or "
                            "duplicated events)")  # fmt: skip
    if result["events"] != n:
        problems.append(f"the runner wrote {result['events']} events, expected {n}")
    if problems:
        return False, "; ".join(problems)
    return True, f"{n} rows stored by each side, ids 0..{n - 1} each exactly once"
