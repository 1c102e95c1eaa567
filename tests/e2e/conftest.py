"""End-to-end fixtures: the whole server wired by ``build_components`` over a temp data dir.

The app runs in-process (TestClient) on the real embedded bus, SQLite store and task
runners; micro-batch bounds are small so tests see output quickly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.runtime.build import Components, build_components
from sluice.runtime.tasks import RuntimeSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

FLOW = "/v3/dataflow/flow"


def fast_settings(data_dir: Path) -> RuntimeSettings:
    """Small batch bounds: output within ~0.1 s."""
    return RuntimeSettings(
        data_dir=data_dir, batch_ms=30, storage_batch_ms=60, fetch_wait_ms=10, stop_timeout_s=20
    )


class Server:
    """The components plus an HTTP client and helpers the tests share."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.components: Components = build_components(
            data_dir, None, settings=fast_settings(data_dir)
        )
        app = create_app(self.components.store, self.components.manager, bus=self.components.bus)
        self.client = TestClient(app, raise_server_exceptions=False)

    def close(self) -> None:
        self.components.close()

    def call(self, method: str, url: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        if not url.startswith("/"):
            url = f"{FLOW}/{url}"
        response = self.client.request(method, url, json=body, **kwargs)
        data: dict[str, Any] = response.json()
        return data

    def ok(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        data = self.call(method, url, body, **kwargs)
        assert data["result"] is True, data
        return data["data"]

    def make_table(self, biz: int, name: str, fields: list[tuple[str, str]]) -> str:
        body = {
            "bk_biz_id": biz,
            "table_name": name,
            "fields": [{"field_name": n, "field_type": t} for n, t in fields],
        }
        return str(self.ok("POST", "/v3/sluice/result_tables/", body)["result_table_id"])

    def produce(
        self, rt: str, records: list[dict[str, Any]] | None = None, values: list[str] | None = None
    ) -> None:
        body: dict[str, Any] = {}
        if records is not None:
            body["records"] = records
        if values is not None:
            body["values"] = values
        self.ok("POST", f"/v3/sluice/result_tables/{rt}/produce/", body)

    def create_flow(self, name: str, nodes: list[dict[str, Any]]) -> int:
        data = self.ok(
            "POST", "flows/create/", {"project_id": 1, "flow_name": name, "nodes": nodes}
        )
        return int(data["flow_id"])

    def deploy(self, flow_id: int, action: str, **body: Any) -> dict[str, Any]:
        task_id = self.ok("POST", f"flows/{flow_id}/{action}/", body)["task_id"]
        self.components.manager.wait(task_id, timeout=60)
        record: dict[str, Any] = self.ok(
            "GET", f"flows/{flow_id}/latest_deploy_data/", headers={"Blueking-Language": "en"}
        )
        return record

    def nodes(self, flow_id: int) -> dict[str, dict[str, Any]]:
        graph = self.ok("GET", f"flows/{flow_id}/graph/")
        return {n["node_name"]: n for n in graph["nodes"]}

    def tail(self, rt: str, n: int = 1000) -> list[Any]:
        data = self.ok("GET", f"/v3/sluice/result_tables/{rt}/tail/", params={"n": n})
        return [r["value"] for r in data["records"]]

    def hdfs_table(self, rt: str, cluster: str = "default") -> pa.Table:
        root = self.data_dir / "hdfs" / cluster / rt
        if not root.exists():
            return pa.table({})
        return ds.dataset(str(root), format="parquet").to_table()


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll ``check`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data")
    yield srv
    srv.close()
