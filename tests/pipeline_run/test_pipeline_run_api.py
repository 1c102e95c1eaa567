"""``/v3/sluice/pipelines/``: simulate, CRUD, start/stop/status, on the real app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pipeline_run_helpers import read_topic, wait_for  # type: ignore[import-not-found]

from sluice.api.app import create_app
from sluice.api.routes.pipelines import router
from sluice.bus import Bus
from sluice.runtime.manager import FlowManager
from sluice.store.db import Database
from sluice.store.service import FlowStore


@pytest.fixture
def client(bus: Bus, tmp_path: Path) -> Iterator[TestClient]:
    db = Database("sqlite://")
    db.migrate()
    app = create_app(FlowStore(db), FlowManager(db), bus=bus, extra_routers=[router])
    app.state.pipeline_dir = tmp_path / "pipelines"
    with TestClient(app) as c:
        yield c
    manager = getattr(app.state, "pipeline_manager", None)
    if manager is not None:
        manager.stop_all()


def test_simulate_shows_each_event_after_each_filter(client: TestClient) -> None:
    body = {
        "config": 'filter { kv {} mutate { add_tag => ["x"] } if [a] == "2" { drop {} } } '
        "output { null {} }",
        "events": [{"message": "a=1"}, {"message": "a=2"}],
    }
    data = client.post("/v3/sluice/pipelines/simulate/", json=body).json()
    assert data["result"] is True
    steps = data["data"]["steps"]
    assert [s["filter"] for s in steps] == ["kv_1", "mutate_1", "if (first: drop_1)"]
    assert steps[0]["events"] == [{"message": "a=1", "a": "1"}, {"message": "a=2", "a": "2"}]
    assert steps[2]["events"] == [{"message": "a=1", "a": "1", "tags": ["x"]}]
    assert data["data"]["outputs"] == [{"output": "null_1", "count": 1}]


def test_simulate_reports_config_errors(client: TestClient) -> None:
    data = client.post(
        "/v3/sluice/pipelines/simulate/", json={"config": "filter { nope {} }", "events": []}
    ).json()
    assert data["result"] is False and data["code"] == "1500001"
    assert "nope" in data["message"]


def test_crud_start_stop(client: TestClient, bus: Bus) -> None:
    bus.create_topic("table_3_gen")
    config = 'input { generator { count => 3 } } output { sluice { topic => "table_3_gen" } }'
    base = "/v3/sluice/pipelines/"
    assert client.post(base, json={"name": "g1", "config": config}).json()["result"] is True
    dup = client.post(base, json={"name": "g1", "config": config}).json()
    assert dup["result"] is False
    assert [p["name"] for p in client.get(base).json()["data"]] == ["g1"]
    assert client.get(f"{base}g1/").json()["data"]["status"] == "no-start"
    started = client.post(f"{base}g1/start/").json()
    assert started["data"]["status"] == "running"
    assert wait_for(lambda: len(read_topic(bus, "table_3_gen")) == 3)
    put = client.put(f"{base}g1/", json={"config": config}).json()
    assert put["result"] is False  # running: stop first
    assert client.post(f"{base}g1/stop/").json()["data"]["status"] == "no-start"
    assert client.put(f"{base}g1/", json={"config": config}).json()["result"] is True
    assert client.delete(f"{base}g1/").json()["result"] is True
    assert client.get(f"{base}g1/").json()["code"] == "1500404"
