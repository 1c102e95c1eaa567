"""Benchmark runner W2: grok ``%{COMBINEDAPACHELOG}`` over an access log, to JSON lines.

Usage::

    python -m bench.runners.sluice_grok_w2 --input FILE.log --output OUT.jsonl

Reads FILE.log in blocks, turns each block into an Arrow string column (one row per
line), runs Sluice's grok kernel with the legacy ``COMBINEDAPACHELOG`` pattern, and writes
one JSON object per line with the fields legacy grok names: ``clientip, ident, auth,
timestamp, verb, request, httpversion, rawrequest, response, bytes, referrer, agent``.
All values are strings, as legacy grok captures them (no ``:int``): ``referrer`` and
``agent`` keep their surrounding double quotes (they are captured by ``QS``), ``bytes``
is absent when the log has ``-``, ``rawrequest`` appears only when the request line is
not ``VERB TARGET [HTTP/x]``. A line the pattern does not match is written as
``{"message": <line>, "tags": ["_grokparsefailure"]}``.

Blocks are processed by a small pool of threads (pyarrow and RE2 release the GIL) and
written in input order. The last stdout line is ``{"events": n, "seconds": s}``: events
written and the seconds from opening the input to closing the output (imports excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bench.runners._blocks import blocks, write_in_order
from sluice.pipeline.grok import Grok
from sluice.pipeline.jsonl import encode_jsonl
from sluice.pipeline.settings.filters import GrokSettings
from sluice.plugins.codecs.line import split_lines

__all__ = ["blocks", "main", "run"]

FIELDS = (
    "clientip",
    "ident",
    "auth",
    "timestamp",
    "verb",
    "request",
    "httpversion",
    "rawrequest",
    "response",
    "bytes",
    "referrer",
    "agent",
)


def lines_of(block: bytes) -> pa.Array:
    """The lines of ``block`` as a string column (no line ends; invalid UTF-8 replaced),
    split as the pipeline's ``file`` input splits them."""
    return split_lines(block)


def process(grok: Grok, block: bytes) -> tuple[bytes, int]:
    lines = lines_of(block)
    table, failed = grok.apply(pa.table({"message": lines}))
    any_failed = pc.any(failed).as_py()
    parsed = table.filter(pc.invert(failed)) if any_failed else table
    out = encode_jsonl(parsed.select([f for f in FIELDS if f in table.column_names]))
    if any_failed:
        bad = table.filter(failed).select(["message", "tags"])
        out += encode_jsonl(bad)  # failures go after the block's parsed lines
    return out, len(lines)


def run(input_path: Path, output_path: Path, workers: int) -> tuple[int, float]:
    start = time.perf_counter()
    grok = Grok(
        GrokSettings(
            match={"message": ["%{COMBINEDAPACHELOG}"]}, tag_on_failure=["_grokparsefailure"]
        )
    )
    events = write_in_order(input_path, output_path, partial(process, grok), workers)
    return events, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    events, seconds = run(args.input, args.output, max(1, args.workers))
    print(json.dumps({"events": events, "seconds": round(seconds, 4)}))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
