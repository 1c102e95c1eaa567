"""``/v3/sluice/topics/``: the topic router on a tiny app over the memory and embedded buses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import Response

from sluice.api.envelope import failure
from sluice.api.routes.topics import router
from sluice.bus import Bus, EmbeddedBus, EmbeddedConfig, MemoryBus, Record, Records
from sluice.model.errors import FlowError


@pytest.fixture(params=["memory", "embedded"])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    b: Bus = (
        MemoryBus()
        if request.param == "memory"
        else EmbeddedBus(EmbeddedConfig(path=tmp_path, fsync="os")).open()
    )
    yield b
    b.close()


@pytest.fixture
def client(bus: Bus) -> TestClient:
    app = FastAPI()
    app.state.bus = bus
    app.include_router(router, prefix="/v3/sluice")

    @app.exception_handler(FlowError)
    async def render(request: Request, exc: FlowError) -> Response:
        return failure(exc.code, exc.message("en"), exc.errors)

    return TestClient(app)


URL = "/v3/sluice/topics/"


def test_create_list_describe_delete(client: TestClient) -> None:
    created = client.post(URL, json={"name": "table_2_x", "partitions": 3, "retention_days": 3})
    body = created.json()
    assert body["result"] is True
    assert body["data"]["partition_count"] == 3
    assert body["data"]["retention_ms"] == 3 * 86_400_000
    listed = client.get(URL).json()["data"]
    assert [t["name"] for t in listed] == ["table_2_x"]
    described = client.get(URL + "table_2_x/").json()["data"]
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert client.delete(URL + "table_2_x/").json()["data"] == {
        "name": "table_2_x",
        "deleted": True,
    }
    assert client.get(URL).json()["data"] == []


def test_errors_use_the_envelope(client: TestClient) -> None:
    missing = client.get(URL + "nope/").json()
    assert missing["result"] is False
    assert missing["code"] == "1500404"
    assert "nope does not exist" in missing["message"]
    client.post(URL, json={"name": "dup"})
    dup = client.post(URL, json={"name": "dup"}).json()
    assert (dup["result"], dup["code"]) == (False, "1500001")
    assert "already exists" in dup["message"]
    bad = client.post(URL, json={"name": "a b"}).json()
    assert bad["code"] == "1500001"
    assert "Invalid topic name" in bad["message"]
    extra = client.post(URL, json={"name": "ok", "partitons": 2}).json()
    assert extra["code"] == "1500001"
    assert "partitons" in extra["errors"]
    zero = client.post(URL, json={"name": "ok", "partitions": 0}).json()
    assert "partitions" in zero["errors"]
    assert client.delete(URL + "nope/").json()["code"] == "1500404"


def test_tail_decodes_json_values(client: TestClient, bus: Bus) -> None:
    bus.create_topic("events", partitions=2)
    bus.produce("events", 0, Records([b'{"n": %d}' % i for i in range(30)], timestamps=1000))
    bus.produce("events", 1, [Record(b"plain text", key=b'"k"', timestamp=2000)])
    tail = client.get(URL + "events/tail/", params={"n": 5}).json()["data"]
    records = tail["records"]
    assert len(records) == 5
    assert records[-1] == {
        "partition": 1,
        "offset": 0,
        "timestamp": 2000,
        "key": "k",
        "value": "plain text",
    }
    assert [r["value"] for r in records[:4]] == [{"n": 26}, {"n": 27}, {"n": 28}, {"n": 29}]
    assert client.get(URL + "events/tail/", params={"n": 0}).status_code == 422
    assert client.get(URL + "nope/tail/").json()["code"] == "1500404"
