"""Helpers of the windowed-node end-to-end tests: the server wired by ``build_components``.

Like ``tests/e2e``: the app runs in-process (TestClient) on the real embedded bus, SQLite
store and task runners over a temp data dir, with small micro-batch bounds. Windowed tasks
read ``SLUICE_WINDOW_*`` when they start, so the fixture sets a short idle timeout, tick and
checkpoint interval.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.runtime.build import Components, build_components
from sluice.runtime.tasks import RuntimeSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

FLOW = "/v3/dataflow/flow"
WINDOW_ENV = {
    "SLUICE_WINDOW_IDLE_TIMEOUT_MS": "2000",
    "SLUICE_WINDOW_TICK_MS": "50",
    "SLUICE_WINDOW_CHECKPOINT_INTERVAL_MS": "200",
}
"""Task settings of windowed nodes in these tests (see ``WindowTaskSettings``)."""


class WinServer:
    """The components plus an HTTP client and the helpers the tests share."""

    def __init__(self, data_dir: Path, batch_records: int = 50_000) -> None:
        self.data_dir = data_dir
        settings = RuntimeSettings(
            data_dir=data_dir, batch_ms=30, storage_batch_ms=60, fetch_wait_ms=10,
            stop_timeout_s=20, batch_records=batch_records,
        )  # fmt: skip
        self.components: Components = build_components(data_dir, None, settings=settings)
        app = create_app(self.components.store, self.components.manager, bus=self.components.bus)
        self.client = TestClient(app, raise_server_exceptions=False)

    def close(self) -> None:
        self.components.close()

    def ok(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        if not url.startswith("/"):
            url = f"{FLOW}/{url}"
        data = self.client.request(method, url, json=body, **kwargs).json()
        assert data["result"] is True, data
        return data["data"]

    def make_table(self, biz: int, name: str, fields: list[tuple[str, str]]) -> str:
        body = {
            "bk_biz_id": biz,
            "table_name": name,
            "fields": [{"field_name": n, "field_type": t} for n, t in fields],
        }
        return str(self.ok("POST", "/v3/sluice/result_tables/", body)["result_table_id"])

    def produce(self, rt: str, records: list[dict[str, Any]]) -> None:
        self.ok("POST", f"/v3/sluice/result_tables/{rt}/produce/", {"records": records})

    def create_flow(self, name: str, nodes: list[dict[str, Any]]) -> int:
        body = {"project_id": 1, "flow_name": name, "nodes": nodes}
        return int(self.ok("POST", "flows/create/", body)["flow_id"])

    def deploy(self, flow_id: int, action: str, **body: Any) -> dict[str, Any]:
        task_id = self.ok("POST", f"flows/{flow_id}/{action}/", body)["task_id"]
        self.components.manager.wait(task_id, timeout=60)
        record: dict[str, Any] = self.ok(
            "GET", f"flows/{flow_id}/latest_deploy_data/", headers={"Blueking-Language": "en"}
        )
        return record

    def inputs(self, flow_id: int) -> dict[str, int]:
        """Records read so far per node name."""
        monitor = self.ok("GET", f"flows/{flow_id}/monitor_data/")
        names = {
            n["node_id"]: n["node_name"] for n in self.ok("GET", f"flows/{flow_id}/graph/")["nodes"]
        }
        return {
            names.get(int(k), str(k)): int(v["input"])
            for k, v in monitor["data_loss_io_total"].items()
        }

    def records(self, rt: str, partitions: int = 4) -> list[dict[str, Any]]:
        """Every record of ``table_{rt}``, partition by partition (none if no topic yet)."""
        out: list[dict[str, Any]] = []
        for partition in range(partitions):
            offset = 0
            while True:
                page = self.client.get(
                    f"/v3/sluice/result_tables/{rt}/records/",
                    params={"partition": partition, "offset": offset, "limit": 5000},
                ).json()
                if not page["result"] or not page["data"]["records"]:
                    break
                out += [r["value"] for r in page["data"]["records"]]
                offset = int(page["data"]["next_offset"])
        return out


def wait_until(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``check`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
