"""Render ``BENCHMARKS.md`` from the raw results (JSON lines written by :mod:`bench.suite`).

Who calls it: ``python -m bench run`` after a run, and ``python -m bench report`` to
re-render from existing results. For each workload the report uses the most recent
invocation that measured it (full runs and ``--quick`` runs are kept apart), so
``make bench W=w1`` refreshes W1 and leaves the other workloads' latest figures in place.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.memory import memory_lines
from bench.sinks import DRIVERS, TARGETS

__all__ = ["Summary", "load_rows", "render", "summarise"]

MIB = 1024 * 1024
_ORDER = ("w0", "w1", "w2", "w3", "w4", "bus", "sinks")


def load_rows(path: Path) -> list[dict[str, Any]]:
    """All rows of a results file; unreadable lines are ignored."""
    rows: list[dict[str, Any]] = []
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            rows.append(obj)
    return rows


@dataclass(slots=True)
class Summary:
    """One tool on one workload: rates over its ok runs, peak RSS, status and reason."""

    tool: str
    label: str
    sluice: bool
    status: str
    reason: str
    runs: int
    rate: tuple[float, float, float] | None  # median, min, max (events/s)
    mib_s: float | None
    rss_mib: float | None
    extra: dict[str, Any]
    command: str
    run_id: str = ""


def _stats(values: list[float]) -> tuple[float, float, float] | None:
    return (statistics.median(values), min(values), max(values)) if values else None


def _summary(runs: list[dict[str, Any]]) -> Summary:
    first = runs[0]
    ok = [r for r in runs if r.get("status") == "ok"]
    bad = [r for r in runs if r.get("status") != "ok"]
    status = "ok" if ok and not bad else (bad[0]["status"] if bad else "skipped")
    extra: dict[str, Any] = {}
    rates: list[float] = []
    if first["workload"] == "bus":
        for key in ("produce", "consume"):
            vals = [r["result"]["records"] / r["result"][f"{key}_seconds"] for r in ok
                    if r["result"].get(f"{key}_seconds")]  # fmt: skip
            extra[key] = _stats(vals)
            extra[f"{key}_mib_s"] = (
                statistics.median(
                    r["result"].get("bytes", r["input_bytes"]) / r["result"][f"{key}_seconds"]
                    for r in ok if r["result"].get(f"{key}_seconds")
                ) / MIB if vals else None
            )  # fmt: skip
        rates = [v for v in [extra["produce"][0]] if v] if extra.get("produce") else []
    else:
        rates = [r["result"]["events"] / r["result"]["seconds"] for r in ok
                 if r["result"].get("seconds")]  # fmt: skip
        if first["workload"] == "sinks":
            extra.update(_sink_extra(ok))
        if ok and "templates" in ok[0]["result"]:
            extra["templates"] = ok[0]["result"]["templates"]
    stats = _stats(rates)
    mib_s = None
    if stats and first["workload"] != "bus":
        mib_s = stats[0] * first["input_bytes"] / first["n"] / MIB
    rss = [r["max_rss_kib"] / 1024 for r in ok if r.get("max_rss_kib")]
    reason = ""
    if bad:
        reason = str(bad[0].get("reason") or bad[0].get("check") or "")
    return Summary(
        tool=first["tool"], label=first.get("label", first["tool"]),
        sluice=bool(first.get("sluice")), status=status, reason=reason, runs=len(ok),
        rate=stats, mib_s=mib_s, rss_mib=max(rss) if rss else None, extra=extra,
        command=next((r["command"] for r in runs if r.get("command")), ""),
        run_id=str(first.get("run_id", "")),
    )  # fmt: skip


def _sink_extra(ok: list[dict[str, Any]]) -> dict[str, Any]:
    """Driver rate, per-run ratio (driver seconds / Sluice seconds), RSS and server of a sink."""
    res = [r["result"] for r in ok if r["result"].get("seconds") and r["result"].get(
        "driver_seconds")]  # fmt: skip
    sink_rss = [r["sink_rss_kib"] / 1024 for r in res if r.get("sink_rss_kib")]
    driver_rss = [r["driver_rss_kib"] / 1024 for r in res if r.get("driver_rss_kib")]
    return {
        "target": next((r.get("target") for r in res if r.get("target")), ""),
        "server": next((r.get("server") for r in res if r.get("server")), ""),
        "driver": _stats([r["events"] / r["driver_seconds"] for r in res]),
        "ratio": _stats([r["driver_seconds"] / r["seconds"] for r in res]),
        "sink_rss_mib": max(sink_rss) if sink_rss else None,
        "driver_rss_mib": max(driver_rss) if driver_rss else None,
    }


def summarise(
    rows: Iterable[dict[str, Any]], *, quick: bool = False
) -> tuple[dict[str, list[Summary]], dict[str, dict[str, Any]]]:
    """Per workload: each tool's summary from the latest invocation that ran it, and a meta.

    The meta is the newest of those invocations' meta rows, with ``run_ids`` (all the
    invocations the section draws on) and ``versions`` merged from all of them, so
    ``make bench W=flow`` refreshes the Sluice rows and keeps the reference rows.
    """
    rows = [r for r in rows if bool(r.get("quick")) == quick]
    metas = {r["run_id"]: r for r in rows if r.get("type") == "meta"}
    latest: dict[tuple[str, str], str] = {}
    for r in rows:
        if r.get("type") == "run":
            key = (r["workload"], r["tool"])
            latest[key] = max(latest.get(key, ""), r["run_id"])
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        if r.get("type") == "run" and latest[(r["workload"], r["tool"])] == r["run_id"]:
            grouped.setdefault(r["workload"], {}).setdefault(r["tool"], []).append(r)
    out: dict[str, list[Summary]] = {}
    meta_of: dict[str, dict[str, Any]] = {}
    for workload, by_tool in grouped.items():
        summaries = [_summary(runs) for runs in by_tool.values()]
        out[workload] = sorted(summaries, key=lambda x: not x.sluice)  # Sluice rows first
        run_ids = sorted({runs[0]["run_id"] for runs in by_tool.values()})
        meta = dict(metas.get(run_ids[-1], {}))
        versions: dict[str, str] = {}
        for run_id in run_ids:
            versions.update(metas.get(run_id, {}).get("versions", {}))
        meta.update(run_id=run_ids[-1], run_ids=run_ids, versions=versions)
        meta_of[workload] = meta
    return out, meta_of


def _n(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def _runs(runs: Any) -> str:
    return f"{runs} run{'' if runs == 1 else 's'}" if runs is not None else "? runs"


def _ratio(sluice: float | None, other: float | None) -> str:
    if not sluice or not other:
        return "–"
    return f"{sluice / other:.2f}×"


def _best_sluice(summaries: list[Summary], key: str = "") -> float | None:
    vals = []
    for s in summaries:
        if s.sluice and s.status == "ok":
            v = (s.extra.get(key) or (None,))[0] if key else (s.rate[0] if s.rate else None)
            if v:
                vals.append(v)
    return max(vals) if vals else None


def _table_events(summaries: list[Summary]) -> list[str]:
    best = _best_sluice(summaries)
    w4 = any("templates" in s.extra for s in summaries)
    head = "| Tool | events/s (median) | min – max | MiB/s | peak RSS MiB | Sluice ÷ tool |"
    head += " templates |" if w4 else ""
    lines = [head + " check |", "|" + "---|" * (head.count("|") - 1 + 1)]
    for s in summaries:
        rate = s.rate
        cells = [
            f"**{s.label}**" if s.sluice else s.label,
            _n(rate[0]) if rate else "–",
            f"{_n(rate[1])} – {_n(rate[2])}" if rate else "–",
            _n(s.mib_s, 1),
            _n(s.rss_mib, 0),
            "–" if s.sluice else _ratio(best, rate[0] if rate else None),
        ]
        if w4:
            cells.append(str(s.extra.get("templates", "–")))
        cells.append(_status(s))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _status(s: Summary) -> str:
    if s.status == "ok":
        return f"pass ({s.runs} run{'s' if s.runs != 1 else ''})"
    reason = s.reason.replace("|", "\\|").replace("\n", " ")
    return f"{s.status}: {reason[:300]}"


def _table_bus(summaries: list[Summary]) -> list[str]:
    bp, bc = _best_sluice(summaries, "produce"), _best_sluice(summaries, "consume")
    lines = [
        "| Tool | produce rec/s (median, min – max) | produce MiB/s | consume rec/s "
        "(median, min – max) | consume MiB/s | peak RSS MiB | Sluice ÷ tool "
        "(produce / consume) | check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        p, c = s.extra.get("produce"), s.extra.get("consume")
        cells = [
            f"**{s.label}**" if s.sluice else s.label,
            f"{_n(p[0])} ({_n(p[1])} – {_n(p[2])})" if p else "–",
            _n(s.extra.get("produce_mib_s"), 1),
            f"{_n(c[0])} ({_n(c[1])} – {_n(c[2])})" if c else "–",
            _n(s.extra.get("consume_mib_s"), 1),
            _n(s.rss_mib, 0),
            "–" if s.sluice else
            f"{_ratio(bp, p[0] if p else None)} / {_ratio(bc, c[0] if c else None)}",
            _status(s),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _range(stats: tuple[float, float, float] | None) -> tuple[str, str]:
    return (_n(stats[0]), f"{_n(stats[1])} – {_n(stats[2])}") if stats else ("–", "–")


def _table_sinks(summaries: list[Summary]) -> list[str]:
    """One small table per target: the Sluice sink row, the plain driver row, the ratio."""
    out: list[str] = []
    for s in summaries:
        target = s.extra.get("target") or s.tool.rsplit("-", 1)[-1]
        out += [f"### {TARGETS.get(target, target)}", ""]
        if s.status != "ok":
            out += [f"{s.label}: {_status(s)}", ""]
            continue
        ratio = s.extra.get("ratio")
        shown = f"**{ratio[0]:.2f}×** ({ratio[1]:.2f} – {ratio[2]:.2f})" if ratio else "–"
        sink_rate, sink_range = _range(s.rate)
        drv_rate, drv_range = _range(s.extra.get("driver"))
        out += [
            f"{s.extra.get('server') or TARGETS.get(target, target)}. Sluice's `{target}` "
            "sink plugin (`open`, `write` per 50,000-row Arrow batch, `flush`) against the "
            f"plain driver loop: {DRIVERS.get(target, '?')}. Check: {_status(s)}.",
            "",
            "| Writer | events/s (median) | min – max | peak RSS MiB | Sluice ÷ driver |",
            "|---|---|---|---|---|",
            f"| **Sluice sink** | {sink_rate} | {sink_range} | "
            f"{_n(s.extra.get('sink_rss_mib'))} | {shown} |",
            f"| Plain driver | {drv_rate} | {drv_range} | "
            f"{_n(s.extra.get('driver_rss_mib'))} | – |",
            "",
        ]
    return out


def render(rows: list[dict[str, Any]], *, quick: bool = False) -> str:
    """The whole markdown report for the latest figures of every workload in ``rows``."""
    from bench.suite import WORKLOADS  # local: keeps report importable on its own

    summaries, metas = summarise(rows, quick=quick)
    order = [w for w in _ORDER if w in summaries]
    newest = max((metas[w] for w in order), key=lambda m: m.get("run_id", ""), default={})
    machine = newest.get("machine", {})
    date = newest.get("date", "unknown")[:19].replace("T", " ")
    out = [
        "# Sluice benchmarks",
        "",
        f"Generated by `make bench{'-quick' if quick else ''}` (`python -m bench run`) on "
        f"{date} UTC; each section names the run its figures come from. Do not edit by hand: re-run the suite, which rewrites this file from "
        "the raw results in `.bench-cache/results.jsonl`. How the suite works: "
        "[docs/benchmarks.md](docs/benchmarks.md).",
        "",
    ]
    if quick:
        out += ["> **Quick run**: small inputs and 1 run per tool; a smoke test, not figures.", ""]
    out += [
        "## Machine",
        "",
        "| CPU | cores | memory | OS | kernel | Python |",
        "|---|---|---|---|---|---|",
        f"| {machine.get('cpu', '?')} | {machine.get('cores', '?')} | "
        f"{machine.get('memory_gib', '?')} GiB | {machine.get('os', '?')} | "
        f"{machine.get('kernel', '?')} | {machine.get('python', '?')} |",
        "",
    ]
    out += [
        "The machine may be shared with other work during a run; that shows up as a wide "
        "min – max spread. Compare tools within one table, not across machines.",
        "",
    ]
    out += [
        "## Method",
        "",
        "- Every tool runs in its own process, in the same invocation, on the same input file "
        "(already in the page cache). Each figure is the **median** of the runs, with min and "
        "max; a row passes only if **every** run's output is identical to the reference answer.",
        "- Rates are input events per second of processing time, as the tool's runner measures "
        "it (interpreter start-up and imports excluded); for rsyslog and syslog-ng, from "
        "daemon start to the last expected output line. MiB/s is input bytes per second.",
        "- Peak RSS is the largest resident set of any process of the tool (`ru_maxrss` from "
        "`wait4`), the maximum over the runs.",
        "- *Sluice ÷ tool* is the best Sluice row's median rate divided by the tool's; above "
        "1× Sluice is faster. Sluice rows are in **bold**.",
        "",
    ]
    for w in order:
        wl = WORKLOADS.get(w)
        meta = metas[w]
        rows_w = summaries[w]
        n = next((r["n"] for r in rows if r.get("workload") == w
                  and r.get("run_id") == meta.get("run_id")), 0)  # fmt: skip
        title = wl.title if wl else w
        out += [f"## {title}", ""]
        load = meta.get("machine", {}).get("load_avg_1m")
        if wl:
            unit = "records" if w == "bus" else "events"
            out += [
                f"{wl.what[0].upper()}{wl.what[1:]}. Input: {n:,} {unit}; "
                f"{_runs(meta.get('runs'))} per tool; "
                + ", ".join(f"run `{r}`" for r in meta.get("run_ids", [meta.get("run_id")]))
                + (f"; load average {load} when the latest began." if load is not None else "."),
                "",
            ]
        if w == "sinks":
            out += [
                "*Sluice ÷ driver* is the median over the runs of the driver's seconds divided "
                "by the Sluice sink's on the same events in the same run (min – max in "
                "brackets); above 1× the sink is faster, and the aim is at least 0.8×. Peak "
                "RSS is the runner process's after each phase: the events table is in both, "
                "and the driver row also holds the rows as Python tuples.",
                "",
                *_table_sinks(rows_w),
            ]
        else:
            out += _table_bus(rows_w) if w == "bus" else _table_events(rows_w)
        out.append("")
        if w == "w3":
            out += memory_lines(rows, quick=quick)
    out += [
        "## Published anchors (not measured here)",
        "",
        "For orientation only; different machines and harnesses (see "
        "`shared/reference/peers-and-anchors.md`).",
        "",
        "- W1-like JSON filter: rsyslog about 148,000 events/s with 2 workers; DuckDB about "
        "2,170,000 events/s (figures quoted in the benchmark issue).",
        "- Python per-stage ceilings on a 2-vCPU EPYC: compiled regex on combined lines "
        "≈650 K lines/s; `json.loads` + `json.dumps` ≈210 K events/s.",
        "- drain3 0.9.11 with 3 masks ≈110 K lines/s on one vCPU (500 K short lines, 20 "
        "templates); Logstash 9 ≈35 K events/s per busy core on nginx lines.",
        "- Kafka 2014: one producer ≈821 K records/s, one consumer ≈940 K records/s (100 B "
        "records, 6 partitions, 3 brokers).",
        "",
    ]
    out += ["## Versions", "", "| Tool | Version |", "|---|---|"]
    versions: dict[str, str] = {}
    for w in order:
        versions.update(metas[w].get("versions", {}))
    out += [f"| {k} | {v} |" for k, v in sorted(versions.items())]
    out += [
        "",
        "## Commands",
        "",
        "Paths are relative to the repository; `$CACHE` is "
        "`.bench-cache`. Daemon configs are generated by `bench/daemons.py`.",
        "",
    ]
    for w in order:
        for s in summaries[w]:
            if s.command:
                cmd = s.command.replace(".bench-cache/", "$CACHE/")
                out.append(f"- {w} · {s.label}: `{cmd}`")
    out.append("")
    return "\n".join(out)
