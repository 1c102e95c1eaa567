"""Child process for the crash test: window a JSON-lines file with periodic atomic checkpoints.

``python windows_crash_child.py INPUT WORKDIR KIND CHUNK_LINES SLEEP_S``

Every chunk: decode, ``process``, append the emitted rows and DLQ records to
``WORKDIR/out.jsonl`` (fsync), then checkpoint state + input byte offset + output length
atomically. On start it restores the last checkpoint, truncates the output to the length
recorded with it (outputs written after that checkpoint are discarded, as a transactional
sink would) and resumes reading at the recorded offset. At end of input it flushes the
operator and records a finished checkpoint.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj

from sluice.windows import (
    AggSpec,
    WindowConfig,
    WindowOperator,
    WindowOutput,
    read_checkpoint,
    write_checkpoint,
)

SCHEMA = pa.schema([("dtEventTimeStamp", pa.int64()), ("k", pa.string()), ("v", pa.int64())])
AGGS = [
    AggSpec(func="count", alias="n"),
    AggSpec(func="sum", column="v", alias="s"),
    AggSpec(func="max", column="v", alias="hi"),
    AggSpec(func="last", column="v", alias="lst"),
    AggSpec(func="count_distinct", column="v", alias="nd"),
]
CONFIGS = {
    "scroll": WindowConfig(
        window_type="scroll",
        count_freq=60,
        waiting_time=10,
        allowed_lateness=True,
        lateness_time=1,
        lateness_count_freq=60,
        idle_timeout_ms=0,
    ),
    "session": WindowConfig(
        window_type="session", session_gap=30, waiting_time=10, idle_timeout_ms=0
    ),
}


def lines(out: WindowOutput) -> list[str]:
    rows = [("row", r) for r in out.rows.to_pylist()]
    rows += [("fix", r) for r in out.corrections.to_pylist()]
    rows += [("late", r) for r in out.late.to_pylist()]
    return [json.dumps({"kind": kind, **row}, sort_keys=True) + "\n" for kind, row in rows]


def main() -> None:
    source, workdir, kind, chunk, pause = sys.argv[1:6]
    folder = Path(workdir)
    out_path = folder / "out.jsonl"
    op = WindowOperator(CONFIGS[kind], ["k"], AGGS)
    offset, out_len = 0, 0
    ckpt = read_checkpoint(folder)
    if ckpt is not None:
        if ckpt.meta.get("finished"):
            return
        op.restore(ckpt.state)
        offset, out_len = ckpt.offsets["input"], int(ckpt.meta["output_len"])
    with open(out_path, "ab") as out:
        out.truncate(out_len)
    with open(source, "rb") as src, open(out_path, "a", encoding="utf-8") as out:
        src.seek(offset)
        while True:
            block = b"".join(src.readline() for _ in range(int(chunk)))
            if not block:
                break
            table = pj.read_json(
                pa.BufferReader(block), parse_options=pj.ParseOptions(explicit_schema=SCHEMA)
            )
            out.writelines(lines(op.process(table, 0, now_ms=0)))
            out.flush()
            os.fsync(out.fileno())
            write_checkpoint(
                folder, op.snapshot(), {"input": src.tell()}, {"output_len": out.tell()}
            )
            time.sleep(float(pause))
        out.writelines(lines(op.flush()))
        out.flush()
        os.fsync(out.fileno())
        write_checkpoint(
            folder,
            op.snapshot(),
            {"input": src.tell()},
            {"output_len": out.tell(), "finished": True},
        )


if __name__ == "__main__":
    main()
