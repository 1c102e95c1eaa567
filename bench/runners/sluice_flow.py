"""Sluice row: W1 or W3 as a DataFlow flow, measured through the real server and its API.

``python -m bench.runners.sluice_flow --workload w1|w3 --input EVENTS --output OUT
--workdir DIR``. Steps, all over HTTP against a ``sluice server`` child process:

1. ``POST /v3/sluice/result_tables/``: the source RT ``1_bench_events`` (BKData fields).
2. ``POST /v3/sluice/result_tables/1_bench_events/produce/`` in chunks: pre-load the events
   (``dtEventTimeStamp = ts_ms``, the BKData event-time field). Not part of the measure.
   W3 then appends one end-of-input marker per partition (``service``/``level``
   ``__end__``, event time one day after the last event): a stream never ends, so the last
   windows close only when later events move the watermark past them, as in BKData/Flink.
   The markers' own window never closes, so they are not in the output.
3. ``POST /v3/dataflow/flow/flows/create/``: ``stream_source -> realtime -> queue_storage``
   with W1's SQL (``window_type`` ``none``) or W3's (``scroll``, ``count_freq`` 60 s,
   ``waiting_time`` 10 s).
4. ``POST /v3/dataflow/flow/flows/{id}/start/`` with ``consuming_mode=from_head``: the clock
   starts; ``GET .../latest_deploy_data/`` until the deploy is ``success``.
5. ``GET /v3/sluice/topics/queue_{rt}/`` (what the ``queue_storage`` node wrote) until it
   stops growing for ``--settle`` seconds; the clock stops at the last growth.
6. ``GET /v3/sluice/result_tables/{rt}/records/`` to read the output; ``POST .../stop/``.

Platform fields (``dtEventTime``, ``dtEventTimeStamp``, ``localTime``, ``thedate``) are
dropped from the output rows; for W3 ``dtEventTimeStamp`` (the window start, as in BKData)
becomes ``window_start``. A missing server or endpoint, or a deploy that ends in
``failure``, makes the row ``skipped`` with the exact reason.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bench.runners._server import ApiError, SluiceServer, Unavailable, server_main, settled

__all__ = ["FLOW_SQL", "build_nodes"]

BIZ = 1
SOURCE_RT = f"{BIZ}_bench_events"
FLOW_SQL = {
    "w1": "select `ts`, `host`, `service`, `level`, `status`, latency_ms * 1000 as latency_us "
    f"from {SOURCE_RT} where level in ('WARN', 'ERROR') or status >= 500",
    "w3": "select `service`, `level`, count(*) as `count`, avg(latency_ms) as avg_latency_ms, "
    f"max(latency_ms) as max_latency_ms from {SOURCE_RT} group by `service`, `level`",
}
PLATFORM_FIELDS = ("dtEventTime", "dtEventTimeStamp", "localTime", "thedate")
_FIELDS = (
    ("ts", "string"), ("ts_ms", "long"), ("host", "string"), ("service", "string"),
    ("level", "string"), ("status", "int"), ("method", "string"), ("path", "string"),
    ("latency_ms", "double"), ("bytes", "long"), ("user_id", "string"),
    ("client_ip", "string"), ("ua", "string"), ("trace_id", "string"), ("message", "string"),
)  # fmt: skip
_FLOWS = "/v3/dataflow/flow/flows"


def build_nodes(workload: str) -> list[dict[str, Any]]:
    """The BKData node list of the benchmark flow for ``workload``."""
    table = f"bench_{workload}_out"
    window: dict[str, Any] = {"window_type": "none"}
    if workload == "w3":
        window = {"window_type": "scroll", "count_freq": 60, "waiting_time": 10}
    return [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": BIZ, "name": "events",
         "result_table_id": SOURCE_RT, "from_nodes": [], "frontend_info": {"x": 40, "y": 40}},
        {"id": 2, "node_type": "realtime", "bk_biz_id": BIZ, "name": table, "table_name": table,
         "output_name": table, "sql": FLOW_SQL[workload], **window,
         "from_nodes": [{"id": 1, "from_result_table_ids": [SOURCE_RT]}],
         "frontend_info": {"x": 240, "y": 40}},
        {"id": 3, "node_type": "queue_storage", "bk_biz_id": BIZ, "name": f"{table}(queue)",
         "result_table_id": f"{BIZ}_{table}", "cluster": "default", "expires": 3,
         "from_nodes": [{"id": 2, "from_result_table_ids": [f"{BIZ}_{table}"]}],
         "frontend_info": {"x": 440, "y": 40}},
    ]  # fmt: skip


END_MARKER = "__end__"
"""``service`` and ``level`` of the W3 end-of-input markers."""


def _end_markers(last_ts_ms: int, partitions: int) -> list[dict[str, Any]]:
    """One W3 marker per partition (one produce call each: keyless calls rotate partitions)."""
    at = last_ts_ms + 86_400_000
    marker = {"service": END_MARKER, "level": END_MARKER, "latency_ms": 0.0, "ts_ms": at,
              "dtEventTimeStamp": at}  # fmt: skip
    return [dict(marker) for _ in range(partitions)]


def _chunks(path: str, size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    with open(path, "rb") as fh:
        for line in fh:
            ev = orjson.loads(line)
            ev["dtEventTimeStamp"] = ev["ts_ms"]
            batch.append(ev)
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def _topic_count(srv: SluiceServer, topic: str) -> int:
    try:
        data = srv.call("GET", f"/v3/sluice/topics/{topic}/")
    except ApiError:  # not created yet: the storage task has not started
        return 0
    parts = data.get("partitions", []) if isinstance(data, dict) else []
    return sum(int(p["latest"]) - int(p.get("earliest", 0)) for p in parts)


def _deploy_errors(record: dict[str, Any]) -> str:
    """The ERROR lines of a deploy record (English log when present), or its last line."""
    lines = str(record.get("logs_en") or "").splitlines()
    errors = [ln.split("|", 2)[2].rsplit("|", 1)[0] for ln in lines
              if ln.startswith("ERROR|") and ln.count("|") >= 3]  # fmt: skip
    if not errors:
        errors = [str(e.get("message")) for e in record.get("logs") or []
                  if isinstance(e, dict) and e.get("level") == "ERROR"]  # fmt: skip
    return "; ".join(errors) or (lines[-1] if lines else "no log lines")


def _wait_deploy(srv: SluiceServer, flow_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = srv.call("GET", f"{_FLOWS}/{flow_id}/latest_deploy_data/")
        status = record.get("status") if isinstance(record, dict) else None
        if status == "success":
            return
        if status == "failure":
            raise Unavailable(f"the flow's deploy ended in failure: {_deploy_errors(record)}")
        time.sleep(0.2)
    raise Unavailable(f"the flow's deploy did not succeed within {timeout:.0f} s")


def _read_table(srv: SluiceServer, rt: str, out: Path, workload: str) -> int:
    data = srv.call("GET", f"/v3/sluice/topics/table_{rt}/")
    written = 0
    with out.open("wb") as fh:
        for part in data.get("partitions", []):
            offset, end = int(part.get("earliest", 0)), int(part["latest"])
            while offset < end:
                page = srv.call("GET", f"/v3/sluice/result_tables/{rt}/records/", params={
                    "partition": part["partition"], "offset": offset, "limit": 10_000})  # fmt: skip
                records = page.get("records", []) if isinstance(page, dict) else page
                if not records:
                    break
                for rec in records:
                    value = rec.get("value", rec)
                    if isinstance(value, str | bytes):
                        value = orjson.loads(value)
                    if workload == "w3":
                        value["window_start"] = value.get("dtEventTimeStamp")
                    for key in PLATFORM_FIELDS:
                        value.pop(key, None)
                    fh.write(orjson.dumps(value) + b"\n")
                    written += 1
                offset = int(page.get("next_offset", offset + len(records)))
    return written


def run(srv: SluiceServer, args: argparse.Namespace) -> dict[str, Any]:
    """Steps 1-6 of the module docstring; returns the result object."""
    fields = [{"field_name": n, "field_type": t, "description": n} for n, t in _FIELDS]
    srv.call("POST", "/v3/sluice/result_tables/", json={
        "result_table_id": SOURCE_RT, "bk_biz_id": BIZ, "table_name": "bench_events",
        "partitions": 4, "fields": fields})  # fmt: skip
    started = time.perf_counter()
    events = 0
    last_ts = 0
    for batch in _chunks(args.input, 20_000):
        srv.call("POST", f"/v3/sluice/result_tables/{SOURCE_RT}/produce/",
                 content=orjson.dumps({"records": batch}),
                 headers={"content-type": "application/json"})  # fmt: skip
        events += len(batch)
        last_ts = max(last_ts, max(int(ev["ts_ms"]) for ev in batch))
    if args.workload == "w3":
        for marker in _end_markers(last_ts, 4):
            srv.call("POST", f"/v3/sluice/result_tables/{SOURCE_RT}/produce/",
                     json={"records": [marker]})  # fmt: skip
    load_seconds = time.perf_counter() - started
    flow = srv.call("POST", f"{_FLOWS}/create/", json={
        "bk_username": "bench", "project_id": 1, "flow_name": f"bench_{args.workload}",
        "nodes": build_nodes(args.workload)})  # fmt: skip
    flow_id = int(flow["flow_id"])
    out_rt = f"{BIZ}_bench_{args.workload}_out"
    topic = f"queue_{out_rt}"
    start = time.perf_counter()
    srv.call("POST", f"{_FLOWS}/{flow_id}/start/", json={"consuming_mode": "from_head"})
    _wait_deploy(srv, flow_id, timeout=120)
    _, last_change = settled(lambda: _topic_count(srv, topic), args.settle)
    seconds = last_change - start
    written = _read_table(srv, out_rt, Path(args.output), args.workload)
    srv.call("POST", f"{_FLOWS}/{flow_id}/stop/", json={})
    return {"events": events, "seconds": seconds, "load_seconds": load_seconds,
            "output_records": written, "flow_id": flow_id}  # fmt: skip


def main() -> None:
    server_main("Sluice flow runner (through the server API)", ("w1", "w3"), run, "Sluice flow run")


if __name__ == "__main__":
    main()
