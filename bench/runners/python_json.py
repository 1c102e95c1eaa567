"""Reference tool: the plain Python loop a user writes by hand, with the stdlib ``json``.

Workloads: W0 (line copy), W1 (filter + project), W2 (compiled regex), W3 (dict of
windows). :func:`run` takes the ``loads``/``dumps`` pair so ``python_orjson`` reuses it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from bench.runners._common import WINDOW_MS, emit, parse_args

__all__ = ["COMBINED", "run"]

COMBINED = re.compile(
    rb"^(?P<clientip>\S+) (?P<ident>\S+) (?P<auth>\S+) \[(?P<timestamp>[^\]]+)\] "
    rb'"(?P<verb>\S+) (?P<request>\S+) HTTP/(?P<httpversion>[^"]+)" (?P<response>\d+) '
    rb'(?P<bytes>\d+) "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"$'
)
Loads = Callable[[bytes], Any]
Dumps = Callable[[Any], bytes]


def _w0(src: Any, dst: Any, loads: Loads, dumps: Dumps) -> int:
    n = 0
    for line in src:
        dst.write(line)
        n += 1
    return n


def _w1(src: Any, dst: Any, loads: Loads, dumps: Dumps) -> int:
    n = 0
    for line in src:
        ev = loads(line)
        n += 1
        if ev["level"] in ("WARN", "ERROR") or ev["status"] >= 500:
            row = {
                "ts": ev["ts"],
                "host": ev["host"],
                "service": ev["service"],
                "level": ev["level"],
                "status": ev["status"],
                "latency_us": ev["latency_ms"] * 1000,
            }
            dst.write(dumps(row) + b"\n")
    return n


def _w2(src: Any, dst: Any, loads: Loads, dumps: Dumps) -> int:
    n = 0
    match = COMBINED.match
    for line in src:
        n += 1
        m = match(line.rstrip(b"\n"))
        if m is None:
            continue
        row: dict[str, Any] = {k: v.decode() for k, v in m.groupdict().items()}
        row["response"] = int(row["response"])
        row["bytes"] = int(row["bytes"])
        dst.write(dumps(row) + b"\n")
    return n


def _w3(src: Any, dst: Any, loads: Loads, dumps: Dumps) -> int:
    n = 0
    acc: dict[tuple[int, str, str], list[float]] = {}
    for line in src:
        ev = loads(line)
        n += 1
        key = (ev["ts_ms"] // WINDOW_MS * WINDOW_MS, ev["service"], ev["level"])
        lat = ev["latency_ms"]
        slot = acc.get(key)
        if slot is None:
            acc[key] = [1, lat, lat]
        else:
            slot[0] += 1
            slot[1] += lat
            if lat > slot[2]:
                slot[2] = lat
    for (start, service, level), (count, total, mx) in acc.items():
        row = {
            "window_start": start,
            "service": service,
            "level": level,
            "count": int(count),
            "avg_latency_ms": total / count,
            "max_latency_ms": mx,
        }
        dst.write(dumps(row) + b"\n")
    return n


WORKLOADS = {"w0": _w0, "w1": _w1, "w2": _w2, "w3": _w3}


def run(tool: str, loads: Loads, dumps: Dumps) -> None:
    """Parse the arguments, run the workload, print the result line."""
    args = parse_args(f"{tool} loop runner", tuple(WORKLOADS))
    start = time.perf_counter()
    with open(args.input, "rb") as src, open(args.output, "wb", buffering=1 << 20) as dst:
        n = WORKLOADS[args.workload](src, dst, loads, dumps)
    emit({"events": n, "seconds": time.perf_counter() - start})


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


if __name__ == "__main__":
    run("python json", json.loads, _dumps)
