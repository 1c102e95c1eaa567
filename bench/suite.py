"""The benchmark run: data, reference answers, every tool, N runs each, raw results.

Who calls it: ``python -m bench run`` (:mod:`bench.__main__`). For each selected workload
the suite generates (or reuses) the seeded input, computes the reference answer, makes
each tool ready (:func:`bench.tools.provision`), runs it ``runs`` times in its own process
(:mod:`bench.measure`), checks every output against the reference answer
(:mod:`bench.check`) and appends one JSON line per run to the results file. A tool that
fails or cannot be installed is recorded as ``failed``/``skipped`` with its reason and the
suite goes on with the others.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import gen
from bench.check import check_output, reference_answer
from bench.daemons import rsyslog_config, syslog_ng_config
from bench.measure import Measured, run_command, run_daemon
from bench.memory import run_memory_check
from bench.sinks import check_sink, sink_argv
from bench.tools import REPO, TOOLS, Ready, Skip, Tool, provision

__all__ = ["WORKLOADS", "Options", "Workload", "machine_info", "run_suite"]

SEED = 42
BUS_PARTITIONS = 4
BUS_RECORD_SIZE = 100


@dataclass(frozen=True, slots=True)
class Workload:
    """One workload: its input dataset and sizes (full run and ``--quick``)."""

    name: str
    title: str
    dataset: str
    n: int
    quick_n: int
    what: str


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("w0", "W0 pass-through", "events", 2_000_000, 20_000,
                 "read JSON lines, write them out unchanged"),
        Workload("w1", "W1 json-filter-project", "events", 2_000_000, 20_000,
                 "keep level in (WARN, ERROR) or status >= 500; project 5 fields and "
                 "latency_us = latency_ms * 1000"),
        Workload("w2", "W2 regex-parse", "combined", 1_000_000, 20_000,
                 "parse nginx combined lines (grok COMBINEDAPACHELOG) into JSON lines"),
        Workload("w3", "W3 tumbling window", "events", 2_000_000, 20_000,
                 "60 s event-time windows by service, level: count, avg and max latency"),
        Workload("w4", "W4 log template mining", "events", 1_000_000, 20_000,
                 "Drain over the message field; clusters must equal the 100 templates"),
        Workload("bus", "Bus produce/consume", "", 5_000_000, 50_000,
                 f"records of {BUS_RECORD_SIZE} B, {BUS_PARTITIONS} partitions"),
        Workload("sinks", "Sinks: MariaDB, PostgreSQL, Redis", "", 1_000_000, 20_000,
                 "write log-like events into each store through Sluice's sink plugin, then "
                 "the same events with the plain driver in one loop, in the same process"),
    )
}  # fmt: skip


@dataclass(slots=True)
class Options:
    """What to run: workloads, quick mode, runs per tool, cache dir, per-run timeout."""

    workloads: list[str]
    quick: bool
    runs: int
    cache: Path
    timeout: float
    sluice_only: bool = False


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, OS and Python of this machine."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _rel(text: str) -> str:
    return text.replace(str(REPO) + "/", "").replace(str(REPO), ".")


SETTLING = frozenset({"sluice-flow", "sluice-pipeline", "sluice-pipeline-tcp"})
"""Runners that end when their output stops growing for ``--settle`` seconds (3 by default)."""
QUICK_SETTLE = 1.0
"""``--settle`` in ``--quick`` runs (small inputs: a second without output means done)."""


def _command(
    tool: Tool,
    ready: Ready,
    wl: Workload,
    inp: Path,
    out: Path,
    work: Path,
    n: int,
    quick: bool = False,
) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **ready.env}
    if tool.kind == "sink":
        return sink_argv(ready.python, tool.module, tool.target, n), env
    if tool.kind == "bus":
        return [
            ready.python, "-m", tool.module, "--records", str(n), "--partitions",
            str(BUS_PARTITIONS), "--record-size", str(BUS_RECORD_SIZE), "--workdir", str(work),
        ], env  # fmt: skip
    if tool.kind == "runner":
        settle = ["--settle", str(QUICK_SETTLE)] if quick and tool.name in SETTLING else []
        return [
            ready.python, "-m", tool.module, "--workload", wl.name, "--input", str(inp),
            "--output", str(out), "--workdir", str(work), *settle,
        ], env  # fmt: skip
    conf = work / f"{tool.name}.conf"
    if tool.name == "rsyslog":
        conf.write_text(rsyslog_config(wl.name, inp, out, work), encoding="utf-8")
        return [ready.binary, "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")], env
    major_minor = ".".join(ready.version.split(".")[:2])
    conf.write_text(syslog_ng_config(wl.name, inp, out, major_minor), encoding="utf-8")
    return [
        ready.binary, "-F", "-f", str(conf), f"--module-path={ready.env['SYSLOG_NG_MODULE_PATH']}",
        "-R", str(work / "persist"), "-p", str(work / "pid"), "-c", str(work / "ctl"),
        "--no-caps",
    ], env  # fmt: skip


def _check_bus(m: Measured, n: int) -> tuple[bool, str]:
    r = m.result
    missing = [k for k in ("records", "produce_seconds", "consume_seconds", "consumed")
               if k not in r]  # fmt: skip
    if missing:
        return False, f"the bus runner's result lacks {', '.join(missing)}"
    if r["records"] != n or r["consumed"] != n:
        return False, f"produced {r['records']} and consumed {r['consumed']}, expected {n}"
    return True, f"{n} records produced and consumed back (checksum {r.get('checksum')})"


class _Recorder:
    def __init__(self, path: Path, run_id: str, quick: bool) -> None:
        self.path, self.run_id, self.quick = path, run_id, quick
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict[str, Any]) -> None:
        row = {"run_id": self.run_id, "quick": self.quick, **row}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def _tools_for(wl: Workload, sluice_only: bool) -> list[Tool]:
    return [t for t in TOOLS if wl.name in t.workloads and (t.sluice or not sluice_only)]


def run_suite(
    opts: Options,
    results: Path,
    progress: Callable[[str, int], None] = lambda desc, advance: None,
) -> str:
    """Run the selected workloads, append raw rows to ``results``; return the run id.

    ``progress(description, advance)`` is called before each step (advance 0) and after
    each run (advance 1); the total number of steps is :func:`count_steps`.
    """
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    rec = _Recorder(results, run_id, opts.quick)
    meta: dict[str, Any] = {"type": "meta", "date": datetime.now(UTC).isoformat(),
                            "machine": machine_info(), "runs": opts.runs, "versions": {},
                            "workloads": opts.workloads}  # fmt: skip
    try:
        _run_workloads(opts, rec, meta, progress)
    finally:
        rec.write(meta)
    return run_id


def _run_workloads(
    opts: Options, rec: _Recorder, meta: dict[str, Any], progress: Callable[[str, int], None]
) -> dict[str, Any]:
    data_dir = opts.cache / "data"
    provisioned: dict[str, Ready | Skip] = {}
    for name in opts.workloads:
        wl = WORKLOADS[name]
        n = wl.quick_n if opts.quick else wl.n
        tools = _tools_for(wl, opts.sluice_only)
        inp, templates, ref = Path(), None, {}
        if wl.dataset:
            progress(f"{wl.title}: generating {n:,} events (cached after the first time)", 0)
            inp = gen.ensure_dataset(data_dir, wl.dataset, n, SEED)
            if name == "w4":
                templates = gen.ensure_dataset(data_dir, "templates", n, SEED)
            progress(f"{wl.title}: computing the reference answer", 0)
            ref = reference_answer(name, inp, data_dir)
        input_bytes = inp.stat().st_size if wl.dataset else n * BUS_RECORD_SIZE
        if name == "sinks":
            input_bytes = 0  # events generated in the runner; no input file
        for tool in tools:
            if tool.name not in provisioned:
                progress(f"{wl.title}: preparing {tool.title}", 0)
                try:
                    provisioned[tool.name] = provision(tool, opts.cache)
                except Exception as exc:  # a broken install never stops the other tools
                    provisioned[tool.name] = Skip(f"preparing the tool raised {exc!r}")
            ready = provisioned[tool.name]
            base = {"type": "run", "workload": name, "tool": tool.name, "label": tool.title,
                    "sluice": tool.sluice, "n": n, "input_bytes": input_bytes}  # fmt: skip
            if isinstance(ready, Skip):
                rec.write({**base, "status": "skipped", "reason": ready.reason})
                progress(f"{wl.title}: {tool.title} skipped", opts.runs)
                continue
            meta["versions"][tool.name] = ready.version
            for i in range(opts.runs):
                progress(f"{wl.title}: {tool.title} run {i + 1}/{opts.runs}", 0)
                try:
                    row = _one_run(tool, ready, wl, n, inp, templates, ref, opts, i)
                except Exception as exc:  # a failed tool never aborts the others
                    row = {"run": i, "status": "failed", "reason": f"the suite raised {exc!r}"}
                rec.write({**base, **row})
                progress(f"{wl.title}: {tool.title} run {i + 1}/{opts.runs}", 1)
                if row["status"] == "skipped":  # no point in repeating a skip
                    progress(f"{wl.title}: {tool.title} skipped", opts.runs - i - 1)
                    break
        window = provisioned.get("sluice-window")
        if name == "w3" and isinstance(window, Ready):
            progress(f"{wl.title}: memory with distinct keys", 0)
            work = opts.cache / "work" / "w3-memory"
            try:
                check = run_memory_check(window.python, REPO, work, quick=opts.quick,
                                         timeout=opts.timeout)  # fmt: skip
            except Exception as exc:  # a failed check never aborts the suite
                check = {"status": "failed", "reason": f"the suite raised {exc!r}"}
            rec.write({"type": "memory", "workload": "w3", **check})
    return meta


def _one_run(
    tool: Tool,
    ready: Ready,
    wl: Workload,
    n: int,
    inp: Path,
    templates: Path | None,
    ref: dict[str, Any],
    opts: Options,
    i: int,
) -> dict[str, Any]:
    work = opts.cache / "work" / f"{wl.name}-{tool.name}-{i}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out = work / "out.txt"
    argv, env = _command(tool, ready, wl, inp, out, work, n, opts.quick)
    command = _rel(shlex.join(argv))
    if tool.kind == "daemon":
        m = run_daemon(argv, cwd=work, env=env, output=out, expected_lines=int(ref["count"]),
                       timeout=opts.timeout, logdir=work / "log")  # fmt: skip
        m.result["events"] = n
    else:
        m = run_command(argv, cwd=REPO, env=env, timeout=opts.timeout, logdir=work / "log")
    row: dict[str, Any] = {"run": i, "command": command, "wall_seconds": m.wall_seconds,
                           "max_rss_kib": m.max_rss_kib, "result": m.result}  # fmt: skip
    if "skipped" in m.result:
        row.update(status="skipped", reason=str(m.result["skipped"]))
    elif m.error:
        row.update(status="failed", reason=m.error)
    elif tool.kind == "bus":
        ok, detail = _check_bus(m, n)
        row.update(status="ok" if ok else "failed", check=detail)
    elif tool.kind == "sink":
        ok, detail = check_sink(m.result, n)
        row.update(status="ok" if ok else "failed", check=detail)
    else:
        started = time.perf_counter()
        result = check_output(wl.name, out, inp, ref, templates=templates, result=m.result)
        row.update(status="ok" if result.ok else "failed", check=result.detail,
                   check_seconds=time.perf_counter() - started)  # fmt: skip
        if m.result.get("events") != n and result.ok:
            row.update(status="failed", check=f"processed {m.result.get('events')} of {n}")
    if row["status"] == "ok":
        shutil.rmtree(work, ignore_errors=True)
    else:
        out.unlink(missing_ok=True)
    return row


def count_steps(opts: Options) -> int:
    """Total progress steps of :func:`run_suite` (one per run of each tool)."""
    return sum(len(_tools_for(WORKLOADS[w], opts.sluice_only)) * opts.runs for w in opts.workloads)
