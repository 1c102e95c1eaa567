"""``python -m bench``: run the benchmark suite and write BENCHMARKS.md.

Commands:
- ``run [--quick] [--workload all|w0|w1|w2|w3|w4|bus|sinks|flow] [--runs N]``: measure, append
  the raw rows to ``.bench-cache/results.jsonl`` (``results-quick.jsonl`` with ``--quick``)
  and regenerate the report: ``BENCHMARKS.md`` for full runs, ``.bench-cache/
  BENCHMARKS-quick.md`` for quick ones (so a smoke test never overwrites real figures).
- ``report [--quick]``: regenerate the report from the existing raw results.

``--workload flow`` runs only the Sluice flow and pipeline rows of W1 and W3.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.report import load_rows, render, summarise
from bench.suite import WORKLOADS, Options, count_steps, run_suite
from bench.tools import REPO

__all__ = ["main"]

CHOICES = ("all", *WORKLOADS, "flow")


def _paths(cache: Path, quick: bool) -> tuple[Path, Path]:
    if quick:
        return cache / "results-quick.jsonl", cache / "BENCHMARKS-quick.md"
    return cache / "results.jsonl", REPO / "BENCHMARKS.md"


def _print_summary(console: Console, results: Path, quick: bool, run_id: str) -> int:
    summaries, _ = summarise(load_rows(results), quick=quick)
    failed = 0
    for workload, rows in sorted(summaries.items(), key=lambda kv: list(WORKLOADS).index(kv[0])):
        for s in rows:
            if s.run_id != run_id:
                continue
            rate = f"{s.rate[0]:>13,.0f} ev/s" if s.rate and workload != "bus" else ""
            if workload == "sinks" and s.extra.get("driver") and s.rate:
                d, ratio = s.extra["driver"], s.extra["ratio"]
                rate = (f"sink {s.rate[0]:,.0f} ev/s, driver {d[0]:,.0f} ev/s, "
                        f"ratio {ratio[0]:.2f}")  # fmt: skip
            if workload == "bus" and s.extra.get("produce"):
                p, c = s.extra["produce"], s.extra.get("consume")
                rate = f"produce {p[0]:,.0f} rec/s, consume {c[0] if c else 0:,.0f} rec/s"
            color = {"ok": "green", "skipped": "yellow"}.get(s.status, "red")
            failed += s.status == "failed"
            note = "" if s.status == "ok" else f" {s.reason[:160]}"
            console.print(f"{workload:>4} {s.label:<34} [{color}]{s.status:<7}[/{color}] "
                          f"{rate}{note}", highlight=False)  # fmt: skip
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the benchmarks and regenerate the report")
    run.add_argument("--quick", action="store_true", help="small inputs, 1 run per tool")
    run.add_argument("--workload", default="all", choices=CHOICES)
    run.add_argument("--runs", type=int, default=None, help="runs per tool (default 3; 1 quick)")
    run.add_argument("--cache", type=Path, default=REPO / ".bench-cache")
    run.add_argument("--timeout", type=float, default=None, help="seconds per run")
    rep = sub.add_parser("report", help="regenerate the report from the raw results")
    rep.add_argument("--quick", action="store_true")
    rep.add_argument("--cache", type=Path, default=REPO / ".bench-cache")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    results, report_path = _paths(args.cache, args.quick)
    if args.command == "report":
        report_path.write_text(render(load_rows(results), quick=args.quick), encoding="utf-8")
        console.print(f"Wrote {report_path}.")
        return 0
    workloads = list(WORKLOADS) if args.workload == "all" else [args.workload]
    if args.workload == "flow":
        workloads = ["w1", "w3"]
    runs = args.runs or (1 if args.quick else 3)
    opts = Options(
        workloads=workloads, quick=args.quick, runs=runs, cache=args.cache,
        timeout=args.timeout or (120.0 if args.quick else 1800.0),
        sluice_only=args.workload == "flow",
    )  # fmt: skip
    if args.quick:
        console.print("Quick run: small inputs and [bold]1 run per tool[/bold]; a smoke test, "
                      "not figures. The first run also installs the reference tools.")  # fmt: skip
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=False,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting", total=count_steps(opts))

        def progress(desc: str, advance: int) -> None:
            bar.update(task, description=desc[:70].ljust(70), advance=advance)

        run_id = run_suite(opts, results, progress)
    failed = _print_summary(console, results, args.quick, run_id)
    report_path.write_text(render(load_rows(results), quick=args.quick), encoding="utf-8")
    console.print(f"Raw results: {results}. Report: {report_path}. "
                  f"Took {time.perf_counter() - started:.0f} s.")  # fmt: skip
    if failed:
        console.print(f"[red]{failed} tool rows failed their run or correctness check.[/red]")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
