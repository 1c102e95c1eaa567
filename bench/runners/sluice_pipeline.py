"""Sluice row: W0, W1, W2 or W3 as a Logstash-style pipeline, run by the real server.

``python -m bench.runners.sluice_pipeline --workload w0|w1|w2|w3 --input IN --output OUT
--workdir DIR``. Over HTTP against a ``sluice server`` child process:

0. W3 only, before the clock starts: the input is copied into the workdir and one
   end-of-input marker appended (``service``/``level`` ``__end__``, event time one day
   after the last event): a stream never ends, so the last windows close only when a later
   event moves the watermark past them, as in :mod:`bench.runners.sluice_flow`. The
   marker's own window never closes (``idle_timeout => 0``) and the ``sql`` filter that
   writes the W3 contract rows leaves it out anyway.

1. ``POST /v3/sluice/pipelines/`` with ``{"name", "config"}``: the pipeline text
   from :func:`pipeline_config` (``file`` input from the beginning, the workload's filters,
   ``file`` output with ``json_lines``).
2. ``POST /v3/sluice/pipelines/{id}/start/``: the clock starts.
3. The output file is polled (every 50 ms, reading only what was appended since the last
   poll) until it stops growing for ``--settle`` seconds; the clock stops at the last growth. ``POST /v3/sluice/pipelines/{id}/stop/``.

A missing server or endpoint makes the row ``skipped`` with the exact reason.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import orjson

from bench.runners._server import SluiceServer, server_main, settled
from bench.runners.sluice_flow import END_MARKER

__all__ = ["pipeline_config"]

_W1_KEEP = ("ts", "host", "service", "level", "status", "latency_us")
_W2_KEEP = (
    "clientip", "ident", "auth", "timestamp", "verb", "request", "httpversion", "response",
    "bytes", "referrer", "agent",
)  # fmt: skip


def pipeline_config(workload: str, input_path: str, output: str) -> str:
    """The pipeline text of ``workload`` (Logstash config language)."""
    if workload == "w0":
        return (
            f'input {{ file {{ path => "{input_path}" start_position => "beginning" '
            "codec => line } }\n"
            f'output {{ file {{ path => "{output}" codec => line {{ format => "%{{message}}" }} }} }}\n'
        )
    if workload == "w1":
        return (
            f'input {{ file {{ path => "{input_path}" start_position => "beginning" '
            "codec => json } }\n"
            # Sluice's own ``sql`` filter does the projection and the arithmetic that
            # Logstash needs the community ``math`` and the ``prune`` filters for.
            "filter {\n"
            '  if [level] in ["WARN", "ERROR"] or [status] >= 500 {\n'
            '    sql { statement => "SELECT ts, host, service, level, status, '
            'latency_ms * 1000 AS latency_us FROM events" }\n'
            "  } else {\n    drop { }\n  }\n}\n"
            f'output {{ file {{ path => "{output}" codec => json_lines }} }}\n'
        )
    if workload == "w2":
        return (
            f'input {{ file {{ path => "{input_path}" start_position => "beginning" }} }}\n'
            "filter {\n"
            '  grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }\n'
            '  mutate { convert => { "response" => "integer" "bytes" => "integer" }\n'
            '           gsub => [ "referrer", "^\\"|\\"$", "", "agent", "^\\"|\\"$", "" ] }\n'
            # Sluice's ``sql`` filter keeps the grok fields of the reference (Logstash
            # would use ``prune``, which Sluice does not have).
            f'  sql {{ statement => "SELECT {", ".join(_W2_KEEP)} FROM events" }}\n}}\n'
            f'output {{ file {{ path => "{output}" codec => json_lines }} }}\n'
        )
    if workload == "w3":
        return (
            f'input {{ file {{ path => "{input_path}" start_position => "beginning" '
            "codec => json } }\n"
            "filter {\n"
            # Sluice's own ``window`` filter: BKData's scroll window as the flow row runs it
            '  window { type => "scroll" size => 60 waiting_time => 10 timestamp => "ts_ms"\n'
            '           idle_timeout => 0 group_by => ["service", "level"]\n'
            '           aggregates => { "count" => "count(*)" '
            '"avg_latency_ms" => "avg(latency_ms)" "max_latency_ms" => "max(latency_ms)" } }\n'
            '  sql { statement => "SELECT dtEventTimeStamp AS window_start, service, level, '
            f"count, avg_latency_ms, max_latency_ms FROM events WHERE service <> '{END_MARKER}'"
            '" }\n}\n'
            f'output {{ file {{ path => "{output}" codec => json_lines }} }}\n'
        )
    raise ValueError(f"no pipeline for workload {workload!r}")


def w3_input(events: Path, workdir: Path) -> Path:
    """Step 0: ``events`` plus the end-of-input marker, as a file in ``workdir``."""
    target = workdir / "w3-input.jsonl"
    last = 0
    with events.open("rb") as src, target.open("wb") as dst:
        for line in src:
            if line.strip():
                last = max(last, int(orjson.loads(line)["ts_ms"]))
                dst.write(line if line.endswith(b"\n") else line + b"\n")
        at = last + 86_400_000
        dst.write(orjson.dumps({"ts_ms": at, "service": END_MARKER, "level": END_MARKER,
                                "latency_ms": 0.0}) + b"\n")  # fmt: skip
    return target


class _LineCounter:
    """Lines in a growing file, counted incrementally: each call reads only the bytes
    appended since the previous one (re-reading a large output every poll would take a
    CPU from the pipeline being measured)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.count = 0

    def __call__(self) -> int:
        try:
            with self.path.open("rb") as fh:
                if fh.seek(0, 2) < self.offset:  # replaced or truncated: count again
                    self.offset = self.count = 0
                fh.seek(self.offset)
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    self.count += chunk.count(b"\n")
                    self.offset += len(chunk)
        except FileNotFoundError:
            return 0
        return self.count


def run(srv: SluiceServer, args: argparse.Namespace) -> dict[str, Any]:
    """Steps 1-3 of the module docstring; returns the result object."""
    pid = f"bench_{args.workload}"
    out = Path(args.output)
    source = Path(args.input).resolve()
    if args.workload == "w3":
        source = w3_input(source, Path(args.workdir).resolve())
    config = pipeline_config(args.workload, str(source), str(out.resolve()))
    srv.call("POST", "/v3/sluice/pipelines/", json={"name": pid, "config": config})
    start = time.perf_counter()
    srv.call("POST", f"/v3/sluice/pipelines/{pid}/start/", json={})
    last, last_change = settled(_LineCounter(out), args.settle)
    seconds = last_change - start
    srv.call("POST", f"/v3/sluice/pipelines/{pid}/stop/", json={})
    return {"events": count_lines(args.input), "seconds": seconds, "output_records": last}


def count_lines(path: str) -> int:
    """Lines (``\\n``) in the file at ``path``, read in 4 MiB blocks."""
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 22), b""))


def main() -> None:
    server_main(
        "Sluice pipeline runner (through the server)",
        ("w0", "w1", "w2", "w3"),
        run,
        "Sluice pipeline run",
    )


if __name__ == "__main__":
    main()
