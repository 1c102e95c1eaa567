"""Fixtures of the mining tests: the whole server in-process over a temp data dir.

A small copy of ``tests/e2e``'s server helper (``build_components`` with short micro-batch
bounds, the FastAPI app under a TestClient), kept here so the e2e suite stays untouched.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.runtime.build import Components, build_components
from sluice.runtime.tasks import RuntimeSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))  # bklog_params

FLOW = "/v3/dataflow/flow"


class MiningServer:
    """The server components plus an HTTP client and the calls the tests make."""

    def __init__(self, data_dir: Path) -> None:
        settings = RuntimeSettings(
            data_dir=data_dir, batch_ms=30, storage_batch_ms=60, fetch_wait_ms=10,
            stop_timeout_s=20,
        )  # fmt: skip
        self.components: Components = build_components(data_dir, None, settings=settings)
        app = create_app(self.components.store, self.components.manager, bus=self.components.bus)
        self.client = TestClient(app, raise_server_exceptions=False)

    def close(self) -> None:
        self.components.close()

    def call(self, method: str, url: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        if not url.startswith("/"):
            url = f"{FLOW}/{url}"
        data: dict[str, Any] = self.client.request(method, url, json=body, **kwargs).json()
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

    def tail(self, rt: str, n: int = 1000) -> list[Any]:
        data = self.ok("GET", f"/v3/sluice/result_tables/{rt}/tail/", params={"n": n})
        return [r["value"] for r in data["records"]]


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll ``check`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MiningServer]:
    srv = MiningServer(tmp_path / "data")
    yield srv
    srv.close()
