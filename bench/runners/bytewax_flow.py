"""Reference tool: a Bytewax dataflow (one worker), W1 (map/filter) and W3 (event-time windows).

Runs in the cache virtualenv ``.bench-cache/venv-bytewax``. W3 uses Bytewax's
``EventClock`` with 5 s of allowed delay (the data has up to 2 s of jitter) and a 60 s
``TumblingWindower`` aligned to the epoch, so its windows equal the batch answer.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.connectors.files import FileSink, FileSource
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, TumblingWindower
from bytewax.testing import run_main

from bench.runners._common import WINDOW_MS, emit, parse_args

__all__: list[str] = []

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COUNT = [0]


def _parse(line: str) -> dict[str, Any]:
    _COUNT[0] += 1
    ev: dict[str, Any] = json.loads(line)
    return ev


def _keep(ev: dict[str, Any]) -> bool:
    return ev["level"] in ("WARN", "ERROR") or ev["status"] >= 500


def _project(ev: dict[str, Any]) -> str:
    return json.dumps(
        {
            "ts": ev["ts"],
            "host": ev["host"],
            "service": ev["service"],
            "level": ev["level"],
            "status": ev["status"],
            "latency_us": ev["latency_ms"] * 1000,
        },
        separators=(",", ":"),
    )


def _w1(flow: Dataflow, events: Any) -> Any:
    return op.map("project", op.filter("keep", events, _keep), _project)


def _fold(acc: list[float], ev: dict[str, Any]) -> list[float]:
    lat = ev["latency_ms"]
    return [acc[0] + 1, acc[1] + lat, max(acc[2], lat)]


def _merge(a: list[float], b: list[float]) -> list[float]:
    return [a[0] + b[0], a[1] + b[1], max(a[2], b[2])]


def _row(item: tuple[str, tuple[int, list[float]]]) -> str:
    key, (window_id, (count, total, mx)) = item
    service, level = key.split("|", 1)
    row = {
        "window_start": window_id * WINDOW_MS,
        "service": service,
        "level": level,
        "count": int(count),
        "avg_latency_ms": total / count,
        "max_latency_ms": mx,
    }
    return json.dumps(row, separators=(",", ":"))


def _w3(flow: Dataflow, events: Any) -> Any:
    keyed = op.key_on("key", events, lambda ev: f"{ev['service']}|{ev['level']}")
    clock = EventClock(
        lambda ev: datetime.fromtimestamp(ev["ts_ms"] / 1000, tz=UTC),
        wait_for_system_duration=timedelta(seconds=5),
    )
    windower = TumblingWindower(length=timedelta(milliseconds=WINDOW_MS), align_to=_EPOCH)
    out = win.fold_window("agg", keyed, clock, windower, lambda: [0, 0.0, float("-inf")],
                          _fold, _merge)  # fmt: skip
    return op.map("row", out.down, _row)


def main() -> None:
    args = parse_args("Bytewax runner", ("w1", "w3"))
    flow = Dataflow(f"bench_{args.workload}")
    events = op.map("parse", op.input("in", flow, FileSource(args.input)), _parse)
    lines = (_w1 if args.workload == "w1" else _w3)(flow, events)
    keyed = op.map("route", lines, lambda line: ("out", line))  # FileSink routes by key
    op.output("out", keyed, FileSink(args.output))
    start = time.perf_counter()
    run_main(flow)
    emit({"events": _COUNT[0], "seconds": time.perf_counter() - start})


if __name__ == "__main__":
    main()
