"""``sluice pipeline run|test|check``: Logstash-compatible pipelines from the command line.

``run FILE`` runs a pipeline in the foreground over the embedded log under ``--data-dir``
(or Kafka with ``--bootstrap``) until Ctrl-C, or until its inputs are finite (generator with
a count, stdin) and everything they emitted went through; a status line on stderr shows
events in/out per second. ``test FILE --input EVENTS.jsonl --expect EXPECTED.jsonl`` feeds
the events through the filter section and diffs the result per event (exit 1 on a
mismatch). ``check FILE`` only compiles the config (exit 1 with a positioned error).
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from sluice.bus import BusError, open_bus
from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.run import PipelineRunner, diff_events, run_filters

__all__ = ["pipeline_app"]

pipeline_app = typer.Typer(help="Run, test and check Logstash-compatible pipelines.")

_err = Console(stderr=True)

DataDir = Annotated[
    Path,
    typer.Option("--data-dir", envvar="SLUICE_DATA_DIR", help="Data directory (bus and state)."),
]
Bootstrap = Annotated[
    str | None, typer.Option("--bootstrap", help="HOST:PORT of a Kafka cluster to use instead.")
]


def _fail(message: str) -> typer.Exit:
    _err.print(f"Error: {message}", style="red", markup=False, highlight=False)
    return typer.Exit(1)


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc}") from None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(_read(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _fail(f"{path} line {n}: not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise _fail(f"{path} line {n}: not a JSON object")
        out.append(value)
    return out


@pipeline_app.command("check")
def check_command(file: Annotated[Path, typer.Argument(help="Pipeline config file.")]) -> None:
    """Compile a pipeline config and report the first error."""
    try:
        pipeline = compile_pipeline(_read(file))
    except ConfigError as exc:
        raise _fail(f"{file}: {exc}") from None
    _err.print(
        f"{file}: OK ({len(pipeline.inputs)} inputs, {len(pipeline.filters)} filters, "
        f"{len(pipeline.outputs)} outputs)"
    )


@pipeline_app.command("test")
def pipeline_test(
    file: Annotated[Path, typer.Argument(help="Pipeline config file.")],
    input: Annotated[Path, typer.Option("--input", help="Events, one JSON object a line.")],
    expect: Annotated[Path, typer.Option("--expect", help="Expected events, JSON lines.")],
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Top-level field to leave out.")
    ] = None,
) -> None:
    """Feed events through the filter section and diff the result per event."""
    try:
        got = run_filters(_read(file), _jsonl(input))
    except ConfigError as exc:
        raise _fail(f"{file}: {exc}") from None
    problems = diff_events(got, _jsonl(expect), tuple(ignore or ()))
    if problems:
        for line in problems:
            _err.print(f"MISMATCH {line}", style="red", markup=False, highlight=False)
        raise typer.Exit(1)
    _err.print(f"[green]OK[/green] {len(got)} events match", highlight=False)


def _name(file: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", file.stem) or "main"


@pipeline_app.command("run")
def run_command(
    file: Annotated[Path, typer.Argument(help="Pipeline config file.")],
    data_dir: DataDir = Path(".sluice"),
    bootstrap: Bootstrap = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Pipeline name (default: the file's stem).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 1000,
) -> None:
    """Run a pipeline in the foreground until Ctrl-C (or until finite inputs are done)."""
    text = _read(file)
    pipeline_name = name or _name(file)
    try:
        bus = open_bus(data_dir, bootstrap)
    except (BusError, OSError) as exc:
        raise _fail(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        runner = PipelineRunner(
            pipeline_name, text, bus, data_dir / "pipelines" / pipeline_name,
            batch_size=batch_size,
        )  # fmt: skip
        runner.start()
    except ConfigError as exc:
        bus.close()
        raise _fail(f"{file}: {exc}") from None
    _err.print(f"Pipeline {pipeline_name} running (Ctrl-C stops).", highlight=False)
    finite = all(i.node.name in ("generator", "stdin") for i in runner.inputs)
    code = 0
    try:
        code = _watch(runner, stop, finite)
    finally:
        runner.stop()
        s = runner.status()
        bus.close()
        _err.print(
            f"Pipeline {pipeline_name} stopped: {s['events_in']} in, {s['events_out']} out, "
            f"{s['events_filtered']} dropped, {s['dead_letters']} dead letters.",
            highlight=False,
        )
    if code:
        raise typer.Exit(code)


def _watch(runner: PipelineRunner, stop: threading.Event, finite: bool) -> int:
    last = runner.status()
    last_t = time.monotonic()
    tty = _err.is_terminal
    while not stop.wait(1.0):
        s = runner.status()
        now = time.monotonic()
        dt = max(now - last_t, 1e-6)
        line = (
            f"in {(s['events_in'] - last['events_in']) / dt:,.0f}/s "
            f"out {(s['events_out'] - last['events_out']) / dt:,.0f}/s | total in "
            f"{s['events_in']:,} out {s['events_out']:,} lag {s['lag']:,} "
            f"dlq {s['dead_letters']:,}"
        )
        if tty:
            sys.stderr.write("\r" + line + "\033[K")
            sys.stderr.flush()
        last, last_t = s, now
        if s["input_errors"]:
            _err.print(f"\n[red]Input failed:[/red] {'; '.join(s['input_errors'])}")
            return 1
        if finite and s["inputs_finished"] and s["lag"] == 0:
            break
    if tty:
        sys.stderr.write("\n")
    return 0
