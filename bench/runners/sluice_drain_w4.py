"""Sluice runner for W4: :class:`sluice.runtime.mining.TemplateMiner` over the ``message``
field, in-process.

``python -m bench.runners.sluice_drain_w4 --workload w4 --input EVENTS.jsonl --output OUT.txt``

Same contract as the drain3 runner (``bench.runners.drain3_miner``): the messages are read
first (not timed), then mined in order; the output is one cluster id per input line, in input
order; the last stdout line reports ``templates`` (clusters found) and ``templates_per_s``
(messages per second of mining). The miner runs as a ``model_ts_custom`` node would with the
log platform's defaults (one level, ``st`` 0.875, depth 7, ``max_child`` 100, case-insensitive,
1000 characters) and Sluice's default masks (``DrainConfig()``), over micro-batches of
50,000 messages (the runtime's default ``batch_records``).
"""

from __future__ import annotations

import time

import orjson
import pyarrow as pa

from bench.runners._common import emit, parse_args
from sluice.runtime.mining import DrainConfig, TemplateMiner

__all__: list[str] = []

BATCH = 50_000


def _messages(path: str) -> pa.Array:
    """The ``message`` of every line, as one Arrow string array (read in chunks, so only a
    chunk of Python strings is alive at a time)."""
    chunks: list[pa.Array] = []
    with open(path, "rb") as fh:
        while lines := fh.readlines(16 << 20):
            chunks.append(pa.array([orjson.loads(line)["message"] for line in lines], pa.string()))
    return pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())


def main() -> None:
    args = parse_args("Sluice Drain runner", ("w4",))
    messages = _messages(args.input)
    miner = TemplateMiner(DrainConfig())
    start = time.perf_counter()
    ids = [
        miner.mine(messages.slice(offset, BATCH)).cluster_ids()
        for offset in range(0, len(messages), BATCH)
    ]
    seconds = time.perf_counter() - start
    with open(args.output, "w", encoding="utf-8") as out:
        for chunk in ids:
            out.write("\n".join(map(str, chunk.to_pylist())) + "\n")
    emit({
        "events": len(messages), "seconds": seconds, "templates": miner.cluster_count(),
        "templates_per_s": len(messages) / seconds if seconds else 0.0,
    })  # fmt: skip


if __name__ == "__main__":
    main()
