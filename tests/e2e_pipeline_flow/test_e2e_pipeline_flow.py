"""A pipeline feeds a flow: TCP JSON lines -> pipeline -> result table -> realtime node.

The server runs in-process (TestClient) on the real embedded bus, SQLite store and task
runners over a temp data dir, like ``tests/e2e``. An ``nc``-style client writes JSON lines to
a pipeline's ``tcp`` input (codec ``json_lines``); the pipeline's ``sluice`` output appends
them to a result table's topic; a flow reads that result table, keeps the errors with its
SQL and stores them in ``queue_storage``. Both are created and started through the REST API.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.runtime.build import Components, build_components
from sluice.runtime.tasks import RuntimeSettings

FLOW = "/v3/dataflow/flow"
SRC, OUT = "591_tcp_access", "591_tcp_errors"


class Server:
    """The components, an HTTP client, and the calls this test makes."""

    def __init__(self, data_dir: Path) -> None:
        settings = RuntimeSettings(data_dir=data_dir, batch_ms=30, fetch_wait_ms=10)
        self.components: Components = build_components(data_dir, None, settings=settings)
        app = create_app(self.components.store, self.components.manager, bus=self.components.bus)
        app.state.pipeline_dir = data_dir / "pipelines"
        self.client = TestClient(app, raise_server_exceptions=False)

    def ok(self, method: str, url: str, body: Any = None) -> Any:
        data = self.client.request(method, url, json=body).json()
        assert data["result"] is True, data
        return data["data"]

    def records(self, rt: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for partition in range(4):
            page = self.client.get(
                f"/v3/sluice/result_tables/{rt}/records/",
                params={"partition": partition, "offset": 0, "limit": 5000},
            ).json()
            if page["result"]:
                out += [r["value"] for r in page["data"]["records"]]
        return out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data")
    yield srv
    srv.client.post("/v3/sluice/pipelines/tcp_in/stop/")
    srv.components.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_tcp_json_lines_reach_a_flow_through_a_pipeline(server: Server) -> None:
    fields = [("user", "string"), ("status", "int"), ("path", "string")]
    server.ok("POST", "/v3/sluice/result_tables/", {
        "bk_biz_id": 591, "table_name": "tcp_access",
        "fields": [{"field_name": n, "field_type": t} for n, t in fields],
    })  # fmt: skip
    port = _free_port()
    config = f"""
    input {{ tcp {{ host => "127.0.0.1" port => {port} codec => json_lines }} }}
    filter {{ mutate {{ convert => {{ "status" => "integer" }} }} }}
    output {{ sluice {{ topic => "table_{SRC}" }} }}
    """
    server.ok("POST", "/v3/sluice/pipelines/", {"name": "tcp_in", "config": config})
    server.ok("POST", "/v3/sluice/pipelines/tcp_in/start/")
    nodes = [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": 591, "name": "access",
         "result_table_id": SRC, "from_nodes": []},
        {"id": 2, "node_type": "realtime", "bk_biz_id": 591, "name": "errors",
         "table_name": "tcp_errors", "window_type": "none",
         "sql": f"select user, status, path from {SRC} where status >= 500",
         "from_nodes": [{"id": 1, "from_result_table_ids": [SRC]}]},
        {"id": 3, "node_type": "queue_storage", "bk_biz_id": 591, "name": "errors(queue)",
         "result_table_id": OUT, "cluster": "default", "expires": 1,
         "from_nodes": [{"id": 2, "from_result_table_ids": [OUT]}]},
    ]  # fmt: skip
    body = {"project_id": 1, "flow_name": "tcp-errors", "nodes": nodes}
    flow_id = int(server.ok("POST", f"{FLOW}/flows/create/", body)["flow_id"])
    task_id = server.ok("POST", f"{FLOW}/flows/{flow_id}/start/", {})["task_id"]
    server.components.manager.wait(task_id, timeout=60)
    deploy = server.ok("GET", f"{FLOW}/flows/{flow_id}/latest_deploy_data/")
    assert deploy["status"] == "success", deploy

    events = [
        {"user": f"u{i % 7}", "status": str(503 if i % 10 == 0 else 200), "path": f"/p{i}"}
        for i in range(1000)
    ]
    payload = b"".join(orjson.dumps(e) + b"\n" for e in events)
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(payload[:777])  # a line split across writes
        client.sendall(payload[777:])

    want = sorted((e["user"], 503, e["path"]) for e in events if e["status"] == "503")
    got: list[tuple[Any, ...]] = []

    def arrived() -> bool:
        nonlocal got
        got = sorted((r["user"], r["status"], r["path"]) for r in server.records(OUT))
        return len(got) >= len(want)

    _wait(arrived, f"{len(want)} error records in {OUT}")
    assert got == want
    assert len(server.records(SRC)) == 1000
    status = server.ok("GET", "/v3/sluice/pipelines/tcp_in/status/")
    assert status["events_out"] == 1000
