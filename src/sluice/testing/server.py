"""The whole Sluice server in-process, for end-to-end tests: real parts, no network port.

:class:`InProcessServer` wires the components with ``build_components`` (the embedded bus,
the SQLite store and the task runners over a data dir) and serves the real app through
Starlette's ``TestClient``; only the socket between a client and the server is left out.
Micro-batch bounds are small (:func:`fast_settings`) so output appears within ~0.1 s.

Who uses it: the end-to-end tests under ``tests/`` (flows, windows, pipelines, mining).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.runtime.build import Components, build_components
from sluice.runtime.tasks.settings import RuntimeSettings

__all__ = ["FLOW", "InProcessServer", "fast_settings", "read_records", "wait_until"]

FLOW = "/v3/dataflow/flow"
"""The DataFlow flow API prefix; relative URLs given to :meth:`InProcessServer.ok` start here."""


def fast_settings(data_dir: Path, **overrides: Any) -> RuntimeSettings:
    """Runtime settings with small batch bounds (30 ms, 10 ms fetch waits), plus overrides."""
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "batch_ms": 30,
        "storage_batch_ms": 60,
        "fetch_wait_ms": 10,
        "stop_timeout_s": 20,
        **overrides,
    }
    return RuntimeSettings(**fields)


def wait_until(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``check`` every 50 ms until true.

    Raises:
        AssertionError: still false after ``timeout`` seconds (the message names ``what``).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_records(client: httpx.Client, rt: str, partitions: int = 4) -> list[Any]:
    """Every record value of ``table_{rt}`` through ``GET .../records/``, partition by
    partition, page by page (none when the topic does not exist). ``client`` is any
    httpx client of a Sluice server: a ``TestClient`` or one of a server process."""
    out: list[Any] = []
    for partition in range(partitions):
        offset = 0
        while True:
            page = client.get(
                f"/v3/sluice/result_tables/{rt}/records/",
                params={"partition": partition, "offset": offset, "limit": 5000},
            ).json()
            if not page["result"] or not page["data"]["records"]:
                break
            out += [r["value"] for r in page["data"]["records"]]
            offset = int(page["data"]["next_offset"])
    return out


class InProcessServer:
    """A server over ``data_dir`` with an HTTP client and the calls end-to-end tests make.

    Args:
        data_dir: the server's data dir (store, topics, state, pipelines).
        settings: runtime settings (default: :func:`fast_settings` of ``data_dir``).

    Call :meth:`close` (or use it as a context manager) to stop every task and pipeline.
    """

    def __init__(self, data_dir: Path, settings: RuntimeSettings | None = None) -> None:
        self.data_dir = data_dir
        self.components: Components = build_components(
            data_dir, None, settings=settings or fast_settings(data_dir)
        )
        app = create_app(self.components.store, self.components.manager, bus=self.components.bus)
        app.state.pipeline_dir = data_dir / "pipelines"
        self.app = app
        self.client = TestClient(app, raise_server_exceptions=False)

    def __enter__(self) -> InProcessServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the pipelines the API started, then every flow task; close the components."""
        pipelines = getattr(self.app.state, "pipeline_manager", None)
        try:
            if pipelines is not None:
                pipelines.stop_all()
        finally:
            self.components.close()

    # -- HTTP --------------------------------------------------------------------------------

    def call(self, method: str, url: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The decoded envelope of one request (``url`` relative to :data:`FLOW` unless it
        starts with ``/``)."""
        if not url.startswith("/"):
            url = f"{FLOW}/{url}"
        data: dict[str, Any] = self.client.request(method, url, json=body, **kwargs).json()
        return data

    def ok(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        """The ``data`` of a request that must succeed (AssertionError with the envelope)."""
        data = self.call(method, url, body, **kwargs)
        assert data["result"] is True, data
        return data["data"]

    # -- result tables -----------------------------------------------------------------------

    def make_table(self, biz: int, name: str, fields: list[tuple[str, str]]) -> str:
        """Register ``{biz}_{name}`` with ``(field, type)`` pairs; returns the RT id."""
        body = {
            "bk_biz_id": biz,
            "table_name": name,
            "fields": [{"field_name": n, "field_type": t} for n, t in fields],
        }
        return str(self.ok("POST", "/v3/sluice/result_tables/", body)["result_table_id"])

    def produce(
        self, rt: str, records: list[dict[str, Any]] | None = None, values: list[str] | None = None
    ) -> None:
        """Append JSON ``records`` and/or raw ``values`` to the RT's topic."""
        body: dict[str, Any] = {}
        if records is not None:
            body["records"] = records
        if values is not None:
            body["values"] = values
        self.ok("POST", f"/v3/sluice/result_tables/{rt}/produce/", body)

    def tail(self, rt: str, n: int = 1000) -> list[Any]:
        """The latest ``n`` record values of the RT, oldest first."""
        data = self.ok("GET", f"/v3/sluice/result_tables/{rt}/tail/", params={"n": n})
        return [r["value"] for r in data["records"]]

    def records(self, rt: str, partitions: int = 4) -> list[Any]:
        """Every record value of ``table_{rt}``, partition by partition (none without topic)."""
        return read_records(self.client, rt, partitions)

    # -- flows -------------------------------------------------------------------------------

    def create_flow(self, name: str, nodes: list[dict[str, Any]]) -> int:
        """Create a flow with its nodes in one call; returns the flow id."""
        body = {"project_id": 1, "flow_name": name, "nodes": nodes}
        return int(self.ok("POST", "flows/create/", body)["flow_id"])

    def deploy(self, flow_id: int, action: str, **body: Any) -> dict[str, Any]:
        """Run ``start``/``stop``/``restart`` and wait; returns the deploy record (English)."""
        task_id = self.ok("POST", f"flows/{flow_id}/{action}/", body)["task_id"]
        self.components.manager.wait(task_id, timeout=60)
        record: dict[str, Any] = self.ok(
            "GET", f"flows/{flow_id}/latest_deploy_data/", headers={"Blueking-Language": "en"}
        )
        return record

    def nodes(self, flow_id: int) -> dict[str, dict[str, Any]]:
        """The flow's graph nodes by node name."""
        graph = self.ok("GET", f"flows/{flow_id}/graph/")
        return {n["node_name"]: n for n in graph["nodes"]}

    def inputs(self, flow_id: int) -> dict[str, int]:
        """Records read so far per node name (``monitor_data``)."""
        monitor = self.ok("GET", f"flows/{flow_id}/monitor_data/")
        names = {n["node_id"]: name for name, n in self.nodes(flow_id).items()}
        return {
            names.get(int(k), str(k)): int(v["input"])
            for k, v in monitor["data_loss_io_total"].items()
        }
