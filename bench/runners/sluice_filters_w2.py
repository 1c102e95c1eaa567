"""Sluice runner for W2, in-process: the W2 pipeline's filter section over the access log.

``python -m bench.runners.sluice_filters_w2 --workload w2 --input FILE.log --output OUT.jsonl``

The filters are exactly those of the W2 pipeline the server runs (``pipeline_config`` of
:mod:`bench.runners.sluice_pipeline`: ``grok`` ``%{COMBINEDAPACHELOG}``, ``mutate``
``convert`` and ``gsub``, the ``sql`` projection), compiled by Sluice's pipeline compiler
and run by its :class:`~sluice.pipeline.executor.FilterChain` on Arrow blocks of lines
(``split_lines``, as the ``file`` input splits them), then encoded as JSON lines
(``encode_jsonl``, as the ``file`` output's ``json_lines`` codec). What it leaves out is
what the server adds around the filters: the input's bus write, the worker's fetch and the
output's file handling. Blocks are filtered by a small thread pool (Arrow and RE2 release the
GIL) and written in input order. The last stdout line is ``{"events": n, "seconds": s}``:
seconds from opening the input to closing the output (imports and compilation excluded).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa

from bench.runners._blocks import write_in_order
from bench.runners._common import emit, parse_args
from bench.runners.sluice_pipeline import pipeline_config
from sluice.pipeline.compiler import Pipeline, compile_pipeline
from sluice.pipeline.executor import FilterChain
from sluice.pipeline.jsonl import encode_jsonl
from sluice.plugins.codecs.line import split_lines
from sluice.plugins.filters import filter_kernels

__all__: list[str] = []


class _Chains:
    """One filter chain per worker thread (the ``sql`` filter's DuckDB connection is not
    shared across threads; the pipeline runs one chain per worker too)."""

    def __init__(self, config: Pipeline) -> None:
        self.config = config
        self.local = threading.local()

    def filter(self, block: bytes) -> tuple[bytes, int]:
        chain: FilterChain | None = getattr(self.local, "chain", None)
        if chain is None:
            chain = self.local.chain = FilterChain(self.config.filters, filter_kernels())
        lines = split_lines(block)
        out = chain.run(pa.table({"message": lines}))
        return encode_jsonl(out), len(lines)


def main() -> None:
    args = parse_args("Sluice W2 filter chain (in-process)", ("w2",))
    chains = _Chains(compile_pipeline(pipeline_config("w2", args.input, args.output)))
    workers = max(1, os.cpu_count() or 1)
    start = time.perf_counter()
    events = write_in_order(Path(args.input), Path(args.output), chains.filter, workers)
    emit({"events": events, "seconds": time.perf_counter() - start})


if __name__ == "__main__":
    main()
