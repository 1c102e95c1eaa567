"""``get_latest_msg/``: the last record of a result table's topic."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from conftest import Api
from sluice.api.app import create_app
from sluice.bus import MemoryBus, Record
from sluice.runtime.manager import FlowManager
from sluice.store.db import Database
from sluice.store.service import FlowStore


@pytest.fixture
def bus_api(database: Database, manager: FlowManager) -> Iterator[tuple[Api, MemoryBus]]:
    bus = MemoryBus()
    bus.open()
    yield Api(TestClient(create_app(FlowStore(database), manager, bus=bus))), bus
    bus.close()


def test_latest_message_of_a_table(bus_api: tuple[Api, MemoryBus]) -> None:
    api, bus = bus_api
    api.make_table(591, "src", [("ip", "string")])
    assert api.ok("GET", "get_latest_msg/", params={"result_table_id": "591_src"}) == {"data": {}}
    bus.create_topic("table_591_src", partitions=2)
    bus.produce("table_591_src", 0, [Record(value=orjson.dumps({"ip": "a"}), timestamp=1000)])
    bus.produce("table_591_src", 1, [Record(value=orjson.dumps({"ip": "b"}), timestamp=2000)])
    assert api.ok("GET", "get_latest_msg/", params={"result_table_id": "591_src"}) == {
        "data": {"ip": "b"}
    }
    api.fail("GET", "get_latest_msg/", params={"result_table_id": "591_nope"}, code="1500020")
