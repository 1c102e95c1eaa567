"""A pipeline feeds a flow: TCP JSON lines -> pipeline -> result table -> realtime node.

The server runs in-process (TestClient) on the real embedded bus, SQLite store and task
runners over a temp data dir, like ``tests/e2e``. An ``nc``-style client writes JSON lines to
a pipeline's ``tcp`` input (codec ``json_lines``); the pipeline's ``sluice`` output appends
them to a result table's topic; a flow reads that result table, keeps the errors with its
SQL and stores them in ``queue_storage``. Both are created and started through the REST API.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from sluice.testing import InProcessServer, wait_until

SRC, OUT = "591_tcp_access", "591_tcp_errors"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    with InProcessServer(tmp_path / "data") as srv:
        yield srv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tcp_json_lines_reach_a_flow_through_a_pipeline(server: InProcessServer) -> None:
    fields = [("user", "string"), ("status", "int"), ("path", "string")]
    server.make_table(591, "tcp_access", fields)
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
    flow_id = server.create_flow("tcp-errors", nodes)
    deploy = server.deploy(flow_id, "start")
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

    wait_until(arrived, what=f"{len(want)} error records in {OUT}")
    assert got == want
    assert len(server.records(SRC)) == 1000
    status = server.ok("GET", "/v3/sluice/pipelines/tcp_in/status/")
    assert status["events_out"] == 1000
