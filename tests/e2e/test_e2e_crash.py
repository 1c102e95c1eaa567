"""SIGKILL the server while a flow is processing, restart it, and check nothing was lost.

A real ``sluice server`` process runs ``stream_source -> realtime -> hdfs_storage`` over
pre-loaded records with unique ids. It is killed with SIGKILL 1.5 s after the realtime node
has read anything (mid-stream), restarted on the same data dir (the flow resumes with ``continue``), and
the Parquet output must then hold every id at least once. Duplicates (at-least-once
delivery) are counted and reported.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as ds
import pytest

FLOW = "/v3/dataflow/flow"
SRC = "591_crash_src"
OUT = "591_crash_out"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A ``sluice server`` child on a free port."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sluice.cli.main", "server", "--port", str(self.port),
             "--data-dir", str(data_dir)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.client = httpx.Client(base_url=self.base, timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.client.get("/healthz")
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("sluice server did not start")

    def ok(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.client.request(method, url, json=body, **kwargs)
        data = response.json()
        assert data["result"] is True, data
        return data["data"]

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
    return [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "src",
         "result_table_id": SRC, "from_nodes": []},
        {"id": 2, "node_type": "realtime", "bk_biz_id": 591, "name": "pass",
         "table_name": "crash_out", "sql": f"select id, payload from {SRC}",
         "window_type": "none", "from_nodes": [{"id": 1, "from_result_table_ids": [SRC]}]},
        {"id": 3, "node_type": "hdfs_storage", "bk_biz_id": 591, "name": "out(hdfs)",
         "result_table_id": OUT, "cluster": "crash", "expires": 3,
         "from_nodes": [{"id": 2, "from_result_table_ids": [OUT]}]},
    ]  # fmt: skip


def _ids(data_dir: Path) -> Counter[int]:
    root = data_dir / "hdfs" / "crash" / OUT
    if not any(root.rglob("*.parquet")):
        return Counter()
    table = ds.dataset(str(root), format="parquet").to_table(columns=["id"])
    return Counter(table.column("id").to_pylist())


def run_crash(tmp_path: Path, total: int) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "server.log"
    first = Proc(data_dir, log)
    try:
        first.ok("POST", "/v3/sluice/result_tables/", {
            "bk_biz_id": 591, "table_name": "crash_src",
            "fields": [{"field_name": "id", "field_type": "long"},
                       {"field_name": "payload", "field_type": "string"}]})  # fmt: skip
        chunk = 20_000
        for start in range(0, total, chunk):
            records = [
                {"id": i, "payload": f"record {i} " + "x" * 40}
                for i in range(start, min(start + chunk, total))
            ]
            first.ok("POST", f"/v3/sluice/result_tables/{SRC}/produce/", {"records": records})
        flow_id = first.ok(
            "POST", f"{FLOW}/flows/create/",
            {"project_id": 1, "flow_name": "crash", "nodes": _nodes()},
        )["flow_id"]  # fmt: skip
        first.ok("POST", f"{FLOW}/flows/{flow_id}/start/", {"consuming_mode": "continue"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            monitor = first.ok("GET", f"{FLOW}/flows/{flow_id}/monitor_data/")
            nodes = monitor["data_loss_io_total"].values()
            if any(n["node_type"] == "realtime" and n["input"] > 0 for n in nodes):
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the flow never started reading")
        # Kill mid-stream: once the storage holds part of the records (when the input is big
        # enough for that to be observable), else shortly after processing began.
        partial_deadline = time.monotonic() + (60 if total >= 1_000_000 else 1.5)
        while time.monotonic() < partial_deadline:
            if 0 < len(_ids(data_dir)) < total:
                break
            time.sleep(0.05)
    except BaseException:
        first.terminate()
        raise
    first.kill()
    before = _ids(data_dir)
    second = Proc(data_dir, log)
    try:
        deadline = time.monotonic() + 240
        seen = before
        while time.monotonic() < deadline and len(seen) < total:
            time.sleep(0.2)
            seen = _ids(data_dir)
        statuses = {n["node_name"]: n["status"] for n in
                    second.ok("GET", f"{FLOW}/flows/{flow_id}/graph/")["nodes"]}  # fmt: skip
    finally:
        second.terminate()
    missing = total - len(seen)
    duplicates = sum(seen.values()) - len(seen)
    print(
        f"crash test: {total} records, {sum(before.values())} stored before SIGKILL, "
        f"{missing} missing, {duplicates} duplicates after restart"
    )
    assert len(before) < total, "the server finished before it was killed"
    if total >= 1_000_000:
        assert len(before) > 0, "the server was killed before the storage wrote anything"
    assert statuses == {"src": "running", "pass": "running", "out(hdfs)": "running"}
    assert set(seen) == set(range(total)), f"{missing} records lost"


def test_sigkill_while_processing_loses_nothing(tmp_path: Path) -> None:
    run_crash(tmp_path, 100_000)


@pytest.mark.slow
def test_sigkill_while_processing_a_million_records_loses_nothing(tmp_path: Path) -> None:
    run_crash(tmp_path, 1_000_000)
