"""SIGKILL a real server while a windowed node holds open windows; the restart loses nothing.

A ``sluice server`` child runs ``stream_source -> realtime (scroll 60 s, waiting 10 s:
count, sum, max per service) -> queue_storage`` while the test produces the input chunk by
chunk. After each chunk is read, the child is killed with SIGKILL as soon as it has read
records past its latest checkpoint (one is written at most every 2 s, so the chunk that
follows a checkpoint is read before the next), with windows open and input still to come:
mid-stream by construction, however fast or slow the machine. It is restarted on the same
data dir (the flow resumes with ``continue``: state and offsets come from the node's
checkpoint), receives the remaining chunks, and a far-future heartbeat closes every window. Every emitted row, including rows emitted again after the
restart (at-least-once output), must equal the uninterrupted answer, and every window must be
there: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from e2e_windows_helpers import WINDOW_ENV

from sluice.runtime.tasks.checkpoint import state_dir
from sluice.testing import read_records
from sluice.windows import read_checkpoint

FLOW = "/v3/dataflow/flow"
SRC, OUT = "591_wcrash_src", "591_wcrash_out"
T0 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000
STEP_MS = 37
SERVICES = 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A ``sluice server`` child on a free port with the windowed-task settings."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self._log = log.open("ab")
        env = {**os.environ, **WINDOW_ENV, "SLUICE_WINDOW_CHECKPOINT_INTERVAL_MS": "2000"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sluice.cli.main", "server", "--port", str(self.port),
             "--data-dir", str(data_dir)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.client.get("/healthz")
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("sluice server did not start")

    def call(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        data = self.client.request(method, url, json=body, **kwargs).json()
        assert data["result"] is True, data
        return data["data"]

    def node(self, flow_id: int, name: str) -> dict[str, Any]:
        ids = {n["node_name"]: n["node_id"] for n in
               self.call("GET", f"{FLOW}/flows/{flow_id}/graph/")["nodes"]}  # fmt: skip
        monitor = self.call("GET", f"{FLOW}/flows/{flow_id}/monitor_data/")
        totals: dict[str, Any] = monitor["data_loss_io_total"][str(ids[name])]
        return totals

    def rows(self, rt: str) -> list[dict[str, Any]]:
        return read_records(self.client, rt)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.client.close()
        self._log.close()

    def terminate(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def _nodes() -> list[dict[str, Any]]:
    sql = (f"select service, count(*) as cnt, sum(latency) as total, max(latency) as mx "
           f"from {SRC} group by service")  # fmt: skip
    return [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "src",
         "result_table_id": SRC, "from_nodes": []},
        {"id": 2, "node_type": "realtime", "bk_biz_id": 591, "name": "win",
         "table_name": "wcrash_out", "sql": sql, "window_type": "scroll", "count_freq": 60,
         "waiting_time": 10, "from_nodes": [{"id": 1, "from_result_table_ids": [SRC]}]},
        {"id": 3, "node_type": "queue_storage", "bk_biz_id": 591, "name": "out(queue)",
         "result_table_id": OUT, "cluster": "default", "expires": 1,
         "from_nodes": [{"id": 2, "from_result_table_ids": [OUT]}]},
    ]  # fmt: skip


def _record(i: int) -> dict[str, Any]:
    return {
        "service": f"s{i % SERVICES}",
        "latency": i % 1000,
        "dtEventTimeStamp": T0 + i * STEP_MS,
    }


def _expected(total: int) -> dict[tuple[int, str], tuple[int, int, int]]:
    acc: dict[tuple[int, str], list[int]] = {}
    for i in range(total):
        rec = _record(i)
        key = (rec["dtEventTimeStamp"] // 60_000 * 60_000, rec["service"])
        slot = acc.setdefault(key, [0, 0, 0])
        slot[0] += 1
        slot[1] += rec["latency"]
        slot[2] = max(slot[2], rec["latency"])
    return {k: (c, s, m) for k, (c, s, m) in acc.items()}


def _produce(server: Proc, start: int, count: int) -> None:
    records = [_record(i) for i in range(start, start + count)]
    server.call("POST", f"/v3/sluice/result_tables/{SRC}/produce/", {"records": records})


def test_sigkill_with_open_windows_loses_and_duplicates_no_count(tmp_path: Path) -> None:
    total, chunk = 240_000, 20_000
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    first = Proc(data_dir, log)
    try:
        first.call("POST", "/v3/sluice/result_tables/", {
            "bk_biz_id": 591, "table_name": "wcrash_src",
            "fields": [{"field_name": "service", "field_type": "string"},
                       {"field_name": "latency", "field_type": "long"}]})  # fmt: skip
        flow_id = first.call("POST", f"{FLOW}/flows/create/",
                             {"project_id": 1, "flow_name": "wcrash", "nodes": _nodes()})["flow_id"]  # fmt: skip
        first.call("POST", f"{FLOW}/flows/{flow_id}/start/", {"consuming_mode": "continue"})
        node_id = {n["node_name"]: n["node_id"] for n in
                   first.call("GET", f"{FLOW}/flows/{flow_id}/graph/")["nodes"]}["win"]  # fmt: skip
        folder = state_dir(data_dir, flow_id, node_id)
        deadline = time.monotonic() + 120
        produced = 0
        while True:  # one chunk at a time, until records were read past a checkpoint
            assert produced < total, "no chunk was read past a checkpoint"
            _produce(first, produced, chunk)
            produced += chunk
            while (read_before := int(first.node(flow_id, "win")["input"])) < produced:
                assert time.monotonic() < deadline, f"the node read {read_before} of {produced}"
                time.sleep(0.01)
            stored = read_checkpoint(folder) if folder.exists() else None
            checkpointed = sum(stored.offsets.values()) if stored else 0
            if 0 < checkpointed < read_before and produced < total:
                break
    except BaseException:
        first.terminate()
        raise
    first.kill()
    # What the restart resumes from: the checkpoint file as the kill left it (atomic).
    stored = read_checkpoint(folder)
    assert stored is not None
    resumed = sum(stored.offsets.values())
    assert 0 < resumed <= read_before < total
    second = Proc(data_dir, log)
    try:
        for start in range(produced, total, chunk):  # the input still to come
            _produce(second, start, chunk)
        deadline = time.monotonic() + 120
        while True:
            node = second.node(flow_id, "win")
            if node["lag"] == 0 and node["input"] >= total - resumed:
                replayed = int(node["input"])
                break
            assert time.monotonic() < deadline, f"the node did not catch up: {node}"
            time.sleep(0.1)
        expected = _expected(total)
        beat = {"service": "heartbeat", "latency": 0, "dtEventTimeStamp": T0 + 86_400_000}
        rows: list[dict[str, Any]] = []
        while len({(r["dtEventTimeStamp"], r["service"]) for r in rows}) < len(expected):
            assert time.monotonic() < deadline, f"{len(rows)} rows of {len(expected)} windows"
            second.call("POST", f"/v3/sluice/result_tables/{SRC}/produce/", {"records": [beat]})
            time.sleep(0.1)
            rows = second.rows(OUT)
        status = second.call("GET", f"{FLOW}/flows/{flow_id}/graph/")["nodes"]
    finally:
        second.terminate()
    assert {n["node_name"]: n["status"] for n in status}["win"] == "running"
    # The restart resumed from a checkpoint taken mid-stream, not from the beginning.
    # The restart resumed from the mid-stream checkpoint: it read exactly what follows it.
    assert replayed == total - resumed, f"the restart read {replayed} of {total}"
    got = Counter((r["dtEventTimeStamp"], r["service"]) for r in rows)
    assert set(got) == set(expected)
    wrong = [r for r in rows
             if (r["cnt"], r["total"], r["mx"]) != expected[(r["dtEventTimeStamp"], r["service"])]]  # fmt: skip
    assert wrong == []
    print(
        f"window crash test: {total} records, {read_before} read before SIGKILL, "
        f"{resumed} in the checkpoint, "
        f"{replayed} read after the restart, "
        f"{len(expected)} windows, "
        f"{sum(got.values()) - len(got)} rows emitted again after the restart"
    )
